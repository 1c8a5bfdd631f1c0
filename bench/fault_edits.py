"""The edits the fault campaign makes to a valid submission (bench/fault_corruptions.py lists them):
each a function of the submission's root folder, or a maker of one.

Every edit works on any valid submission with one system, one workload, two points and two seeds
per point (run folders 0 and 1: one point's seeds 0 and 1; 2: the other point's seed 0).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from submission_factory import edit_events, edit_json, index_of

from recscale.layout import SubmissionLayout
from recscale.sweep import spec_sha256

RAW = "__raw_json__"  # a JSON string replaced by raw text after dumping: numbers json.dumps refuses to write


def runs(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("results/*/*/*/run_*") if p.is_dir())


def run(root: Path, index: int = 0) -> Path:
    return runs(root)[index]


def result(root: Path, index: int = 0) -> Path:
    return run(root, index) / "result.json"


def mllog(root: Path, index: int = 0) -> Path:
    return run(root, index) / "mllog.txt"


def manifest(root: Path) -> Path:
    return root / "submission.json"


def system_file(root: Path) -> Path:
    return next(root.glob("systems/*.json"))


def workload_copy(root: Path) -> Path:
    return next(root.glob("workloads/*.yaml"))


def set_path(doc: Any, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    doc[int(leaf) if isinstance(doc, list) else leaf] = value


def set_raw(path: Path, dotted: str, raw: str) -> None:
    """Set a field of a JSON file to raw JSON text (1e999, NaN, a 5,000-digit number)."""
    edit_json(path, lambda doc: set_path(doc, dotted, RAW))
    path.write_text(path.read_text().replace(f'"{RAW}"', raw, 1))


def set_field(file: Callable[[Path], Path], dotted: str, value: Any) -> Callable[[Path], None]:
    return lambda root: edit_json(file(root), lambda doc: set_path(doc, dotted, value))


def raw_field(file: Callable[[Path], Path], dotted: str, raw: str) -> Callable[[Path], None]:
    return lambda root: set_raw(file(root), dotted, raw)


def relist(root: Path) -> None:
    """Rewrite the manifest's runs from the folders on disk (so that only the change itself shows)."""
    runs_now = [r.model_dump(mode="json") for r in SubmissionLayout(root).collect_runs()]
    edit_json(root / "submission.json", lambda doc: doc.update(runs=runs_now))


def in_result(change: Callable[[dict[str, Any]], Any], index: int = 0) -> Callable[[Path], None]:
    """Change a result.json and keep the manifest's hash of it in step."""
    def apply(root: Path) -> None:
        edit_json(result(root, index), change)
        relist(root)
    return apply


def log_value(key: str, value: Any, nth: int = 0, raw: str | None = None) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        edit_events(mllog(root), lambda ev: ev[index_of(ev, key, nth)].update(value=RAW if raw else value))
        if raw:
            mllog(root).write_text(mllog(root).read_text().replace(f'"{RAW}"', raw, 1))
    return apply


def truncate(file: Callable[[Path], Path], keep: float) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        data = file(root).read_bytes()
        file(root).write_bytes(data[: int(len(data) * keep)])
    return apply


def cut_bytes(file: Callable[[Path], Path], count: int) -> Callable[[Path], None]:
    return lambda root: file(root).write_bytes(file(root).read_bytes()[:-count])


def flip(file: Callable[[Path], Path], where: float, mask: int) -> Callable[[Path], None]:
    """XOR the byte at fraction `where` of the file with `mask`."""
    def apply(root: Path) -> None:
        data = bytearray(file(root).read_bytes())
        data[int(len(data) * where)] ^= mask
        file(root).write_bytes(bytes(data))
    return apply


def flip_digit(file: Callable[[Path], Path], token: str) -> Callable[[Path], None]:
    """Change one digit of the first number after `token` (a value a rule reads): the first decimal of a
    float (a change a float always keeps), the last digit of an integer."""
    def apply(root: Path) -> None:
        text = file(root).read_text()
        start = end = text.index(token) + len(token)
        while text[end] in "0123456789.-e+":
            end += 1
        number = text[start:end]
        digit = start + number.index(".") + 1 if "." in number else end - 1
        file(root).write_text(text[:digit] + str((int(text[digit]) + 3) % 10) + text[digit + 1:])
    return apply


