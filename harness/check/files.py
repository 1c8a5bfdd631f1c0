"""The files concern: what a submission folder holds, and reading it safely (FILE-*, SUB-1, RUN-3).

The folder is walked without following symbolic links; every file is classified against the
layout of RULES.md SUB-1 and size-checked before anything reads it. Reads go through
:func:`read_file`, which refuses links and oversized files at open time too (the tree may change
between the walk and the read). Nothing from a submission is imported or executed (FILE-4).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.check.findings import Findings
from recscale.layout import (
    LOCK_FILE,
    MANIFEST_FILE,
    MLLOG_FILE,
    REPORT_DIR,
    RESULT_FILE,
    RESULTS_DIR,
    RUN_PREFIX,
    SAFE_NAME,
    SYSTEMS_DIR,
    WORKLOAD_SUFFIX,
    WORKLOADS_DIR,
)

MiB = 1 << 20
README_FILE = "README.md"
LIMITS = {  # RULES.md FILE-2
    RESULT_FILE: 8 * MiB,
    MLLOG_FILE: 8 * MiB,
    "system": 1 * MiB,
    "workload": 1 * MiB,
    README_FILE: 1 * MiB,
    MANIFEST_FILE: 64 * MiB,
    "report": 8 * MiB,
    "plot": 4 * MiB,
}
# REPORT_DIR: `recscale report SUB --out SUB/report`: derived files, never read by the checker
REPORT_FILES = (README_FILE, "report.json")
PLOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(png|svg)$")
MAX_ENTRIES = 500_000  # stop walking a tree this big: no real submission comes near it
RUN_DIR = re.compile(rf"{RUN_PREFIX}(0|[1-9][0-9]{{0,18}})")  # a seed fits in 64 bits


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def show(rel: str) -> str:
    """A path fit for a report: names that are not valid UTF-8 are shown with replacement marks, and
    control characters escaped (a finding is one line, whatever a folder is called)."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace").translate(_CONTROL)


@dataclass
class RunFolder:
    """One results/<system>/<workload>/<point>/run_<seed> folder and the files it holds."""

    rel: str
    system: str
    workload: str
    point: str
    seed: int
    result: str | None = None  # relative path of result.json when present and readable
    mllog: str | None = None


@dataclass
class Inventory:
    """Everything the walk found that the other concerns may read."""

    root: Path
    manifest: str | None = None
    systems: dict[str, str] = field(default_factory=dict)  # system name -> relative path
    workloads: dict[str, str] = field(default_factory=dict)  # workload id -> relative path of its copy
    runs: dict[str, RunFolder] = field(default_factory=dict)  # run folder -> its files
    result_folders: list[str] = field(default_factory=list)  # results/<system>[/<workload>[/<point>]]
    sizes: dict[str, int] = field(default_factory=dict)  # readable file -> bytes


def _limit_for(parts: tuple[str, ...]) -> str | None:
    """The FILE-2 class of a file at `parts` (relative), or None when SUB-1 has no place for it."""
    if len(parts) == 1 and parts[0] in (MANIFEST_FILE, README_FILE):
        return parts[0]
    if len(parts) == 2 and parts[0] == SYSTEMS_DIR and parts[1].endswith(".json") and not parts[1].startswith("."):
        return "system"
    if len(parts) == 2 and parts[0] == WORKLOADS_DIR and _workload_copy_name(parts[1]):
        return "workload"
    in_run = len(parts) == 6 and parts[0] == RESULTS_DIR and RUN_DIR.fullmatch(parts[4])
    if in_run and parts[5] in (RESULT_FILE, MLLOG_FILE):
        return parts[5]
    if len(parts) == 2 and parts[0] == REPORT_DIR and parts[1] in REPORT_FILES:
        return "report"
    if len(parts) == 3 and parts[:2] == (REPORT_DIR, "plots") and PLOT.match(parts[2]):
        return "plot"
    return None


def _workload_copy_name(name: str) -> bool:
    """Whether `name` is a workload copy's file name: <id>.yaml with a safe id."""
    return name.endswith(WORKLOAD_SUFFIX) and bool(SAFE_NAME.fullmatch(name.removesuffix(WORKLOAD_SUFFIX)))


def _folder_allowed(parts: tuple[str, ...]) -> bool:
    """Whether SUB-1 has a folder at `parts`: systems/, workloads/, results/ and the four levels below it."""
    if parts in ((SYSTEMS_DIR,), (WORKLOADS_DIR,), (RESULTS_DIR,), (REPORT_DIR,), (REPORT_DIR, "plots")):
        return True
    if parts[0] != RESULTS_DIR or not 2 <= len(parts) <= 5 or any(p.startswith(".") for p in parts):
        return False
    return len(parts) < 5 or bool(RUN_DIR.fullmatch(parts[4]))


def _add_file(inventory: Inventory, parts: tuple[str, ...], rel: str, size: int) -> None:
    inventory.sizes[rel] = size
    if parts[0] == REPORT_DIR:
        return  # derived by `recscale report`; size-checked only
    if parts == (MANIFEST_FILE,):
        inventory.manifest = rel
    elif parts[0] == SYSTEMS_DIR:
        inventory.systems[parts[1].removesuffix(".json")] = rel
    elif parts[0] == WORKLOADS_DIR:
        inventory.workloads[parts[1].removesuffix(WORKLOAD_SUFFIX)] = rel
    elif parts[0] == RESULTS_DIR:
        run = inventory.runs[str(PurePosixPath(*parts[:5]))]
        if parts[5] == RESULT_FILE:
            run.result = rel
        else:
            run.mllog = rel


