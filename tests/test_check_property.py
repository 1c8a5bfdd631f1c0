"""Property: whatever breaks a valid submission, the checker neither crashes nor lets it pass.

Hypothesis draws one mutation of a valid submission (successful and aborted runs): truncated
files, values of the wrong JSON type, swapped values, missing, duplicated or re-timed log events,
path tricks (links, escaping manifest paths, stray files) and garbage bytes. Every mutation is
chosen so that it truly breaks a rule (e.g. swaps only of values that differ by more than the
checker's tolerances). After a result.json
is changed its manifest hash is usually resealed, so the finding must come from the change itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from submission_factory import make_submission, read_events, run_folders, write_events

from harness.check import check_submission

JSON_TYPES = {str: 12345, int: "x", float: "x", bool: "yes", type(None): [], list: "x", dict: "x"}
TRICK_PATHS = ["../outside", "/etc", "results/../../outside", "results/../..", "..", "a/../../b"]
ALLOWED_NAMES = {"README.md", "submission.json", "result.json", "mllog.txt"}


# point (fraction, dim) -> (evaluation that reaches the target, evaluation before which it diverges)
OUTCOMES = {("0.5", "4"): (1, None), ("0.5", "8"): (None, None), ("1.0", "4"): (None, 2), ("1.0", "8"): (0, 3)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Smoke workload: one run succeeds, one never reaches the target, one diverges before reaching
    it and one after."""
    def outcome(point) -> tuple[int | None, int | None]:
        return OUTCOMES[(str(point.overrides["data.fraction"]), str(point.overrides["model.embedding.dim"]))]
    root = make_submission(tmp_path_factory.mktemp("base") / "sub", reach=lambda p, s: outcome(p)[0],
                           diverge=lambda p, s: outcome(p)[1])
    assert check_submission(root, references=[]).passed
    return root


def leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every scalar or empty container of a JSON document."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path, node


