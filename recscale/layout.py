"""Layout of a submission folder: the one place that knows where each file of a submission lives.

    <root>/submission.json                                   SubmissionManifest
    <root>/systems/<system>.json                             SystemDescription
    <root>/workloads/<workload>.yaml                         the workload files the runs came from
    <root>/results/<system>/<workload>/<point>/run_<seed>/result.json   RunResult
    <root>/results/<system>/<workload>/<point>/run_<seed>/mllog.txt     ":::MLLOG {json}" lines
    <root>/report/                                           `recscale report`'s output (optional)
    <root>/.recscale-run.lock                                who is writing it (only while a run is)
    <root>/results/.../<point>/.run_<seed>.publishing/       a finished run being written (renamed to run_<seed>)

Every reader and writer (runner, checker, scorer, study report) goes through
:class:`SubmissionLayout`; names that become path components are checked by :func:`safe_name`
so that no name can reach outside the folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from recscale.errors import InputError, Problem
from recscale.io import sha256_file
from recscale.records import ManifestRun, RunResult

RESULT_FILE = "result.json"
MLLOG_FILE = "mllog.txt"
MANIFEST_FILE = "submission.json"
RESULTS_DIR = "results"
SYSTEMS_DIR = "systems"
WORKLOADS_DIR = "workloads"
REPORT_DIR = "report"
LOCK_FILE = ".recscale-run.lock"
PUBLISHING_SUFFIX = ".publishing"  # .run_<seed>.publishing: a run being written (only while it is)
WORKLOAD_SUFFIX = ".yaml"
RUN_PREFIX = "run_"
RUN_DIR = re.compile(rf"{RUN_PREFIX}(0|[1-9][0-9]*)")  # matched with fullmatch (no trailing newline)
# One path component of a safe character set: letters, digits and . _ - = , + (point ids use = , +).
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._=,+-]*")  # matched with fullmatch
MAX_NAME_LENGTH = 200  # a path component longer than this fails on common file systems (255 bytes)


def safe_name(name: str, what: str, file: str = "") -> str:
    """``name`` when it is one safe path component; an InputError saying why not otherwise."""
    if not SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise InputError([Problem(file or name, what, f"{name!r} is not a valid name: one path component of "
                                  "letters, digits and . _ - = , + (not starting with . , = + or -)")])
    if len(name) > MAX_NAME_LENGTH:
        raise InputError([Problem(file or name, what, f"{len(name)} characters is too long for a path component "
                                  f"(at most {MAX_NAME_LENGTH})")])
    return name


@dataclass(frozen=True)
class RunKey:
    """Which run a folder holds: system, workload, point and seed (its path components)."""

    system: str
    workload: str
    point: str
    seed: int


@dataclass(frozen=True)
class SubmissionLayout:
    """Paths inside the submission folder ``root``."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def results(self) -> Path:
        return self.root / RESULTS_DIR

    @property
    def workloads(self) -> Path:
        return self.root / WORKLOADS_DIR

    @property
    def report(self) -> Path:
        return self.root / REPORT_DIR

    def system_file(self, system: str) -> Path:
        return self.root / SYSTEMS_DIR / f"{safe_name(system, 'system')}.json"

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK_FILE

    def workload_file(self, workload: str) -> Path:
        return self.workloads / f"{safe_name(workload, 'workload')}{WORKLOAD_SUFFIX}"

    def run_dir(self, key: RunKey) -> Path:
        if key.seed < 0:
            raise InputError([Problem(str(self.root), "seed", f"seeds are non-negative integers (got {key.seed})")])
        parts = (safe_name(key.system, "system"), safe_name(key.workload, "workload"), safe_name(key.point, "point"))
        return self.results.joinpath(*parts, f"{RUN_PREFIX}{key.seed}")

    def result_file(self, key: RunKey) -> Path:
        return self.run_dir(key) / RESULT_FILE

    def mllog_file(self, key: RunKey) -> Path:
        return self.run_dir(key) / MLLOG_FILE

    def publishing_dir(self, key: RunKey) -> Path:
        """Where a finished run's files are put together before the folder is renamed to run_<seed>."""
        run_dir = self.run_dir(key)
        return run_dir.with_name(f".{run_dir.name}{PUBLISHING_SUFFIX}")

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, as the manifest records it."""
        return path.relative_to(self.root).as_posix()

    def result_files(self) -> Iterator[Path]:
        """Every results/<system>/<workload>/<point>/run_<seed>/result.json on disk, in sorted order."""
        pattern = f"{RESULTS_DIR}/*/*/*/{RUN_PREFIX}*/{RESULT_FILE}"
        yield from (p for p in sorted(self.root.glob(pattern)) if RUN_DIR.fullmatch(p.parent.name))

    def finished_runs(self) -> Iterator[tuple[Path, RunResult]]:
        """(result.json, record) of every run whose record is valid (a finished run)."""
        for path in self.result_files():
            result = read_result(path)
            if result is not None:
                yield path, result

    def collect_runs(self) -> list[ManifestRun]:
        """Every finished run on disk, as manifest entries (so the manifest is never out of step)."""
        return [
            ManifestRun(system=result.system, workload=result.workload_id, point=result.point_id, seed=result.seed,
                        status=result.status, path=self.relative(path.parent), result_sha256=sha256_file(path))
            for path, result in self.finished_runs()
        ]


def read_result(path: Path) -> RunResult | None:
    """The run record at `path`, or None when it is missing or not a valid record (unfinished)."""
    try:
        return RunResult.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
