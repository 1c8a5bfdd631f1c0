"""`score` and `report` on submissions that pass the check but are awkward, or that do not pass:
every one that passes is scored, every other one is listed with its reason, none stops the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from score_helpers import make_records, synthetic_points, system_description, write_submission
from submission_factory import make_submission

from harness.cli import main
from harness.score import inputs
from harness.score.fits.records import FitSettings
from harness.score.leaderboard.score import score
from recscale.errors import InputError
from recscale.load import load_points

REPO = Path(__file__).resolve().parent.parent
SMOKE_POINTS = [p.point_id for p in load_points(REPO / "workloads" / "smoke.yaml")[1]]
FEW = FitSettings(n_boot=50)


def never(point: object, seed: int) -> None:
    return None


def at_start(point: object, seed: int) -> int:
    return 0


def _edit_manifest_path(root: Path, path: str) -> None:
    manifest = json.loads((root / "submission.json").read_text(encoding="utf-8"))
    manifest["runs"][0]["path"] = path
    (root / "submission.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("subs")
    make_submission(root / "good")
    make_submission(root / "partial", points=SMOKE_POINTS[:2], system="cpu-partial")  # a closed sweep, half run
    make_submission(root / "diverged", division="open", reach=never, diverge=at_start, system="cpu-diverged")
    _edit_manifest_path(make_submission(root / "nul", system="cpu-nul"), "results/x\x00y")
    _edit_manifest_path(make_submission(root / "absolute", system="cpu-abs"), "/etc/passwd")
    return root


@pytest.fixture(scope="module")
def scored(folder: Path, tmp_path_factory: pytest.TempPathFactory):
    read: list[Path] = []
    original = inputs.read_model

    def recording(path: Path, model: type, what: str):  # every file the scorer opens
        read.append(path)
        return original(path, model, what)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputs, "read_model", recording)
        outcome = score(folder, tmp_path_factory.mktemp("board"), settings=FEW)
    return outcome, read


def test_every_submission_that_passes_is_scored(scored) -> None:
    outcome, _ = scored
    statuses = {s.path: s for s in outcome.board.submissions}
    assert {p for p, s in statuses.items() if s.scored} == {"good", "partial", "diverged"}
    assert statuses["nul"].reason.startswith("check failed (") and "SUB-3" in statuses["nul"].reason
    assert statuses["absolute"].reason.startswith("check failed (")
    assert {s.path for s in outcome.skipped} == {"nul", "absolute"}


def test_a_partial_closed_sweep_is_listed_not_ranked(scored) -> None:
    outcome, _ = scored
    (board,) = outcome.board.closed
    rows = {r.submission: r for r in board.rows}
    assert rows["good"].rank == 1 and rows["partial"].rank is None
    assert rows["partial"].points_complete == 2 and "2 of 4 points" in rows["partial"].note
    assert any(p.endswith("smoke-systems.svg") for p in outcome.board.plots)


def test_an_open_submission_whose_runs_all_diverged_has_no_curve(scored) -> None:
    outcome, _ = scored
    (board,) = outcome.board.open  # closed submissions are on it too, as reference curves
    row = next(r for r in board.rows if r.submission == "diverged")
    assert row.rank is None and row.data_fit is None and row.note == "not ranked: no data-scaling law"
    fits = next(r for r in outcome.board.workload_fits if r.label.startswith("diverged"))
    assert all(p.n_final == 0 and p.loss is None for p in fits.points)


def test_files_named_by_a_failed_submission_are_never_opened(scored, folder: Path) -> None:
    _, read = scored
    assert read and all(path.resolve().is_relative_to(folder.resolve()) for path in read)
    opened = {path.relative_to(folder).parts[0] for path in read}
    failed = {path.name for path in read if path.relative_to(folder).parts[0] in ("nul", "absolute")}
    assert failed == {"submission.json"}  # their manifest, for the submitter's name; none of the runs it names
    assert opened == {"good", "partial", "diverged", "nul", "absolute"}


def test_report_on_a_submission_whose_runs_all_diverged(folder: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(folder / "diverged"), "--out", str(tmp_path / "report"), "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "No axis of this data set could be fitted" in out
    assert (tmp_path / "report" / "README.md").is_file()


def _records_with_infinite_bayes(root: Path) -> Path:
    write_submission(root, make_records(synthetic_points()[:3], system="cpu-x"), [system_description("cpu-x")])
    result = sorted(root.glob("results/*/*/*/run_0/result.json"))[0]
    text = json.loads(result.read_text(encoding="utf-8"))
    text["bayes"]["ne"] = 12345.678
    result.write_text(json.dumps(text).replace("12345.678", "1e400"), encoding="utf-8")
    return result


def test_an_infinite_number_in_a_record_refuses_that_submission_only(tmp_path: Path) -> None:
    root = tmp_path / "subs"
    write_submission(root / "fine", make_records(synthetic_points(), system="cpu-a"), [system_description("cpu-a")])
    result = _records_with_infinite_bayes(root / "broken")
    # the checker passes it here (a checker that would not): the scorer still refuses it, and only it
    outcome = score(root, tmp_path / "board", checker=lambda path: (True, ""), settings=FEW)
    statuses = {s.path: s for s in outcome.board.submissions}
    assert statuses["fine"].scored and not statuses["broken"].scored
    assert str(result) in statuses["broken"].reason and "bayes.ne" in statuses["broken"].reason
    assert "finite number" in statuses["broken"].reason
    assert "Infinity" not in (tmp_path / "board" / "leaderboard.json").read_text(encoding="utf-8")


def test_report_refuses_an_infinite_number_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _records_with_infinite_bayes(tmp_path / "sub")
    assert main(["report", str(tmp_path / "sub"), "--out", str(tmp_path / "out"), "--no-check"]) == 0
    captured = capsys.readouterr()
    assert f"skipped  {result.relative_to(tmp_path / 'sub')}" in captured.err and "Traceback" not in captured.err
    with pytest.raises(InputError, match=r"bayes\.ne.*finite number"):
        inputs.read_submission(tmp_path / "sub", strict=True)


def test_a_run_named_outside_the_submission_is_refused_not_read(tmp_path: Path) -> None:
    root = tmp_path / "subs"
    write_submission(root / "fine", make_records(synthetic_points(), system="cpu-a"), [system_description("cpu-a")])
    sub = write_submission(root / "odd", make_records(synthetic_points()[:3], system="cpu-b"),
                           [system_description("cpu-b")])
    manifest = json.loads((sub / "submission.json").read_text(encoding="utf-8"))
    manifest["runs"][0]["system"] = "../../etc"
    (sub / "submission.json").write_text(json.dumps(manifest), encoding="utf-8")
    outcome = score(root, tmp_path / "board", checker=lambda path: (True, ""), settings=FEW)
    statuses = {s.path: s for s in outcome.board.submissions}
    assert statuses["fine"].scored and not statuses["odd"].scored
    assert "passed the check but cannot be scored" in statuses["odd"].reason and "not a valid name" in \
        statuses["odd"].reason


def test_a_data_curve_on_its_bound_is_not_ranked_nor_quoted(tmp_path: Path) -> None:
    records = make_records(synthetic_points(), division="open")
    smallest = min(r.train_samples for r in records)
    for record in records:  # a step: the least data is worse, more data changes nothing
        ne = 0.9 if record.train_samples == smallest else 0.7 + 1e-9 * record.train_samples
        record.final = record.final.model_copy(update={"ne": ne})
    write_submission(tmp_path / "subs" / "step", records, [system_description("cpu-a", division="open")],
                     division="open")
    outcome = score(tmp_path / "subs", tmp_path / "board", checker=lambda path: (True, ""), settings=FEW)
    (row,) = outcome.board.open[0].rows
    assert row.rank is None and row.data_fit is None and "hit its bound" in (row.data_error or "")
    (fits,) = outcome.board.workload_fits
    data = next(a for a in fits.axes if a.axis == "data")
    assert data.headline is None and all(s.fit is not None and s.fit.status == "at_bound" for s in data.slices)
    markdown = (tmp_path / "board" / "leaderboard.md").read_text(encoding="utf-8")
    assert "not a law (at bound)" in markdown and "x^-4 " not in markdown