def _visit(inventory: Inventory, entry: os.DirEntry[str], parts: tuple[str, ...], out: Findings,
           pending: list[tuple[Path, tuple[str, ...]]]) -> None:
    rel = str(PurePosixPath(*parts))
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError as err:
        out.error("SUB-1", show(rel), f"cannot read: {err.strerror}")
        return
    if stat.S_ISLNK(info.st_mode):
        out.error("FILE-1", show(rel), "symbolic link (a submission holds plain files and folders only)")
    elif stat.S_ISDIR(info.st_mode):
        if not _folder_allowed(parts):
            where = "a run folder is named run_<seed>" if len(parts) == 5 and parts[0] == RESULTS_DIR else \
                "not part of the submission layout (RULES.md SUB-1)"
            out.error("FILE-3", show(rel) + "/", f"unknown folder: {where}")
            return
        if len(parts) == 5:
            inventory.runs[rel] = RunFolder(rel, parts[1], parts[2], parts[3], int(parts[4][4:]))
        elif parts[0] == RESULTS_DIR and len(parts) > 1:
            inventory.result_folders.append(rel)
        pending.append((Path(entry.path), parts))
    elif not stat.S_ISREG(info.st_mode):
        out.error("FILE-1", show(rel), "not a regular file (device, pipe or socket)")
    else:
        kind = _limit_for(parts)
        if kind is None:
            out.error("FILE-3", show(rel), f"unknown file{_leftover(parts)}: not part of the submission layout "
                      "(RULES.md SUB-1)")
        elif info.st_size > LIMITS[kind]:
            out.error("FILE-2", show(rel), f"{info.st_size} bytes, more than the {LIMITS[kind]} allowed; not read")
        else:
            _add_file(inventory, parts, rel, info.st_size)


def _leftover(parts: tuple[str, ...]) -> str:
    """What left a file that is not part of the layout, when the name says."""
    if parts == (LOCK_FILE,):
        return (" (a `recscale run` is writing this submission, or one was killed: let it finish, or run it again, "
                "which removes the file at its end)")
    if parts[-1].startswith(".") and parts[-1].endswith(".tmp"):
        return " (left by an interrupted write)"
    return ""


def scan(root: Path, out: Findings) -> Inventory:
    """Walk `root` (never following links) and classify what it holds; report FILE-*, SUB-1, RUN-3."""
    inventory = Inventory(root)
    pending: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    seen = 0
    while pending:
        folder, parts = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            out.error("SUB-1", show(str(PurePosixPath(*parts))) if parts else ".", f"cannot list: {err.strerror}")
            continue
        seen += len(entries)
        if seen > MAX_ENTRIES:
            out.error("FILE-2", ".", f"more than {MAX_ENTRIES} files and folders: stopped reading")
            break
        for entry in entries:
            _visit(inventory, entry, (*parts, entry.name), out, pending)
    _layout_findings(inventory, out)
    return inventory


def _layout_findings(inventory: Inventory, out: Findings) -> None:
    reported = _reported(out)
    if inventory.manifest is None and MANIFEST_FILE not in reported:
        out.error("SUB-1", MANIFEST_FILE, "missing: the manifest of the submission")
    if not inventory.runs:
        out.error("SUB-1", f"{RESULTS_DIR}/", "no run folders (results/<system>/<workload>/<point>/run_<seed>/)")
    _empty_folders(inventory, out)
    for rel, run in sorted(inventory.runs.items()):
        if run.result is None and f"{rel}/{RESULT_FILE}" not in reported:
            out.error("RUN-3", show(rel) + "/", "no result.json: the run did not finish; rerun it with the same "
                      "seed (runs are not dropped)")
        if run.mllog is None and f"{rel}/{MLLOG_FILE}" not in reported:
            out.error("SUB-1", show(rel) + "/", "no mllog.txt: every run folder holds its log")


def _empty_folders(inventory: Inventory, out: Findings) -> None:
    """SUB-1: a system, workload or point folder without a run folder below it is not a run (a run
    removed by hand leaves one; a reader would count a point or a system that has no result)."""
    holding = {str(PurePosixPath(*PurePosixPath(rel).parts[:depth])) for rel in inventory.runs for depth in (2, 3, 4)}
    levels = {2: "system", 3: "workload", 4: "point"}
    for rel in sorted(set(inventory.result_folders) - holding):
        level = levels[len(PurePosixPath(rel).parts)]
        out.error("SUB-1", show(rel) + "/", f"a {level} folder without a run folder (run_<seed>/): an empty folder is "
                  "not a run; remove it")


def _reported(out: Findings) -> set[str]:
    """Files that already have a finding (a link or an oversized file is not also 'missing')."""
    return {f.file for f in out.items}


def manifest_path_problem(path: str) -> str | None:
    """Why a manifest `path` leads outside the submission (FILE-1), or None when it stays inside."""
    if not path or "\\" in path or "\x00" in path:
        return "not a relative POSIX path"
    pure = PurePosixPath(path)
    if pure.is_absolute():
        return "an absolute path"
    if ".." in pure.parts:
        return "contains '..'"
    return None


def read_file(inventory: Inventory, rel: str) -> bytes:
    """The bytes of a file the walk accepted; OSError if it became a link or grew past its size.

    O_NOFOLLOW refuses a link in the last component; the resolved path must stay under the root,
    which refuses a folder swapped for a link after the walk.
    """
    path = inventory.root / rel
    root = os.path.realpath(inventory.root)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise OSError(f"{rel} resolves outside the submission")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != inventory.sizes[rel]:
            raise OSError(f"{rel} changed while it was being checked")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(info.st_size + 1)[: info.st_size]
    finally:
        os.close(fd)
