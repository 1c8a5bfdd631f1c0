"""`recscale report` on an N x D grid whose records follow a KNOWN law: the joint fit, the compute-optimal
split, the verdicts and the planted-floor line.

The records' final NE is ``E + A / N^alpha + B / D^beta`` (N = total parameters, D = training samples)
times ``1 + noise * N(0, 1)`` per run (tests/score_helpers.py), on a grid of data fractions x embedding
dims of the synthetic scaling workload.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from score_helpers import Law, grid_points, make_records, system_description, write_submission

from harness.cli import main
from harness.score.fits.allocation import FlopsRelation, optimum, params_row, split_exponents
from harness.score.fits.records import FitSettings
from harness.score.inputs import SubmissionRecords
from harness.score.render.study import study_readme
from harness.score.study import joint as study_joint
from harness.score.study.build import build_report
from harness.score.study.records import StudyGroup, StudyReport
from recscale.records import RunResult
from recscale.resources import load_schema

LAW = Law(e=0.6, a=40.0, alpha=0.3, b=20.0, beta=0.35, bayes=0.58)
FRACTIONS = [1 / 256, 1 / 64, 1 / 16, 1 / 4, 1.0]  # 15.6k to 4M samples
DIMS = [4, 8, 16, 32, 64]  # 3.4M to 54M parameters
BOOT = 120  # the power-law fits need 100 usable resamples for an interval


def _group(records: list[RunResult], boot: int = BOOT) -> StudyGroup:
    report, _ = build_report(SubmissionRecords("sub", "TestOrg", "closed", records), checked=False,
                             settings=FitSettings(n_boot=boot))
    return report.groups[0]


def _verdicts(group: StudyGroup) -> dict[str, tuple[str, bool, str]]:
    return {v.question: (v.answer, v.decided, v.text) for v in group.verdicts}


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> list:
    return grid_points(tmp_path_factory.mktemp("grid"), FRACTIONS, DIMS)


@pytest.fixture(scope="module")
def quiet(grid: list) -> tuple[list[RunResult], StudyGroup]:
    records = make_records(grid, seeds=(0, 1, 2), law=LAW, noise=0.002)
    return records, _group(records)


@pytest.fixture(scope="module")
def loud(grid: list) -> StudyGroup:
    with pytest.MonkeyPatch.context() as patch:
        # noisy refits take hundreds of L-BFGS-B steps each: 30 resamples show what the test needs
        patch.setattr(study_joint, "JOINT_BOOT", 30)
        return _group(make_records(grid, seeds=(0, 1), law=LAW, noise=0.05))


def test_the_joint_fit_recovers_the_planted_exponents_within_its_intervals(quiet) -> None:
    group = quiet[1]
    assert group.joint_note.startswith("The grid: the 25 points of grid, 5 model size(s) x 5 data size(s)")
    total = next(j for j in group.joint if j.params == "total")
    fit = total.fit
    assert fit is not None and fit.is_law and total.co_varying == []
    for name, true in (("alpha", LAW.alpha), ("beta", LAW.beta), ("e", LAW.e)):
        interval = getattr(fit, f"{name}_ci")
        assert interval is not None and interval.lo <= true <= interval.hi, (name, interval)
    assert fit.beta_ci.hi - fit.beta_ci.lo < 0.05  # type: ignore[union-attr]
    assert total.seed_noise == pytest.approx(0.002, rel=0.3)  # the planted per-run noise
    assert total.extrapolation is not None and total.extrapolation.max_abs_rel_error < 0.01
    # embedding is 99% of the total on this grid: no fit of its own; dense moves (the bottom MLP's output)
    assert [j.params for j in group.joint] == ["total", "dense"]
    assert "embedding parameters (proportional to the total" in group.joint_note


def test_the_split_follows_the_fitted_flops_relation(quiet) -> None:
    records, group = quiet
    total = next(j for j in group.joint if j.params == "total")
    allocation = total.allocation
    assert allocation is not None
    p = allocation.flops.p
    assert 0 < p < 1  # lookups and MLPs cost FLOPs, rows do not: FLOPs grow slower than the parameters
    assert p * allocation.a.value + allocation.b.value == pytest.approx(1.0, abs=1e-5)
    true = params_row(LAW.e, LAW.a, LAW.alpha, LAW.b, LAW.beta)
    a_true, b_true = (float(v) for v in split_exponents(true, p))
    assert allocation.a.ci.lo <= a_true <= allocation.a.ci.hi  # type: ignore[union-attr]
    assert allocation.b.ci.lo <= b_true <= allocation.b.ci.hi  # type: ignore[union-attr]
    assert allocation.largest_compute == max(r.train_flops for r in records)
    relation = FlopsRelation(k=allocation.flops.k, p=p, max_rel_residual=0.0, n_points=25)
    for at in allocation.at:
        assert at.compute == pytest.approx(at.multiple * allocation.largest_compute, rel=1e-5)
        expected = float(optimum(true, at.compute, relation)[2])
        assert at.loss.ci.lo <= expected <= at.loss.ci.hi  # type: ignore[union-attr]


def test_with_flops_proportional_to_n_d_a_plus_b_is_one(tmp_path: Path) -> None:
    points = grid_points(tmp_path, FRACTIONS[1:], DIMS[1:])
    records = [r.model_copy(update={"train_flops": 6.0 * r.params.total * r.train_samples})
               for r in make_records(points, seeds=(0, 1), law=LAW, noise=0.001)]
    total = next(j for j in _group(records, boot=60).joint if j.params == "total")
    allocation = total.allocation
    assert allocation is not None and allocation.flops.p == pytest.approx(1.0)
    assert allocation.a.value + allocation.b.value == pytest.approx(1.0, abs=1e-5)
    assert allocation.a_plus_b.ci is not None
    assert allocation.a_plus_b.ci.lo <= 1.0 <= allocation.a_plus_b.ci.hi
    assert allocation.a.value == pytest.approx(LAW.beta / (LAW.alpha + LAW.beta), abs=0.05)


def test_verdicts_decide_when_the_noise_is_small(quiet) -> None:
    verdicts = _verdicts(quiet[1])
    assert verdicts["Q1"][:2] == ("data", True)
    assert "the curves: training samples" in verdicts["Q1"][2] and "the joint law over the grid" in verdicts["Q1"][2]
    answer, decided, text = verdicts["Q4"]
    assert decided and answer == "grow parameters faster than data"  # parameters are cheap in FLOPs here
    assert "N_opt ~ C^a with a = " in text and "at 10x the largest compute" in text and "at 100x" in text
    # E = 0.6 is 3.4% above the Bayes NE 0.58: the interval holds both, and values more than 5% away
    assert verdicts["Q3"][0] in ("undecided", "at the Bayes NE")
    assert verdicts["Q3"][2].count("the joint law's E = ") == 1


def test_verdicts_say_undecided_when_the_noise_is_large(loud) -> None:
    verdicts = _verdicts(loud)
    for question in ("Q1", "Q3", "Q4"):
        answer, decided, text = verdicts[question]
        assert (answer, decided) == ("undecided", False), (question, text)
        assert text.startswith("Undecided: ")
    assert "not known to within 0.3" in verdicts["Q4"][2] or "not a law" in verdicts["Q4"][2]


def test_a_joint_fit_at_its_bound_is_never_quoted(tmp_path: Path) -> None:
    flat = Law(e=0.6, a=0.0, alpha=0.3, b=20.0, beta=0.35, bayes=0.58)  # the loss does not depend on N
    records = make_records(grid_points(tmp_path, FRACTIONS[1:], DIMS[1:]), seeds=(0,), law=flat, noise=0.0)
    report, _ = build_report(SubmissionRecords("sub", "TestOrg", "closed", records), checked=False,
                             settings=FitSettings(n_boot=30))
    group = report.groups[0]
    total = next(j for j in group.joint if j.params == "total")
    assert total.fit is not None and total.fit.status == "at_bound"
    assert total.allocation is None and total.return_n is None and total.extrapolation is None
    verdicts = _verdicts(group)
    assert verdicts["Q4"][0] == "undecided" and "not a law" in verdicts["Q4"][2]
    assert "joint law" not in verdicts["Q1"][2] and "joint law's E" not in verdicts["Q3"][2]
    readme = study_readme(StudyReport.model_validate(report.model_dump()))
    row = next(line for line in readme.splitlines() if line.startswith("| total parameters |"))
    assert "| at_bound | – | – | – |" in row and f"{total.fit.alpha:.4g}" not in row
    assert "compute-optimal split from the joint law" not in readme


@pytest.mark.parametrize(("fractions", "verdict", "words"), [
    ([1 / 4096, 1 / 2048, 1 / 1024, 1 / 512, 1 / 256], "cannot_pin", "the range measured cannot pin it"),
    ([1 / 4096, 1 / 1024, 1 / 256, 1 / 64, 1 / 16, 1 / 4, 1.0], "pinned", "within 5% of the Bayes NE"),
])
def test_the_planted_floor_line(tmp_path: Path, fractions: list[float], verdict: str, words: str) -> None:
    # the floor is the Bayes NE (a model term too small to matter); from 1k samples the curve is 60% above it
    law = Law(e=0.58, a=1e-6, alpha=0.3, b=20.0, beta=0.5, bayes=0.58)
    records = make_records(grid_points(tmp_path, fractions, [16]), seeds=(0, 1), law=law, noise=0.005)
    floor = _group(records).planted_floor
    assert floor is not None and floor.verdict == verdict and words in floor.text, floor.text
    assert floor.bayes == pytest.approx(0.58) and len(floor.steps) == len(fractions) - 2
    assert [s.n_distinct for s in floor.steps] == list(range(3, len(fractions) + 1))


def test_the_command_writes_the_verdicts_the_joint_law_and_the_floor(quiet, tmp_path: Path) -> None:
    records = [r for r in quiet[0] if r.seed == 0]
    sub = write_submission(tmp_path / "sub", records, [system_description("cpu-a")])
    out = tmp_path / "report"
    assert main(["report", str(sub), "--out", str(out), "--no-check", "--bootstrap", "40"]) == 0  # the joint: 20+
    document = json.loads((out / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, load_schema("report"))
    report = StudyReport.model_validate(document)
    group = report.groups[0]
    assert [v.question for v in group.verdicts] == ["Q1", "Q2", "Q3", "Q4"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    for title in ("### Verdicts", "- **Q1. Does quality scale better with data or with parameters?** Answer: **",
                  "### Joint law L(N, D) and the compute-optimal split", "*joint law per meaning of N*",
                  "*compute-optimal split from the joint law*", "### Planted floor", "reducible NE"):
        assert title in readme, title
    for stem in (group.joint_plot, group.planted_floor.plot):  # type: ignore[union-attr]
        assert stem is not None and f"plots/{stem}.svg" in readme
        assert (out / "plots" / f"{stem}.png").stat().st_size > 0
    assert np.isfinite([group.joint[0].fit.alpha]).all()  # type: ignore[union-attr]
