"""`recscale check --mlperf`: the real MLPerf Training fixtures parse and pass; broken copies fail MLP-*."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import cli
from harness.check import check_mlperf_package

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PACKAGES = {
    "v4.0": (FIXTURES / "mlperf_training_v4.0" / "NVIDIA", "eos_n16_ngc24.04_merlin_hugectr", 0.9896),
    "v3.1": (FIXTURES / "mlperf_training_v3.1" / "NVIDIA", "eos_ngc23.09_merlin_hugectr", 3.8361),
}


@pytest.mark.parametrize("version", sorted(PACKAGES))
def test_real_packages_pass(version, capsys):
    root, system, score = PACKAGES[version]
    report = check_mlperf_package(root)
    assert report.passed, [f.line() for f in report.errors]
    assert report.kind == "mlperf" and report.runs == 10 and report.division == "closed"
    (summary,) = report.mlperf
    assert summary.system == system and round(summary.score_minutes, 4) == score
    assert all(r.reached_target and r.status == "success" for r in summary.runs)
    assert all(r.samples_to_target and r.samples_to_target < 4195197692 for r in summary.runs)
    assert cli.main(["check", "--mlperf", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"olympic mean {score:.4f} min" in out and out.splitlines()[-1].startswith("PASS")


def broken_copy(tmp_path: Path, change) -> Path:
    root = tmp_path / "NVIDIA"
    shutil.copytree(PACKAGES["v4.0"][0], root)
    change(root / "results" / PACKAGES["v4.0"][1] / "dlrm_dcnv2")
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


CASES = [
    ("MLP-1", lambda d: (d / "result_0.txt").write_text((d / "result_0.txt").read_text() + ":::MLLOG {oops\n")),
    ("MLP-2", lambda d: rewrite(d / "result_1.txt", lambda e: None if e["key"] == "run_start" else e)),
    ("MLP-2", lambda d: rewrite(d / "result_1.txt", lambda e: e if e["key"] != "submission_benchmark"
                                else {**e, "value": "bert"})),
    ("MLP-3", lambda d: rewrite(d / "result_2.txt", set_status("aborted"))),
    ("MLP-3", lambda d: rewrite(d / "result_2.txt", lambda e: {**e, "value": 0.5} if e["key"] == "eval_accuracy"
                                else e)),
    ("MLP-4", lambda d: (d / "result_9.txt").unlink()),
]


@pytest.mark.parametrize(("rule", "change"), CASES)
def test_broken_packages_report_the_rule(rule, change, tmp_path):
    report = check_mlperf_package(broken_copy(tmp_path, change))
    assert rule in report.failed_rules(), [f.line() for f in report.errors]


def test_two_failed_runs_leave_no_score(tmp_path):
    def fail_two(d: Path) -> None:
        for name in ("result_0.txt", "result_1.txt"):
            rewrite(d / name, lambda e: {**e, "value": 0.5} if e["key"] == "eval_accuracy" else e)
            rewrite(d / name, set_status("aborted"))
    report = check_mlperf_package(broken_copy(tmp_path, fail_two))
    assert report.mlperf[0].score_minutes is None
    assert report.failed_rules() == ["MLP-4"]


def test_not_a_package_exits_2(tmp_path, capsys):
    assert cli.main(["check", "--mlperf", str(tmp_path)]) == 2
    assert "no results/ folder" in capsys.readouterr().err