def relabel(source: Path, seed: int, target: Path | None = None) -> None:
    """Copy a run folder as run_<seed> with its seed changed in result.json and in the log."""
    target = target or source.with_name(f"run_{seed}")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    edit_json(target / "result.json", lambda doc: doc.update(seed=seed))
    edit_events(target / "mllog.txt", lambda ev: ev[index_of(ev, "seed")].update(value=seed))


def respec(dotted: str, value: Any, log_hash: bool = True) -> Callable[[Path], None]:
    """Edit a value of the first run's spec and make its hashes agree (only the edit breaks a rule)."""
    def apply(root: Path) -> None:
        sha = {}

        def edit(doc: dict[str, Any]) -> None:
            set_path(doc["spec"], dotted, value)
            doc["spec_sha256"] = sha["new"] = spec_sha256(doc["spec"])
        edit_json(result(root), edit)
        if log_hash:
            edit_events(mllog(root), lambda ev: ev[index_of(ev, "recscale_spec_sha256")].update(value=sha["new"]))
        relist(root)
    return apply


def events(change: Callable[[list[dict[str, Any]]], Any]) -> Callable[[Path], None]:
    return lambda root: edit_events(mllog(root), change)


def shuffle_evaluations(ev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The second evaluation's four events before the first's."""
    first, second = index_of(ev, "eval_start"), index_of(ev, "eval_start", 1)
    return ev[:first] + ev[second:second + 4] + ev[first:first + 4] + ev[second + 4:]


def duplicate_evaluation(ev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = index_of(ev, "eval_start")
    return ev[:start + 4] + ev[start:start + 4] + ev[start + 4:]


def chmod(file: Callable[[Path], Path], mode: int) -> Callable[[Path], None]:
    return lambda root: os.chmod(file(root), mode)


def symlink_to(file: Callable[[Path], Path], target: Callable[[Path], Path]) -> Callable[[Path], None]:
    """Replace `file` by a link to `target` (a copy of the file outside the submission, by default)."""
    def apply(root: Path) -> None:
        path, where = file(root), target(root)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        os.symlink(where, path)
    return apply


def outside_copy(file: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A copy of `file` in the folder `outside` beside the submission's parent (the same bytes: only
    the link is wrong)."""
    def where(root: Path) -> Path:
        source, copy = file(root), root.parent.parent / "outside" / file(root).name
        if source.is_dir():
            shutil.copytree(source, copy, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, copy)
        return copy
    return where


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return apply


def in_run(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda root: (run(root) / name).write_bytes(data)


def socket_in(folder: Callable[[Path], Path]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = folder(root) / "sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
    return apply


def manifest_entry(index: int, **fields: Any) -> Callable[[Path], None]:
    return lambda root: edit_json(root / "submission.json", lambda doc: doc["runs"][index].update(fields))


def swap_seed_folders(root: Path) -> None:
    a, b = run(root, 0), run(root, 1)
    a.rename(a.with_name("swap"))
    b.rename(a)
    a.with_name("swap").rename(b)


def relabel_over_second_seed(root: Path) -> None:
    """run_1 replaced by a copy of run_0 relabelled as seed 1, the manifest in step: only RUN-2 can tell."""
    relabel(run(root, 0), 1, run(root, 1))
    relist(root)


def relabel_as_new_seed(root: Path) -> None:
    relabel(run(root, 0), 7)
    relist(root)


def relabel_to_other_system(root: Path) -> None:
    """run_0 copied to a second system (described) as seed 5: another seed, the same curve."""
    system = system_file(root)
    other = system.with_name("other-box.json")
    shutil.copyfile(system, other)
    source = run(root, 0)
    parts = source.relative_to(root / "results").parts
    target = root.joinpath("results", "other-box", *parts[1:3], "run_5")
    target.parent.mkdir(parents=True)
    relabel(source, 5, target)
    edit_json(target / "result.json", lambda doc: doc.update(system="other-box"))
    edit_events(target / "mllog.txt", lambda ev: ev[index_of(ev, "submission_platform")].update(value="other-box"))
    relabel(target, 6, target.with_name("run_6"))
    relist(root)


def rename_run(root: Path) -> None:
    run(root, 0).rename(run(root, 0).with_name("run_5"))


def non_utf8_folder(root: Path) -> None:
    os.mkdir(bytes(run(root, 0).parent.parent) + b"/point-\xff")


def point_with_newline(root: Path) -> None:
    shutil.copytree(run(root, 0).parent, run(root, 0).parent.with_name("data.fraction=0.5\nx"))


def loop_link(root: Path) -> None:
    os.symlink("loop", root / "results" / "loop")


def python_tag(root: Path) -> None:
    copy = workload_copy(root)
    copy.write_text(copy.read_text() + "\nextra: !!python/object/apply:os.system ['touch pwned']\n")


def alias_bomb(root: Path) -> None:
    """The workload copy replaced by nine levels of ten aliases each: 10^9 values once expanded."""
    names = "abcdefghi"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{new}: &{new} [{', '.join(['*' + old] * 10)}]" for old, new in itertools.pairwise(names)]
    workload_copy(root).write_text("\n".join(lines) + "\n")


def unknown_log_key(root: Path) -> None:
    edit_events(mllog(root), lambda ev: ev.insert(7, {**ev[7], "key": "vendor_extra", "value": 1}))


def big_log(root: Path) -> None:
    """mllog.txt padded past its 8 MiB limit."""
    mllog(root).write_bytes(mllog(root).read_bytes() + b"\n" * (9 << 20))


def read_only(root: Path) -> None:
    for top, _, files in os.walk(root):
        for name in files:
            os.chmod(os.path.join(top, name), 0o444)
        os.chmod(top, 0o555)


def rm(file: Callable[[Path], Path]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = file(root)
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    return apply


def first_point(root: Path) -> Path:
    return run(root).parent


def not_utf8(root: Path) -> None:
    workload_copy(root).write_bytes(workload_copy(root).read_bytes() + b"\n# \xff\xfe\n")


def duplicate_key(file: Callable[[Path], Path], key: str, value: str) -> Callable[[Path], None]:
    return lambda root: file(root).write_text(file(root).read_text().replace("{", f'{{"{key}": {value}, ', 1))


def raw_line(line: str, at: int = 3) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        lines = mllog(root).read_text().splitlines(keepends=True)
        lines.insert(at, line + "\n")
        mllog(root).write_text("".join(lines))
    return apply


def bytes_at(file: Callable[[Path], Path], where: float, data: bytes) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        old = file(root).read_bytes()
        cut = int(len(old) * where)
        file(root).write_bytes(old[:cut] + data + old[cut:])
    return apply


def swap_manifest_paths(root: Path) -> None:
    def swap(doc: dict[str, Any]) -> None:
        doc["runs"][0]["path"], doc["runs"][1]["path"] = doc["runs"][1]["path"], doc["runs"][0]["path"]
    edit_json(root / "submission.json", swap)


def other_sha(root: Path) -> None:
    """The manifest gives the first run the hash of the second's result.json."""
    def change(doc: dict[str, Any]) -> None:
        doc["runs"][0]["result_sha256"] = doc["runs"][1]["result_sha256"]
    edit_json(manifest(root), change)


def flip_sha(root: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        sha = doc["runs"][0]["result_sha256"]
        doc["runs"][0]["result_sha256"] = ("1" if sha[0] == "0" else "0") + sha[1:]
    edit_json(root / "submission.json", change)


def time_back(ev: list[dict[str, Any]]) -> None:
    ev[index_of(ev, "eval_start", 1)]["time_ms"] = 0


def pass_end_early(ev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = ev.pop()
    ev.insert(index_of(ev, "eval_start"), last)
    return ev


def second_run_start(ev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = index_of(ev, "run_start")
    return [*ev[:start + 1], ev[start], *ev[start + 1:]]


def edit_copy(old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        text = workload_copy(root).read_text()
        assert old in text, (old, text)
        workload_copy(root).write_text(text.replace(old, new, 1))
    return apply
