"""`recscale report`: the study of a submission from records that follow known curves, axis by axis."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml
from score_helpers import Law, make_record, system_description, write_submission
from submission_factory import make_submission

from harness.cli import main
from harness.score.fits.records import FitSettings
from harness.score.inputs import SubmissionRecords
from harness.score.render.study import study_readme
from harness.score.study.build import build_report
from harness.score.study.records import StudyReport
from recscale.accounting import param_counts, train_flops_per_example
from recscale.load import load_points
from recscale.records import ComponentCounts, Metrics, RunResult
from recscale.resources import load_schema
from recscale.sweep import Point

FLOOR = 0.6
BOOT = 200
BASE = {
    "version": 1,
    "data": {"source": "synthetic", "train_samples": 4_000_000, "eval_samples": 100_000,
             "cardinalities": "criteo_kaggle", "cardinality_cap": 100_000,
             "synthetic": {"seed": 7, "ctr": 0.256, "zipf_exponent": 1.1, "teacher_rank": 8}},
    "model": {"embedding": {"dim": 16}, "bottom_mlp": [64, 16], "interaction": {"kind": "dot"}, "top_mlp": [64, 1]},
    "training": {"batch_size": 2048, "passes": 1, "eval_every": 0.5,
                 "optimizer": {"dense": {"name": "adagrad", "lr": 0.01},
                               "sparse": {"name": "rowwise_adagrad", "lr": 0.05}}},
    "quality": {"metric": "ne", "target": 0.87},
    "runs_per_point": 1,
}
# Workload ids are deliberately unlike the study's: the axes must come from the overrides alone.
SWEEPS: dict[str, tuple[dict, float | None]] = {  # id -> (sweep, fixed data fraction)
    "w1": ({"data.fraction": [1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]}, None),
    "w2": ({"model.embedding.hash_size": [500, 2000, 8000, 32000, 100000]}, 0.25),
    "w3": ({"model.bottom_mlp": [[16], [32, 16], [128, 16], [512, 16], [512, 256, 16]]}, 0.25),
    "w4": ({"model.top_mlp": [[1], [16, 1], [64, 1], [256, 1], [1024, 1], [512, 256, 1]]}, 0.25),
    "w5": ({"model.interaction": [
        {"kind": "dot"}, {"kind": "dcn", "layers": 1, "low_rank": 16}, {"kind": "dcn", "layers": 2, "low_rank": 64},
        {"kind": "dcn", "layers": 3, "low_rank": 256},
        {"kind": "wukong", "layers": 1, "fmb_features": 8, "lcb_features": 8, "fmb_rank": 4, "fmb_mlp": [64]},
        {"kind": "wukong", "layers": 2, "fmb_features": 16, "lcb_features": 16, "fmb_rank": 8, "fmb_mlp": [256]},
        {"kind": "wukong", "layers": 3, "fmb_features": 16, "lcb_features": 16, "fmb_rank": 8, "fmb_mlp": [512]},
        {"kind": "wukong", "layers": 4, "fmb_features": 32, "lcb_features": 32, "fmb_rank": 16, "fmb_mlp": [512]},
    ]}, 0.25),
}


@dataclass(frozen=True)
class Planted:
    """NE = floor + A_d D^-b_d + A_e E^-b_e + dense term of the interaction kind: additive, so each sweep
    (the others fixed) is a power law plus constant in its own x, and every workload agrees on shared points."""

    a_d: float = 3.0
    b_d: float = 0.2
    a_e: float = 0.5
    b_e: float = 0.15
    dense: tuple[tuple[str, float, float], ...] = (("dot", 0.3, 0.2), ("dcn", 0.5, 0.3), ("wukong", 2.0, 0.4))

    def ne(self, point: Point) -> float:
        params = param_counts(point.spec)
        a_k, b_k = next((a, b) for kind, a, b in self.dense if kind == point.spec.model.interaction.kind)
        dense = params["bottom_mlp"] + params["interaction"] + params["top_mlp"]
        return (FLOOR + self.a_d * point.spec.data.train_rows ** -self.b_d + self.a_e * params["embedding"] ** -self.b_e
                + a_k * dense ** -b_k)


def _points(root: Path, workload: str) -> list[Point]:
    sweep, fraction = SWEEPS[workload]
    spec = {"id": workload, **BASE, "sweep": sweep}
    if fraction is not None:
        spec["data"] = {**BASE["data"], "fraction": fraction}
    file = root / f"{workload}.yaml"
    file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_points(file)[1]


def _record(point: Point, ne: float, seed: int = 0) -> RunResult:
    record = make_record(point, seed, law=Law(bayes=FLOOR))
    params = param_counts(point.spec)
    flops = train_flops_per_example(point.spec)
    samples = point.spec.data.train_rows
    return record.model_copy(update={
        "final": Metrics(ne=ne, logloss=0.6 * ne, auc=0.9 - 0.3 * ne, calibration=1.0),
        "params": ComponentCounts(**params), "flops_per_example": ComponentCounts(**flops),
        "train_flops": float(flops["total"] * samples),
    })


def study_records(root: Path, law: Planted = Planted()) -> list[RunResult]:
    return [_record(point, law.ne(point)) for workload in SWEEPS for point in _points(root, workload)]


def _report(records: list[RunResult]) -> StudyReport:
    report, _ = build_report(SubmissionRecords("sub", "TestOrg", "closed", records), checked=False,
                             settings=FitSettings(n_boot=BOOT))
    return report


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RunResult], StudyReport]:
    records = study_records(tmp_path_factory.mktemp("workloads"))
    return records, _report(records)


def test_axes_come_from_the_overrides(planted) -> None:
    _, report = planted
    assert len(report.groups) == 1  # every workload shares one data set
    group = report.groups[0]
    axes = {a.axis: a for a in group.axes}
    assert list(axes) == ["data", "params", "embedding", "bottom_mlp", "top_mlp", "interaction", "compute"]
    assert [c.workloads for c in axes["data"].curves] == [["w1"]]
    assert [c.workloads for c in axes["embedding"].curves] == [["w2"]]
    assert [c.workloads for c in axes["top_mlp"].curves] == [["w4"]]
    # interaction: one curve per kind; dot's slope comes from the MLP sweeps around it
    families = {(c.workloads[0], c.family) for c in axes["interaction"].curves}
    assert families == {("w3", "dot"), ("w4", "dot"), ("w5", "dcn"), ("w5", "dot"), ("w5", "wukong")}
    lone_dot = next(c for c in axes["interaction"].curves if c.workloads == ["w5"] and c.family == "dot")
    assert lone_dot.curve.fit is None and "1 distinct x" in (lone_dot.curve.error or "")
    # the pooled frontier keeps the best point of each compute level, whichever workload measured it
    frontier = axes["compute"].curves[0]
    assert "w1" in frontier.workloads and len(frontier.workloads) > 1
    assert frontier.curve.loss == sorted(frontier.curve.loss, reverse=True)
    assert all(not c.curve.co_varying for c in axes["embedding"].curves)


def test_fits_recover_the_planted_curves(planted) -> None:
    _, report = planted
    group = report.groups[0]
    law = Planted()
    by_axis = {(f.axis, f.family): f for f in group.ranking}
    data = by_axis[("data", "")].fit
    base = group.points[0].points[0].params  # w1's model is every other sweep's base model
    base_embedding, base_dense = base["embedding"], base["dense"]
    c_data = FLOOR + law.a_e * base_embedding ** -law.b_e + 0.3 * base_dense ** -0.2
    assert data is not None and data.b == pytest.approx(law.b_d, rel=1e-3) and data.c == pytest.approx(c_data, rel=1e-4)
    expected = law.a_d * (62_500 ** -law.b_d - 4_000_000 ** -law.b_d) / math.log10(64)
    assert data.return_per_decade == pytest.approx(expected, rel=1e-4)
    assert by_axis[("data", "")].floor_gap == pytest.approx(c_data - FLOOR, rel=1e-3)
    assert by_axis[("embedding", "")].fit.b == pytest.approx(law.b_e, rel=1e-3)
    assert by_axis[("interaction", "wukong")].fit.b == pytest.approx(0.4, rel=1e-3)
    assert by_axis[("interaction", "dcn")].fit.notes[0].startswith("exactly determined")  # 3 sizes: no intervals
    assert group.bayes_floor == pytest.approx(FLOOR)


def _position(group, axis: str) -> int:
    return next(i for i, f in enumerate(group.ranking) if f.axis == axis)


def test_summary_says_data_scales_best(planted) -> None:
    group = planted[1].groups[0]
    assert all(_position(group, "data") < _position(group, axis)
               for axis in ("params", "embedding", "bottom_mlp", "top_mlp", "interaction"))
    assert any(s.startswith("Data scales better than parameters") for s in group.summary)
    floor = next(s for s in group.summary if "Bayes-optimal NE" in s)
    assert "The data curve's irreducible term c = " in floor and "above it" in floor
    interaction = next(s for s in group.summary if s.startswith("Interaction"))
    assert "wukong" in interaction and "dcn" in interaction and "dot" in interaction
    assert "indicative only" in interaction  # dcn has 3 sizes: no interval to compare with


def test_verdicts_name_the_numbers_they_rest_on(planted) -> None:
    group = planted[1].groups[0]
    verdicts = {v.question: v for v in group.verdicts}
    assert [v.question for v in group.verdicts] == ["Q1", "Q2", "Q3", "Q4"]
    assert verdicts["Q1"].answer == "data" and verdicts["Q1"].decided
    data = next(f for f in group.ranking if f.axis == "data")
    assert data.return_ci is not None  # exact data: an interval of zero width (up to the rounding) at the estimate
    assert data.return_ci.lo == pytest.approx(data.fit.return_per_decade, rel=1e-5) == data.return_ci.hi
    assert f"training samples {data.fit.return_per_decade:.3g} [" in verdicts["Q1"].text
    # the planted embedding term returns most per decade of its parameters, beyond every other interval
    assert verdicts["Q2"].answer == "embedding" and "of the four components" in verdicts["Q2"].text
    for words in ("bottom MLP ", "interaction, wukong ", "top MLP "):
        assert words in verdicts["Q2"].text
    # no joint law (one model size on the data axis): the data curve's c, above the floor by the planted terms
    assert verdicts["Q3"].answer == "above the Bayes NE" and "the data curve's c = " in verdicts["Q3"].text
    assert not verdicts["Q4"].decided and "N (parameters) takes 1 distinct value" in verdicts["Q4"].text
    assert group.joint[0].error is not None and group.joint[0].fit is None
    assert group.planted_floor is not None and group.planted_floor.verdict == "above"


def test_summary_picks_a_parameter_axis_that_scales_better(tmp_path: Path) -> None:
    group = _report(study_records(tmp_path, Planted(a_e=40.0, b_e=0.3))).groups[0]
    assert _position(group, "embedding") < _position(group, "data")
    assert any(s.startswith("A parameter axis returns more than data") and "not out of steam" in s
               for s in group.summary)


def test_a_sweep_moving_two_components_goes_on_the_wider_one(tmp_path: Path) -> None:
    SWEEPS["w6"] = ({"embedding_dim": {"model.embedding.dim": [2, 4, 8, 16, 32],
                                       "model.bottom_mlp": [[64, 2], [64, 4], [64, 8], [64, 16], [64, 32]]}}, 0.25)
    try:
        records = [_record(p, Planted().ne(p)) for p in _points(tmp_path, "w6")]
    finally:
        del SWEEPS["w6"]
    group = _report(records).groups[0]
    assert [a.axis for a in group.axes] == ["params", "embedding", "compute"]  # not bottom_mlp
    embedding = group.axes[1].curves[0]
    assert embedding.curve.co_varying == ["bottom_mlp", "top_mlp"] and embedding.curve.fit is not None
    assert group.notes[0].startswith("w6 moves model.bottom_mlp, model.embedding.dim: put on the embedding axis")
    assert next(f for f in group.ranking if f.axis == "embedding").confounded == ["bottom_mlp", "top_mlp"]


def test_data_sets_are_kept_apart(tmp_path: Path) -> None:
    records = study_records(tmp_path)
    other = [r.model_copy(update={"spec": {**r.spec, "data": {**r.spec["data"], "eval_samples": 5}}})
             for r in records if r.workload_id == "w1"]
    report = _report(records + other)
    assert [g.n_runs for g in report.groups] == [len(records), len(other)]
    assert report.groups[1].workloads == ["w1"]


# ------------------------------------------------------------------------------- the command


def _submission(root: Path, records: list[RunResult]) -> Path:
    return write_submission(root, records, [system_description("cpu-a")])


@pytest.fixture(scope="module")
def written(planted, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The command run on the data and interaction sweeps (fewer plots than the whole study: a faster test)."""
    records = [r for r in planted[0] if r.workload_id in ("w1", "w5")]
    sub = _submission(tmp_path_factory.mktemp("sub"), records)
    out = tmp_path_factory.mktemp("out") / "report"
    assert main(["report", str(sub), "--out", str(out), "--no-check", "--bootstrap", str(BOOT)]) == 0
    return sub, out


