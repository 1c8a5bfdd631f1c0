"""`recscale run my.yaml` with the YAML outside the repository, then `check`, `report` and `score` of
that submission from another directory: all green with no --workloads, through the copy the run kept."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.cli import main
from recscale.system import REQUIRED_FIELDS

TINY = Path(__file__).resolve().parent / "fixtures" / "workloads" / "tiny.yaml"


def test_own_workload_run_check_report_score(tmp_path, monkeypatch, capsys):
    doc = yaml.safe_load(TINY.read_text())
    doc.update(id="my-own-study", runs_per_point=1, sweep={"data.fraction": [0.25, 0.5, 1.0]})
    mine = tmp_path / "home" / "my.yaml"
    mine.parent.mkdir()
    mine.write_text(yaml.safe_dump(doc, sort_keys=False))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # no ./workloads, no ./submissions: nothing of the repository is at hand
    sub = Path("subs") / "mine"
    assert main(["run", str(mine), "--submission", str(sub), "--system", "box", "--submitter", "me",
                 "--status", "research", "--backend", "torch", "--data-root", str(tmp_path / "data"),
                 "--no-progress"]) == 0
    system = sub / "systems" / "box.json"
    filled = json.loads(system.read_text())
    filled.update({name: filled[name] or "filled by the submitter" for name in REQUIRED_FIELDS})
    system.write_text(json.dumps(filled))
    capsys.readouterr()
    assert main(["check", str(sub), "-v"]) == 0
    out = capsys.readouterr().out
    assert "CLOSED-1 (note)  workloads/my-own-study.yaml: the runs of workload my-own-study are checked against " \
           "this copy" in out
    assert main(["report", str(sub), "--out", "report-out", "--bootstrap", "20"]) == 0
    assert (work / "report-out" / "report.json").is_file()
    assert main(["score", "subs", "--out", "board", "--bootstrap", "20"]) == 0
    board = json.loads((work / "board" / "leaderboard.json").read_text())
    assert [s["scored"] for s in board["submissions"]] == [True]
