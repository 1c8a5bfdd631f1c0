"""The compute-optimal allocation (C = k N^p D), the IsoFLOP frontier, the planted-floor refits and the
return-per-decade interval, each against a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from harness.score.fits.allocation import fit_flops_relation, mean_returns, optimum, params_row, split_exponents
from harness.score.fits.floor import floor_by_range, floor_verdict
from harness.score.fits.isoflop import buckets_of, isoflop_frontier
from harness.score.fits.joint import extrapolate_joint, fit_joint, usable_counts
from harness.score.fits.power_law import FitError, fit_power_law
from harness.score.fits.records import FitSettings

E, A, ALPHA, B, BETA = 0.55, 40.0, 0.3, 80.0, 0.35
TRUE = params_row(E, A, ALPHA, B, BETA)


def law(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return E + A * n ** -ALPHA + B * d ** -BETA


def square_grid(size: int = 9) -> tuple[np.ndarray, np.ndarray]:
    n, d = np.meshgrid(np.geomspace(1e4, 1e8, size), np.geomspace(1e4, 1e8, size))
    return n.ravel(), d.ravel()


# ------------------------------------------------------------------------------- allocation


def test_the_flops_relation_is_recovered() -> None:
    n, d = square_grid(4)
    relation = fit_flops_relation(n, d, 3.0 * n ** 0.7 * d)
    assert relation.k == pytest.approx(3.0, rel=1e-9) and relation.p == pytest.approx(0.7, rel=1e-9)
    assert relation.max_rel_residual < 1e-9
    with pytest.raises(FitError, match="N takes one value"):
        fit_flops_relation([1e6] * 3, [1e5, 1e6, 1e7], [1e12, 1e13, 1e14])


@pytest.mark.parametrize("p", [1.0, 0.4])
def test_the_optimum_minimises_the_law_on_the_budget(p: float) -> None:
    n, d = square_grid(4)
    relation = fit_flops_relation(n, d, 6.0 * n ** p * d)
    compute = 1e18
    n_opt, d_opt, loss = (float(v) for v in optimum(TRUE, compute, relation))
    # brute force: minimise L(N, C / (k N^p)) over log N
    best = minimize_scalar(lambda u: float(law(np.exp(u), compute / (6.0 * np.exp(u) ** p))), bounds=(0, 60),
                           method="bounded", options={"xatol": 1e-10})
    assert math.log(n_opt) == pytest.approx(best.x, abs=1e-4)
    assert 6.0 * n_opt ** p * d_opt == pytest.approx(compute, rel=1e-9)
    assert loss == pytest.approx(float(law(np.array(n_opt), np.array(d_opt))), rel=1e-12)
    a, b = (float(v) for v in split_exponents(TRUE, p))
    assert p * a + b == pytest.approx(1.0)  # C = k N^p D: p a + b = 1, and a + b = 1 only when p = 1
    # the exponent is the slope of log N_opt against log C
    slope = (math.log(float(optimum(TRUE, 10 * compute, relation)[0])) - math.log(n_opt)) / math.log(10)
    assert slope == pytest.approx(a, rel=1e-9)


def test_mean_returns_are_the_drop_per_decade_along_each_axis() -> None:
    drop_n, drop_d = (float(v) for v in mean_returns(TRUE, (1e5, 1e7), (1e4, 1e7)))
    for d in (1e4, 1e7):  # the law is additive: the drop along N is the same at every D
        assert drop_n == pytest.approx(float(law(np.array(1e5), np.array(d)) - law(np.array(1e7), np.array(d))) / 2)
    assert drop_d == pytest.approx(float(law(np.array(1e6), np.array(1e4)) - law(np.array(1e6), np.array(1e7))) / 3)


def test_parameters_that_cost_no_compute_have_no_split() -> None:
    n, d = square_grid(5)
    fit = fit_joint(n, d, law(n, d))
    assert fit.compute_optimal(k=6.0, p=0.02) is None
    assert fit.compute_optimal(k=6.0, p=1.0) is not None


def test_resamples_that_cannot_determine_the_law_are_left_out() -> None:
    n = np.array([1e5, 1e6, 1e7, 1e5, 1e6, 1e7])
    d = np.array([1e5, 1e5, 1e5, 1e6, 1e6, 1e7])
    counts = usable_counts(n, d, 500, 0)
    assert 0 < counts.shape[0] < 500
    for row in counts:
        drawn = row > 0
        assert len(set(n[drawn])) >= 3 and len(set(d[drawn])) >= 3 and drawn.sum() >= 5


def test_the_joint_extrapolation_of_an_exact_law_is_exact() -> None:
    n, d = square_grid(5)
    found, note = extrapolate_joint(n, d, law(n, d))
    assert found is not None and note == "" and len(found.held) == 5
    assert found.max_abs_rel_error < 1e-4
    assert max(n[i] * d[i] for i in found.held) == max(n * d)


# --------------------------------------------------------------------------------- IsoFLOP


def test_isoflop_profiles_recover_the_split() -> None:
    n, d = square_grid()
    frontier = isoflop_frontier(n, d, 6.0 * n * d, law(n, d))
    assert frontier.n_optima >= 3
    assert frontier.a == pytest.approx(BETA / (ALPHA + BETA), rel=0.02)
    assert frontier.b == pytest.approx(ALPHA / (ALPHA + BETA), rel=0.02)
    assert frontier.interval_or_why("a") == "not_requested"


def test_isoflop_intervals_hold_the_truth_on_noisy_data() -> None:
    n, d = square_grid()
    loss = law(n, d) * np.exp(0.002 * np.random.default_rng(1).standard_normal(n.size))
    frontier = isoflop_frontier(n, d, 6.0 * n * d, loss, counts=usable_counts(n, d, 100, 0))
    lo, hi = frontier.interval_or_why("a")  # type: ignore[misc]
    assert lo <= BETA / (ALPHA + BETA) <= hi and hi - lo < 0.3


def test_a_grid_whose_optimum_lies_outside_supports_no_frontier() -> None:
    n, d = np.meshgrid(np.geomspace(1e2, 1e3, 4), np.geomspace(1e8, 1e10, 4))  # N far below every optimum
    n, d = n.ravel(), d.ravel()
    with pytest.raises(FitError, match="supports no IsoFLOP frontier: 0 of its"):
        isoflop_frontier(n, d, 6.0 * n * d, law(n, d))


def test_buckets_hold_one_budget_each() -> None:
    n, d = square_grid(3)
    compute = 6.0 * n * d
    buckets = buckets_of(compute, 2.0)  # the grid's step: 2 decades
    assert [len(b) for b in buckets] == [1, 2, 3, 2, 1]  # the anti-diagonals
    for members in buckets:
        assert len({round(math.log10(compute[i]), 6) for i in members}) == 1


# ------------------------------------------------------------------------------ planted floor


FLOOR = 0.6


def _data_curve(xs: np.ndarray, noise: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (FLOOR + 20.0 * xs ** -0.5) * (1 + noise * rng.standard_normal(xs.size))


def test_a_curve_that_reaches_the_floor_pins_it() -> None:
    xs = np.geomspace(1e3, 4e7, 10)  # the last point is 0.5% above the floor
    steps = floor_by_range(xs, _data_curve(xs, 0.001), FitSettings(n_boot=300))
    assert [s.n_distinct for s in steps] == list(range(3, 11))
    assert floor_verdict(steps[-1].fit, FLOOR) == "pinned"
    lo, hi = steps[-1].fit.interval("c")  # type: ignore[union-attr,misc]
    assert lo <= FLOOR <= hi


def test_a_short_range_far_from_the_floor_cannot_pin_it() -> None:
    xs = np.geomspace(1e3, 1e4, 6)  # still 20-60% above the floor
    steps = floor_by_range(xs, _data_curve(xs, 0.003), FitSettings(n_boot=300))
    assert floor_verdict(steps[-1].fit, FLOOR) == "cannot_pin"


def test_a_curve_levelling_off_above_the_floor_is_above() -> None:
    xs = np.geomspace(1e3, 4e7, 10)
    fit = fit_power_law(xs, 0.7 + 20.0 * xs ** -0.5, n_boot=300)
    assert floor_verdict(fit, FLOOR) == "above"
    assert floor_verdict(fit, 0.9) == "below"
    assert floor_verdict(None, FLOOR) == "cannot_pin"


# -------------------------------------------------------------------------- return per decade


def test_the_return_per_decade_interval() -> None:
    xs = np.geomspace(1e4, 1e7, 8)
    truth = 3.0 * (xs[0] ** -0.3 - xs[-1] ** -0.3) / 3.0  # over 3 decades
    exact = fit_power_law(xs, 0.6 + 3.0 * xs ** -0.3, n_boot=400)
    lo, hi = exact.return_per_decade_interval_or_why()  # type: ignore[misc]
    assert lo == pytest.approx(truth, rel=1e-6) and hi == pytest.approx(truth, rel=1e-6)
    ys = (0.6 + 3.0 * xs ** -0.3) * (1 + 0.002 * np.random.default_rng(5).standard_normal(xs.size))
    noisy = fit_power_law(xs, ys, n_boot=400)
    lo, hi = noisy.return_per_decade_interval_or_why()  # type: ignore[misc]
    assert lo < noisy.return_per_decade() < hi and hi - lo < 0.1 * truth
    assert noisy.return_per_decade() == pytest.approx(truth, rel=0.02)
    assert fit_power_law(xs[:3], ys[:3], n_boot=400).return_per_decade_interval_or_why() == "exactly_determined"
