"""The run record derived once (harness.record): result.json is what its log and its point give.

The submission factory builds each result.json by hand, independently of harness.record, from the
run it simulates; the derivation from the factory's log must give the same record. Then every
single field of a valid record, tampered with, is caught by the comparison under its rule.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from submission_factory import edit_events, edit_json, index_of, make_submission, run_folders, write_manifest

from harness.check import check_submission
from harness.check.agreement import check_record
from harness.check.findings import Findings
from harness.check.specview import parse_spec, view_of
from harness.record import derive_result
from harness.runlog import LogFacts, read_log_file
from harness.score.leaderboard.score import score
from recscale.errors import InputError
from recscale.load import load_points
from recscale.records import RunResult
from recscale.sweep import spec_sha256

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "workloads" / "smoke.yaml"

# The rule a field of result.json belongs to (RULES.md LOG-6); the others are LOG-6's.
RULE_OF = {"time_to_target_s": "TIME-4", "run_time_s": "TIME-4", "pass_time_s": "TIME-4", "elapsed_s": "TIME-4",
           "started_at": "TIME-4", "finished_at": "TIME-4", "seed": "RUN-2", "params": "RUN-5",
           "flops_per_example": "RUN-5", "train_flops": "RUN-5", "quality": "CONV-1", "workload_id": "SUB-5",
           "system": "SUB-5", "division": "SUB-5"}
OTHER_WORD = {"success": "aborted", "aborted": "success", "closed": "open", "open": "closed", "torch": "torchrec",
              "cpu": "cuda", "ne": "logloss", "fp32": "bf16"}
METRICS_OBJECT = {"ne": 0.5, "logloss": 0.4, "auc": 0.6, "calibration": 1.1}
NULLABLE = {"abort_reason": "tampered", "time_to_target_s": 1.0, "samples_to_target": 1, "at_target": METRICS_OBJECT,
            "final": METRICS_OBJECT, "bayes": METRICS_OBJECT, "staging_s": 1.0}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("records")
    return {
        "success": make_submission(root / "success"),
        "aborted": make_submission(root / "aborted", reach=lambda p, s: None),
        "diverged": make_submission(root / "diverged", reach=lambda p, s: None, diverge=lambda p, s: 1),
        "diverged_late": make_submission(root / "late", reach=lambda p, s: 0, diverge=lambda p, s: 2),
    }


def read_run(folder: Path) -> tuple[RunResult, LogFacts]:
    return (RunResult.model_validate_json((folder / "result.json").read_bytes()),
            read_log_file(folder / "mllog.txt"))


@pytest.mark.parametrize("base", ["success", "aborted", "diverged", "diverged_late"])
def test_the_factorys_records_are_what_their_logs_give(bases, base):
    points = {p.point_id: p for p in load_points(SMOKE)[1]}
    for folder in run_folders(bases[base]):
        result, log = read_run(folder)
        assert derive_result(log, points[result.point_id]) == result


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path with [i] for items, value) of every scalar of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, f"{path}[{i}]")
    else:
        yield path, node


def put(document: dict[str, Any], path: str, value: Any) -> None:
    keys = [int(part) if part.isdigit() else part for part in path.replace("[", ".").replace("]", "").split(".")]
    for key in keys[:-1]:
        document = document[key]
    document[keys[-1]] = value


def tampered(path: str, value: Any) -> Any:
    """Another valid value, beyond the comparison's tolerances."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 1.0
    if path == "spec_sha256":
        return value[:-1] + ("1" if value[-1] == "0" else "0")
    if isinstance(value, str):
        return OTHER_WORD.get(value, value + "x")
    return NULLABLE[path]


def expected_rule(path: str) -> str:
    field, leaf = path.split(".")[0].split("[")[0], path.rsplit(".", 1)[-1]
    return RULE_OF.get(leaf) or RULE_OF.get(field, "LOG-6")


