"""`recscale check --mlperf`: the real MLPerf Training fixtures read and pass; broken copies fail MLP-*."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlperf_catalog import SYSTEMS, FixtureSystem

from harness import cli
from harness.check import check_mlperf_package

V40 = next(s for s in SYSTEMS if s.system == "eos_n16_ngc24.04_merlin_hugectr")


@pytest.mark.parametrize("fixture", SYSTEMS, ids=lambda s: f"{s.round_dir[-4:]}-{s.submitter}")
def test_real_packages_pass(fixture: FixtureSystem, capsys):
    report = check_mlperf_package(fixture.root)
    assert report.passed, [f.line() for f in report.errors]
    assert report.kind == "mlperf" and report.runs == 10 and report.division == "closed"
    (summary,) = report.mlperf
    assert summary.system == fixture.system and summary.scaling_factor == fixture.scaling_factor
    assert (round(summary.olympic_mean_minutes, 4), round(summary.score_minutes, 4)) == (fixture.olympic_mean,
                                                                                         fixture.score)
    counted = [r for r in summary.runs if r.counted]
    assert len(counted) == fixture.counted
    assert all(r.reached_target and r.status == "success" and r.dropped_reason is None for r in counted)
    assert all(r.samples_to_target and r.samples_to_target < 4195197692 for r in counted)
    assert [f.rule for f in report.notes] == ["MLP-2"] * (10 - fixture.counted)  # one dropped run: a note
    assert cli.main(["check", "--mlperf", str(fixture.root)]) == 0
    out = capsys.readouterr().out
    assert f"olympic mean {fixture.olympic_mean:.4f} min" in out and f"score {fixture.score:.4f} min" in out
    assert out.splitlines()[-1].startswith("PASS")


def test_the_dropped_run_of_a_real_package_is_explained():
    cisco = next(s for s in SYSTEMS if s.submitter == "Cisco")
    (summary,) = check_mlperf_package(cisco.root).mlperf
    (dropped,) = [r for r in summary.runs if not r.counted]
    assert dropped.file.endswith("result_1.txt") and dropped.status == "aborted" and not dropped.reached_target
    assert dropped.dropped_reason == ("Compliance check failed: Failed checks for eval_accuracy : "
                                      "v['value'] >= 0.80275 and v['value'] <= 1.0")


def broken_copy(tmp_path: Path, change) -> Path:
    root = tmp_path / V40.round_dir / V40.submitter
    shutil.copytree(V40.root, root)
    change(root / "results" / V40.system / "dlrm_dcnv2")
    return root


def rewrite(path: Path, edit) -> None:
    """Apply `edit(event) -> event | None` to every :::MLLOG line (None drops the line)."""
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith(":::MLLOG"):
            event = edit(json.loads(line.split(" ", 1)[1]))
            if event is None:
                continue
            line = ":::MLLOG " + json.dumps(event)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def set_status(status: str):
    def edit(event):
        if event["key"] == "run_stop":
            event["metadata"]["status"] = status
        return event
    return edit


def in_two(name_edit):
    """The change applied to result_1 and result_2: more failed runs than olympic scoring accepts."""
    return lambda d: [name_edit(d / f"result_{i}.txt") for i in (1, 2)]


def append(text: str):
    return lambda path: path.write_text(path.read_text() + text)


CASES = [
    ("MLP-1", lambda d: append(':::MLLOG ["not", "an", "object"]\n')(d / "result_0.txt")),  # stops mlperf-logging
    ("MLP-1", in_two(append(":::MLLOG {oops\n"))),
    ("MLP-2", in_two(lambda p: rewrite(p, lambda e: None if e["key"] == "run_start" else e))),
    ("MLP-2", in_two(lambda p: rewrite(p, lambda e: {**e, "value": "bert"} if e["key"] == "submission_benchmark"
                                       else e))),
    ("MLP-2", in_two(lambda p: rewrite(p, lambda e: {**e, "value": 0.5} if e["key"] == "eval_accuracy" else e))),
    ("MLP-4", lambda d: (d / "result_9.txt").unlink()),
    ("MLP-4", lambda d: (d / "scaling.json").write_text('{"scaling_factor": "1.02"}')),
    ("MLP-4", lambda d: (d / "scaling.json").write_text('{"scaling_factor": ' + "1" * 5000 + "}")),  # > 4,300 digits
    ("MLP-4", lambda d: (d.parent.parent.parent / "systems" / f"{V40.system}.json").unlink()),
]


@pytest.mark.parametrize(("rule", "change"), CASES)
def test_broken_packages_report_the_rule(rule, change, tmp_path):
    report = check_mlperf_package(broken_copy(tmp_path, change))
    assert rule in report.failed_rules(), [f.line() for f in report.errors]


@pytest.mark.parametrize(("rule", "change"), [
    ("MLP-1", lambda d: append(":::MLLOG {oops\n")(d / "result_0.txt")),
    ("MLP-2", lambda d: rewrite(d / "result_1.txt", lambda e: None if e["key"] == "run_start" else e)),
])
def test_one_failed_run_is_accepted_under_olympic_scoring(rule, change, tmp_path):
    report = check_mlperf_package(broken_copy(tmp_path, change))
    assert report.passed and rule in {f.rule for f in report.notes}
    assert sum(r.counted for r in report.mlperf[0].runs) == 9 and report.mlperf[0].score_minutes is not None


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: rewrite(d / "result_2.txt", set_status("aborted")), "the target was reached, yet the status is"),
    (lambda d: rewrite(d / "result_2.txt", lambda e: {**e, "value": 0.5} if e["key"] == "eval_accuracy" else e),
     "status success, but no eval_accuracy reached 0.80275"),
])
def test_status_disagreements_are_noted_not_failed(change, says, tmp_path):
    """mlperf-logging never reads run_stop's status: MLP-3 only notes a disagreement."""
    report = check_mlperf_package(broken_copy(tmp_path, change))
    assert "MLP-3" not in report.failed_rules()
    assert any(f.rule == "MLP-3" and says in f.message for f in report.notes)


def test_two_failed_runs_leave_no_score(tmp_path):
    def fail_two(d: Path) -> None:
        for name in ("result_0.txt", "result_1.txt"):
            rewrite(d / name, lambda e: {**e, "value": 0.5} if e["key"] == "eval_accuracy" else e)
            rewrite(d / name, set_status("aborted"))
    report = check_mlperf_package(broken_copy(tmp_path, fail_two))
    assert report.mlperf[0].score_minutes is None
    assert report.mlperf[0].no_score_reason.startswith("Too many non-converging runs: 2 of 10 dropped")
    assert report.failed_rules() == ["MLP-2", "MLP-4"]


def test_not_a_package_or_no_round_exits_2(tmp_path, capsys):
    assert cli.main(["check", "--mlperf", str(tmp_path)]) == 2
    assert "no results/ folder" in capsys.readouterr().err
    shutil.copytree(V40.root, tmp_path / "ORG")
    assert cli.main(["check", "--mlperf", str(tmp_path / "ORG")]) == 2
    assert "give it with --round" in capsys.readouterr().err
    assert cli.main(["check", "--mlperf", str(tmp_path / "ORG"), "--round", "v4.0"]) == 0
    assert cli.main(["check", str(tmp_path / "ORG"), "--round", "v4.0"]) == 2
    assert "the round applies to --mlperf packages" in capsys.readouterr().err
