"""`recscale score`: what it writes, what it skips and why, and that a re-run writes the same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import FIXTURES, REPO
from score_helpers import Law, make_records, synthetic_points, system_description, write_submission
from submission_factory import make_submission

from harness.cli import main
from harness.score.fits.records import FitSettings
from harness.score.leaderboard.score import RULES, score

V40 = FIXTURES / "mlperf_training_v4.0"


def fake_checker(path: Path) -> tuple[bool, str]:
    """The real checker wants logs; these records have none. 'broken' fails, the rest pass."""
    return (False, "check failed (LOG-2): test") if path.name == "broken" else (True, "")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("subs")
    points = synthetic_points()
    write_submission(root / "alpha", make_records(points, seeds=(0, 1, 2), noise=0.002, system="cpu-a"),
                     [system_description("cpu-a")], submitter="Alpha")
    write_submission(root / "gamma", make_records(points, system="cpu-g", division="open", law=Law(beta=0.4)),
                     [system_description("cpu-g", division="open")], submitter="Gamma", division="open")
    write_submission(root / "broken", make_records(points[:2], system="cpu-b"), [system_description("cpu-b")])
    return root


@pytest.fixture(scope="module")
def scored(root: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("board")
    return out, score(root, out, mlperf=[V40], checker=fake_checker, settings=FitSettings(n_boot=200))


def test_writes_the_leaderboard_files(scored) -> None:
    out, _ = scored
    for name in ("leaderboard.json", "leaderboard.md", "index.html"):
        assert (out / name).is_file()
    data = json.loads((out / "leaderboard.json").read_text())
    jsonschema.validate(data, json.loads((REPO / "schemas" / "leaderboard.schema.json").read_text()))
    assert data["closed"][0]["rows"][0]["system"] == "cpu-a"
    assert {r["submission"] for r in data["open"][0]["rows"]} == {"alpha", "gamma"}
    assert data["mlperf"][0]["score_minutes"] == pytest.approx(0.9896, abs=5e-5)
    assert len(data["workload_fits"]) == 2 and data["settings"]["n_boot"] == 200
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", json.dumps(data))  # no timestamp: re-runs are identical


def test_plots_exist_in_both_formats(scored) -> None:
    out, outcome = scored
    plots = outcome.board.plots
    stems = {Path(p).stem for p in plots}
    assert stems == {"dlrm-synthetic-scaling-data", "dlrm-synthetic-scaling-params", "dlrm-synthetic-scaling-compute",
                     "dlrm-synthetic-scaling-systems", "mlperf-learning-curves", "mlperf-scores"}
    for stem in stems:
        assert (out / "plots" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = (out / "plots" / f"{stem}.svg").read_text()
        assert "<svg" in svg and not re.search(r'(href|src)="(https?:)?//', svg)  # nothing fetched


def test_skipped_submissions_are_listed_with_the_reason(scored) -> None:
    out, outcome = scored
    assert [(s.path, s.reason) for s in outcome.skipped] == [("broken", "check failed (LOG-2): test")]
    assert all(r["submission"] != "broken" for b in outcome.board.open for r in b.model_dump()["rows"])
    markdown = (out / "leaderboard.md").read_text()
    assert "| broken |" in markdown and "check failed (LOG-2): test" in markdown


def test_markdown_and_html_show_the_tables_and_plots(scored) -> None:
    out, _ = scored
    markdown = (out / "leaderboard.md").read_text()
    for heading in ("## Closed division: dlrm-synthetic-scaling v1", "## Open division: dlrm-synthetic-scaling v1",
                    "## MLPerf Training dlrm_dcnv2", "## Rules"):
        assert heading in markdown
    assert "![Quality vs training samples](plots/dlrm-synthetic-scaling-data.svg)" in markdown
    page = (out / "index.html").read_text()
    assert "http" not in page  # offline: no external URL of any kind
    assert page.count("<table>") >= 5 and 'src="plots/dlrm-synthetic-scaling-data.svg"' in page


def test_rerun_writes_the_same_bytes(root: Path, scored, tmp_path: Path) -> None:
    out, _ = scored
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "stale.svg").write_text("<svg/>")  # a plot of an earlier run: removed
    score(root, tmp_path, mlperf=[V40], checker=fake_checker, settings=FitSettings(n_boot=200))
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    again = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == again
    for name in first:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_cli_with_the_real_checker_skips_what_fails(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # these submissions have no logs, so the real checker fails them all: only MLPerf is scored
    code = main(["score", str(root), "--out", str(tmp_path), "--mlperf", str(V40), "--bootstrap", "50"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.count("skipped  ") == 3 and "check failed (" in captured.err
    assert "mlperf   v4.0 eos_n16_ngc24.04_merlin_hugectr: 0.9896 min (10/10 runs)" in captured.out
    data = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [s["scored"] for s in data["submissions"]] == [False, False, False]


@pytest.mark.parametrize(("args", "message"), [
    (["score"], "give a submissions folder, --mlperf DIR, or both"),
    (["score", "/nonexistent/folder"], "no such folder"),
    (["score", "{tmp}"], "no submission here"),
    (["score", "--mlperf", "{tmp}"], "no MLPerf submitter folder"),
])
def test_cli_bad_input_is_a_clear_message(args: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    code = main([a.format(tmp=tmp_path) for a in args] + ["--out", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_rules_in_the_leaderboard_are_those_of_rules_md() -> None:
    ids = [rule.split(":")[0] for rule in RULES]
    assert ids == [f"SCORE-{i}" for i in range(1, 9)]
    text = (REPO / "RULES.md").read_text()
    assert "## Scoring" in text
    assert re.findall(r"\*\*(SCORE-\d+)\*\*", text) == ids


def test_workloads_outside_the_repository_are_given_explicitly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = yaml.safe_load((REPO / "workloads" / "smoke.yaml").read_text(encoding="utf-8"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "my-smoke.yaml").write_text(yaml.safe_dump({**spec, "id": "my-smoke"}), encoding="utf-8")
    # Without its own copy of the workload the submission cannot be checked unless --workloads gives it.
    make_submission(tmp_path / "bare" / "sub", tmp_path / "mine" / "my-smoke.yaml", keep_workload=False)
    args = ["score", str(tmp_path / "bare"), "--bootstrap", "20"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2  # the shipped workloads do not have it
    assert "CLOSED-1" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "board"), "--workloads", str(tmp_path / "mine")]) == 0
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text(encoding="utf-8"))
    assert board["closed"][0]["workload_id"] == "my-smoke" and board["closed"][0]["rows"][0]["points_total"] == 4
    report = ["report", str(tmp_path / "bare" / "sub"), "--out", str(tmp_path / "report"), "--bootstrap", "20"]
    assert main(report) == 1 and main([*report, "--workloads", str(tmp_path / "mine")]) == 0
    # With its copy (what `recscale run` writes) the submission checks, scores and reports as it is.
    make_submission(tmp_path / "subs" / "sub", tmp_path / "mine" / "my-smoke.yaml")
    assert main(["score", str(tmp_path / "subs"), "--bootstrap", "20", "--out", str(tmp_path / "own")]) == 0
    assert main(["report", str(tmp_path / "subs" / "sub"), "--out", str(tmp_path / "own-report"),
                 "--bootstrap", "20"]) == 0


@pytest.mark.parametrize("option", ["--workloads", "--references"])
def test_a_missing_check_input_is_a_clear_error(option: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_submission(tmp_path / "sub")
    assert main(["score", str(tmp_path / "sub"), "--out", str(tmp_path / "out"), option, str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: {option}: no such" in capsys.readouterr().err