@pytest.mark.parametrize("base", ["success", "aborted", "diverged_late"])
def test_any_tampered_field_is_caught_under_its_rule(bases, base):
    result, log = read_run(run_folders(bases[base])[0])
    view = view_of(parse_spec(result.spec), None)
    sha = spec_sha256(result.spec)
    document = result.model_dump(mode="json")
    fields = [(path, value) for path, value in leaves(document)
              if path.split(".")[0] not in ("spec", "overrides", "schema_version")]
    assert len(fields) > 50 and {path.split(".")[0].split("[")[0] for path, _ in fields} == (
        set(RunResult.model_fields) - {"spec", "overrides", "schema_version"})
    clean = Findings()
    check_record(result, log, view, sha, "result.json", clean)
    assert not clean.items
    for path, value in fields:
        changed = json.loads(json.dumps(document))
        put(changed, path, tampered(path, value))
        out = Findings()
        check_record(RunResult.model_validate(changed), log, view, sha, "result.json", out)
        rules = {f.rule for f in out.items if f.severity == "error"}
        assert expected_rule(path) in rules, (path, value, [f.message for f in out.items])
        assert any(path in f.message for f in out.items), (path, [f.message for f in out.items])


def test_a_dropped_curve_point_is_caught(bases):
    result, log = read_run(run_folders(bases["success"])[0])
    changed = result.model_copy(update={"curve": result.curve[:-1]})
    out = Findings()
    check_record(changed, log, view_of(parse_spec(result.spec), None), spec_sha256(result.spec), "r", out)
    assert any(f.rule == "LOG-6" and f"curve has {len(result.curve) - 1} entries" in f.message for f in out.items)


def broken_copy(bases: dict[str, Path], tmp_path: Path) -> Path:
    root = tmp_path / "sub"
    shutil.copytree(bases["success"], root)
    return root


@pytest.mark.parametrize("text", ["-5", "1e400"])
def test_an_impossible_bayes_quality_fails_the_check(bases, tmp_path, text):
    root = broken_copy(bases, tmp_path)
    path = run_folders(root)[0] / "result.json"
    document = json.loads(path.read_text())
    document["bayes"]["ne"] = "@@"
    path.write_text(json.dumps(document).replace('"@@"', text))
    write_manifest(root)
    report = check_submission(root, references=[])
    assert "SUB-2" in report.failed_rules(), [f.line() for f in report.errors]
    with pytest.raises(InputError, match="no submission could be scored"):
        score(tmp_path, tmp_path / "board")  # the scorer reports it, and does not crash


def test_a_bayes_quality_the_log_does_not_give_fails_the_check(bases, tmp_path):
    root = broken_copy(bases, tmp_path)
    edit_json(run_folders(root)[0] / "result.json", lambda d: d["bayes"].update(ne=0.42))
    write_manifest(root)
    report = check_submission(root, references=[])
    assert any(f.rule == "LOG-6" and f.message.startswith("bayes.ne 0.42 but the log says") for f in report.errors)


def test_an_impossible_logged_bayes_quality_fails_the_check(bases, tmp_path):
    root = broken_copy(bases, tmp_path)
    log = run_folders(root)[0] / "mllog.txt"
    edit_events(log, lambda ev: ev[index_of(ev, "recscale_bayes")]["value"].update(ne=-5))
    edit_json(run_folders(root)[0] / "result.json", lambda d: d["bayes"].update(ne=0.0))
    write_manifest(root)
    report = check_submission(root, references=[])
    assert any(f.rule == "LOG-2" and "recscale_bayes value must be quality_or_null" in f.message
               for f in report.errors), [f.line() for f in report.errors]


def test_a_log_from_before_staging_was_logged_records_no_staging_time(bases, tmp_path):
    """recscale_staging_s is optional (TIME-6): a log without it gives staging_s null, and passes."""
    root = broken_copy(bases, tmp_path)
    folder = run_folders(root)[0]
    edit_events(folder / "mllog.txt", lambda ev: ev.pop(index_of(ev, "recscale_staging_s")))
    edit_json(folder / "result.json", lambda d: d.pop("staging_s"))
    write_manifest(root)
    result, log = read_run(folder)
    points = {p.point_id: p for p in load_points(SMOKE)[1]}
    assert result.staging_s is None and derive_result(log, points[result.point_id]) == result
    assert check_submission(root, references=[]).passed
