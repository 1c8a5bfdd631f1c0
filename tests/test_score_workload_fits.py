"""The fits of one workload's records along each axis (the leaderboard's building block), against a planted law."""

from __future__ import annotations

import pytest
from score_helpers import Law, make_record, make_records, synthetic_points

from harness.score.fits.points import aggregate_points
from harness.score.fits.power_law import FitError
from harness.score.fits.records import FitSettings, PowerLawSummary, WorkloadFits
from harness.score.fits.workload import fit_workload, frontier, headline_slice
from recscale.metrics import metric

LAW = Law()


def headline_fit(record: WorkloadFits, axis: str) -> PowerLawSummary | None:
    found = headline_slice(record, axis)
    return None if found is None else found.fit


def workload_fits(records, n_boot: int, joint_boot: int) -> WorkloadFits:
    return fit_workload(records, FitSettings(n_boot=n_boot), joint_boot=joint_boot).record


@pytest.fixture(scope="module")
def exact_report():
    return workload_fits(make_records(synthetic_points()), n_boot=200, joint_boot=0)


def test_data_axis_recovers_the_planted_law(exact_report) -> None:
    fit = headline_fit(exact_report, "data")
    assert fit is not None
    points = exact_report.points
    n_largest = max(p.params["total"] for p in points)
    data_axis = next(a for a in exact_report.axes if a.axis == "data")
    assert data_axis.slices[data_axis.headline].slice_value == n_largest  # the largest model is quoted
    # at a fixed model, L(D) = (E + A N^-alpha) + B D^-beta
    assert fit.b == pytest.approx(LAW.beta, rel=1e-4)
    assert fit.a == pytest.approx(LAW.b, rel=1e-3)
    assert fit.c == pytest.approx(LAW.e + LAW.a * n_largest ** -LAW.alpha, rel=1e-4)
    assert fit.return_per_decade > 0


def test_every_axis_is_reported_with_its_slices(exact_report) -> None:
    axes = {a.axis: a for a in exact_report.axes}
    assert set(axes) == {"data", "params", "embedding_params", "dense_params", "compute"}
    assert len(axes["data"].slices) == 3  # three model sizes, five data sizes each
    assert [len(s.x) for s in axes["data"].slices] == [5, 5, 5]
    assert len(axes["params"].slices) == 5  # five data sizes, three models each
    # the sweep moves the embedding dim and the bottom MLP together: the component fits say so
    assert all(set(s.co_varying) == {"bottom_mlp", "top_mlp"} for s in axes["embedding_params"].slices)
    assert all(s.co_varying == ["embedding"] for s in axes["dense_params"].slices)
    assert axes["compute"].slices[0].slice_label == "compute-efficient frontier"


def test_bayes_floor_is_reported_beside_the_irreducible_term(exact_report) -> None:
    assert exact_report.bayes_floor == pytest.approx(LAW.bayes)
    assert exact_report.loss_definition == "ne"
    assert headline_fit(exact_report, "data").c > exact_report.bayes_floor


def test_noisy_runs_recover_the_law_within_intervals() -> None:
    records = make_records(synthetic_points(), seeds=(0, 1, 2), noise=0.002)
    report = workload_fits(records, n_boot=1000, joint_boot=0)
    fit = headline_fit(report, "data")
    assert fit is not None and fit.b_ci is not None and fit.c_ci is not None
    n_largest = max(p.params["total"] for p in report.points)
    assert fit.b_ci.lo <= LAW.beta <= fit.b_ci.hi
    assert fit.c_ci.lo <= LAW.e + LAW.a * n_largest ** -LAW.alpha <= fit.c_ci.hi
    assert all(p.n_runs == 3 for p in report.points)


def test_joint_fit_and_compute_optimal_split() -> None:
    report = workload_fits(make_records(synthetic_points()), n_boot=0, joint_boot=0)
    joint = report.joint
    assert joint is not None and report.joint_error is None
    assert joint.beta == pytest.approx(LAW.beta, rel=0.02)
    assert joint.e == pytest.approx(LAW.e, rel=0.05)
    split = joint.compute_optimal
    # C = k N^p D fitted to the records' FLOPs: p a + b = 1 (a + b = 1 when p = 1, FLOPs ~ N D)
    assert split is not None and split.p * split.a_n + split.b_d == pytest.approx(1.0)
    assert split.k is not None and split.k > 0 and 0 < split.p < 1  # the dim grid: lookups and MLPs, not rows


def test_diverged_runs_are_left_out_of_the_mean() -> None:
    point = synthetic_points()[0]
    records = [make_record(point, 0), make_record(point, 1, diverged=True)]
    (aggregated,) = aggregate_points(records)
    assert (aggregated.n_runs, aggregated.n_final) == (2, 1)
    assert aggregated.quality == pytest.approx(records[0].final.ne)


def test_auc_is_fitted_as_one_minus_auc() -> None:
    assert metric("auc").to_loss(0.8) == pytest.approx(0.2)
    assert metric("ne").to_loss(0.8) == 0.8


def test_frontier_keeps_only_improving_points() -> None:
    points = aggregate_points(make_records(synthetic_points()))
    kept = frontier(points, lambda p: p.train_flops)
    losses = [p.loss for p in kept]
    assert losses == sorted(losses, reverse=True) and len(kept) < len(points)


def test_too_few_points_reports_the_error_in_the_slice() -> None:
    points = [p for p in synthetic_points() if p.overrides["data.fraction"] in (0.5, 1.0)]
    study = fit_workload(make_records(points), FitSettings(n_boot=0), joint_boot=0)
    data_axis = next(a for a in study.record.axes if a.axis == "data")
    assert data_axis.headline is None
    assert all(s.fit is None and "2 distinct x value" in s.error for s in data_axis.slices)
    assert study.headline("data") is None


def test_records_of_two_workloads_are_refused() -> None:
    records = make_records(synthetic_points()[:2])
    other = records[1].model_copy(update={"workload_id": "other"})
    with pytest.raises(FitError, match="one workload"):
        aggregate_points([records[0], other])
    with pytest.raises(FitError, match="no run records"):
        aggregate_points([])