def test_the_command_writes_a_valid_report(written) -> None:
    _, out = written
    document = json.loads((out / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, load_schema("report"))
    report = StudyReport.model_validate(document)
    assert report.checked is False and report.settings.n_boot == BOOT and report.submitter == "TestOrg"
    assert [a.axis for a in report.groups[0].axes] == ["data", "params", "interaction", "compute"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "**not checked**" in readme
    for title in ("### Axis: training samples", "### Axis: dense parameters", "### Axis: training FLOPs",
                  "### Points", "| workload | curve | points | a [95% CI] | b [95% CI] | c [95% CI] |",
                  "| point | samples | params |", "- Largest return per decade: "):
        assert title in readme
    for plot in report.plots:
        assert (out / plot).is_file() and (out / plot).stat().st_size > 0
        if plot.endswith(".svg"):
            assert plot in readme
    assert {p.split("/")[1] for p in report.plots} >= {"set1-data.svg", "set1-overview.png", "set1-interaction.svg"}


def test_rerunning_writes_identical_bytes(written, tmp_path: Path) -> None:
    sub, out = written
    again = tmp_path / "again"
    assert main(["report", str(sub), "--out", str(again), "--no-check", "--bootstrap", str(BOOT)]) == 0
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (out / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_a_checked_submission_is_reported_as_checked(tmp_path: Path, capsys) -> None:
    # one point (the smoke workload's): no axis has anything to fit, the report says so
    sub = make_submission(tmp_path / "sub", points=["data.fraction=1.0,model.bottom_mlp=32-4,model.embedding.dim=4"])
    out = tmp_path / "out"
    assert main(["report", str(sub), "--out", str(out), "--bootstrap", "0"]) == 0
    report = StudyReport.model_validate_json((out / "report.json").read_text(encoding="utf-8"))
    assert report.checked and report.submitter == "factory-org" and report.submission == "sub"
    assert "it passed `recscale check`" in (out / "README.md").read_text(encoding="utf-8")
    assert "No axis of this data set could be fitted" in capsys.readouterr().out
    assert [a.axis for a in report.groups[0].axes] == ["compute"]


# ------------------------------------------------------------------------------- bad input


def test_a_submission_that_fails_the_check_is_refused(written, tmp_path: Path, capsys) -> None:
    sub, _ = written  # written without logs: the checker fails it
    out = tmp_path / "refused"
    assert main(["report", str(sub), "--out", str(out), "--bootstrap", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"FAIL  {sub}: the submission breaks rule(s) ") and "no report written" in err
    assert not out.exists()


@pytest.mark.parametrize("check", [True, False])
def test_an_empty_folder_is_a_clear_error(tmp_path: Path, capsys, check: bool) -> None:
    (tmp_path / "empty").mkdir()
    args = ["report", str(tmp_path / "empty"), "--out", str(tmp_path / "out")] + ([] if check else ["--no-check"])
    code = main(args)
    err = capsys.readouterr().err
    if check:
        assert code == 1 and "breaks rule(s)" in err
    else:
        assert code == 2 and "no run records" in err
    assert "Traceback" not in err


def test_a_missing_folder_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "no such submission folder" in capsys.readouterr().err


def test_too_few_points_are_reported_not_raised(tmp_path: Path, capsys) -> None:
    records = [r for r in study_records(tmp_path) if r.workload_id == "w1"
               and r.overrides["data.fraction"] in (1.0, 0.5)]  # two sizes: nothing can be fitted
    sub = _submission(tmp_path / "sub", records)
    (sub / "results" / "cpu-a" / "w9" / "p" / "run_0").mkdir(parents=True)
    (sub / "results" / "cpu-a" / "w9" / "p" / "run_0" / "result.json").write_text("{", encoding="utf-8")
    assert main(["report", str(sub), "--out", str(tmp_path / "out"), "--no-check", "--bootstrap", "50"]) == 0
    captured = capsys.readouterr()
    assert "skipped  results/cpu-a/w9/p/run_0/result.json" in captured.err
    assert "No axis of this data set could be fitted" in captured.out
    assert "2 distinct x value(s)" in captured.out
    report = StudyReport.model_validate_json((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report.skipped_records == ["results/cpu-a/w9/p/run_0/result.json"]
    assert all(f.fit is None for f in report.groups[0].ranking)


def test_a_fit_on_its_bound_is_listed_never_quoted(tmp_path: Path) -> None:
    records = study_records(tmp_path)
    top = sorted((r for r in records if r.workload_id == "w4"), key=lambda r: r.params.top_mlp)
    for i, record in enumerate(top):  # a step: the smallest top MLP is worse, every other one the same
        ne = 0.9 if i == 0 else 0.7 + 1e-6 * i
        record.final = Metrics(ne=ne, logloss=0.6 * ne, auc=0.9 - 0.3 * ne, calibration=1.0)
    group = _report(records).groups[0]
    curve = next(a for a in group.axes if a.axis == "top_mlp").curves[0]
    assert curve.curve.fit is not None and curve.curve.fit.status == "at_bound" and not curve.headline
    finding = next(f for f in group.ranking if f.axis == "top_mlp")
    assert finding.fit is None and finding.error.startswith("the fit is not a law: the exponent hit its bound")
    assert not any("top-MLP parameters" in line for line in group.summary[:2])  # not in the ranking sentence
    assert any("have a fit that is not a law" in note for note in group.notes)
    readme = study_readme(StudyReport.model_validate(_report(records).model_dump()))
    top_table = readme.split("### Axis: top-MLP parameters")[1].split("###")[0]
    assert "the exponent hit its bound b = 4" in top_table and "x^-4" not in readme
    q2 = next(v for v in group.verdicts if v.question == "Q2")  # a component without a law decides nothing
    assert q2.answer == "undecided" and "top MLP: no fit that is a law" in q2.text
    assert "top MLP" in q2.text.split("(")[0]  # named as what leaves it undecided
