"""Run the smoke sweep with the real runner, check it with the real checker, score it (slow: ~1 min)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

pytestmark = pytest.mark.slow


def test_runner_checker_scorer(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    submission = tmp_path / "sub"
    assert main(["run", "smoke", "--submission", str(submission), "--system", "cpu-e2e", "--submitter", "E2E",
                 "--backend", "torch", "--no-progress", "--data-root", str(tmp_path / "data")]) == 0
    system = submission / "systems" / "cpu-e2e.json"
    description = json.loads(system.read_text())
    description.update(status="research", host_processors_per_node="1", host_processor_core_count="2")
    system.write_text(json.dumps(description, indent=2))  # what a submitter fills in by hand (SYS-1)
    capsys.readouterr()

    assert main(["score", str(submission), "--out", str(tmp_path / "board"), "--bootstrap", "100"]) == 0
    out = capsys.readouterr()
    assert "skipped" not in out.err and "scored   sub  (E2E, closed, 4 runs)" in out.out
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    (closed,) = board["closed"]
    (row,) = closed["rows"]
    assert (closed["workload_id"], row["rank"], row["points_total"]) == ("smoke", 1, 4)
    assert row["sweep_time_s"] > 0 and row["stack"]["embedding_backend"] == "torch"
    assert row["stack"]["precision"] == "fp32"
    assert "| embedding backend | precision |" in (tmp_path / "board" / "leaderboard.md").read_text()
    (report,) = board["workload_fits"]
    assert report["bayes_floor"] is not None and len(report["points"]) == 4
    assert (tmp_path / "board" / "index.html").is_file()