def put(document: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def reseal(root: Path) -> None:
    """Recompute the manifest's result hashes (without trusting the results) so SUB-3 stays quiet."""
    manifest_path = root / "submission.json"
    manifest = json.loads(manifest_path.read_text())
    for run in manifest["runs"]:
        result = root / run["path"] / "result.json"
        if result.is_file():
            run["result_sha256"] = hashlib.sha256(result.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------------------- the mutations


def truncate(root: Path, data: st.DataObject, files: list[Path]) -> str:
    path = data.draw(st.sampled_from(files))
    text = path.read_bytes()
    cut = data.draw(st.integers(0, len(text.rstrip()) - 1))
    path.write_bytes(text[:cut])
    return f"truncate {path.name} at {cut}"


def wrong_type(root: Path, data: st.DataObject, files: list[Path]) -> str:
    path = data.draw(st.sampled_from([f for f in files if f.suffix == ".json"]))
    document = json.loads(path.read_text())
    where, value = data.draw(st.sampled_from(list(leaves(document))))
    replacement = JSON_TYPES[type(value)] if not isinstance(value, list | dict) else "x"
    put(document, where, replacement)
    path.write_text(json.dumps(document, indent=2))
    if path.name == "result.json" and data.draw(st.booleans()):
        reseal(root)
    return f"{path.name}: {where} {value!r} -> {replacement!r}"


def swap_numbers(root: Path, data: st.DataObject, files: list[Path]) -> str | None:
    path = data.draw(st.sampled_from([f for f in files if f.name == "result.json"]))
    document = json.loads(path.read_text())
    numbers = [(p, v) for p, v in leaves(document) if is_number(v)]
    (a, x), (b, y) = data.draw(st.lists(st.sampled_from(numbers), min_size=2, max_size=2, unique_by=lambda t: t[0]))
    if abs(x - y) <= 0.003:  # within a tolerance of the checker (times: 0.002 s): not a break
        return None
    put(document, a, y)
    put(document, b, x)
    path.write_text(json.dumps(document, indent=2))
    reseal(root)
    return f"swap {a} and {b}"


def log_event(root: Path, data: st.DataObject, files: list[Path]) -> str | None:
    path = data.draw(st.sampled_from([f for f in files if f.name == "mllog.txt"]))
    events = read_events(path)
    kind = data.draw(st.sampled_from(["delete", "duplicate", "swap values", "time back", "wrong type",
                                      "wrong metadata type"]))
    i = data.draw(st.integers(0, len(events) - 1))
    if kind == "delete":
        del events[i]
    elif kind == "duplicate":
        events.insert(i, dict(events[i]))
    elif kind == "wrong type":
        value = events[i]["value"]
        events[i]["value"] = JSON_TYPES[type(value)] if not isinstance(value, list | dict) else "x"
    elif kind == "wrong metadata type":
        checked = [key for key in ("epoch_num", "samples_count", "status") if key in events[i]["metadata"]]
        if not checked:  # the metadata mllog adds (file, lineno) is not checked: not a break
            return None
        key = data.draw(st.sampled_from(checked))
        events[i]["metadata"][key] = JSON_TYPES[type(events[i]["metadata"][key])]
    elif kind == "swap values":
        j = data.draw(st.integers(0, len(events) - 1))
        if json.dumps(events[i]["value"], sort_keys=True) == json.dumps(events[j]["value"], sort_keys=True):
            return None
        events[i]["value"], events[j]["value"] = events[j]["value"], events[i]["value"]
    else:
        if i == 0:
            return None
        events[i]["time_ms"] = events[i - 1]["time_ms"] - data.draw(st.integers(1, 10**9))
    write_events(path, events)
    return f"{kind} event {i} of {path.parent.name}"


def path_trick(root: Path, data: st.DataObject, files: list[Path]) -> str | None:
    folders = [root, root / "systems", root / "results", *{f.parent for f in files}]
    folder = data.draw(st.sampled_from(folders))
    kind = data.draw(st.sampled_from(["symlink file", "symlink folder", "manifest path", "stray file"]))
    name = data.draw(st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]),
                             min_size=1, max_size=12))
    if name in (".", "..") or name in ALLOWED_NAMES or (folder.name == "systems" and name.endswith(".json")):
        return None
    target = folder / name
    if target.exists() or target.is_symlink():
        return None
    if kind == "symlink file":
        os.symlink(data.draw(st.sampled_from(["/etc/hostname", str(files[0]), "../" * 6 + "etc/passwd"])), target)
    elif kind == "symlink folder":
        os.symlink(data.draw(st.sampled_from(["/tmp", str(root / "systems"), ".."])), target)
    elif kind == "stray file":
        target.write_text(name)
    else:
        manifest = json.loads((root / "submission.json").read_text())
        k = data.draw(st.integers(0, len(manifest["runs"]) - 1))
        manifest["runs"][k]["path"] = data.draw(st.sampled_from(TRICK_PATHS))
        (root / "submission.json").write_text(json.dumps(manifest))
    return f"{kind} {name!r} in {folder.name}"


def delete_file(root: Path, data: st.DataObject, files: list[Path]) -> str:
    path = data.draw(st.sampled_from(files))
    path.unlink()
    return f"delete {path}"


def garbage(root: Path, data: st.DataObject, files: list[Path]) -> str | None:
    path = data.draw(st.sampled_from(files))
    content = data.draw(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    if content == path.read_bytes():
        return None
    path.write_bytes(content)
    return f"garbage into {path.name}"


MUTATIONS = [truncate, wrong_type, swap_numbers, log_event, path_trick, delete_file, garbage]


def check_mutated(base: Path, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sub"
        shutil.copytree(base, root)
        # the workload copy is optional (deleting it breaks nothing) and a harmless edit (a comment) keeps
        # it the same workload: its breaks are test_check_rules' SUB-6 cases
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "workloads")
        mutation = data.draw(st.sampled_from(MUTATIONS))
        what = mutation(root, data, files)
        event(f"{mutation.__name__}{' (not a break: skipped)' if what is None else ''}")
        if what is None:
            return  # the draw would not break anything (see the mutation): nothing to assert
        report = check_submission(root, references=[])
        assert not report.passed, f"{what}: passed"
        assert report.errors, what
        assert run_folders(root) or "SUB-1" in report.failed_rules()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_never_pass_and_never_crash(base, data):
    check_mutated(base, data)


@pytest.mark.slow
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_never_pass_and_never_crash_thoroughly(base, data):
    check_mutated(base, data)
