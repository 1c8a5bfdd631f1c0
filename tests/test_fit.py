"""Power law plus constant: recovery of known curves, intervals, extrapolation check, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.score.fits.power_law import B_MAX, B_MIN, FitError, _status, fit_power_law
from harness.score.fits.summary import round_estimate, round_outward, summarize_fit

TRUE = {"a": 30.0, "b": 0.35, "c": 0.55}
X = np.geomspace(1e4, 1e7, 8)


def curve(x: np.ndarray, a: float = TRUE["a"], b: float = TRUE["b"], c: float = TRUE["c"]) -> np.ndarray:
    return a * x ** -b + c


def test_recovers_exact_curve() -> None:
    fit = fit_power_law(X, curve(X))
    assert fit.a == pytest.approx(TRUE["a"], rel=1e-6)
    assert fit.b == pytest.approx(TRUE["b"], rel=1e-6)
    assert fit.c == pytest.approx(TRUE["c"], rel=1e-6)
    assert fit.rms_rel_residual < 1e-9
    assert fit.extrapolation is not None and fit.extrapolation.max_abs_rel_error < 1e-8
    assert not fit.notes


@pytest.mark.parametrize(("a", "b", "c"), [(5.0, 0.1, 0.8), (300.0, 0.8, 0.2), (2.0, 0.05, 0.0), (1e3, 1.5, 1.0)])
def test_recovers_various_exact_curves(a: float, b: float, c: float) -> None:
    x = np.geomspace(1e3, 1e8, 10)
    fit = fit_power_law(x, curve(x, a, b, c), n_boot=0)
    assert (fit.a, fit.b) == (pytest.approx(a, rel=1e-5), pytest.approx(b, rel=1e-5))
    assert fit.c == pytest.approx(c, rel=1e-5, abs=1e-8)


def test_recovers_noisy_curve_with_intervals_covering_the_truth() -> None:
    rng = np.random.default_rng(3)
    x = np.repeat(X, 3)  # 3 runs per point, 0.5% noise: the level of seed-to-seed NE noise
    y = curve(x) * (1 + 0.005 * rng.standard_normal(x.size))
    fit = fit_power_law(x, y, n_boot=1000, seed=0)
    # stated tolerances with 0.5% noise over three decades: b within 10%, c within 5%, a within 35%
    assert fit.b == pytest.approx(TRUE["b"], rel=0.10)
    assert fit.c == pytest.approx(TRUE["c"], rel=0.05)
    assert fit.a == pytest.approx(TRUE["a"], rel=0.35)
    for name in "abc":
        interval = fit.interval(name)
        assert interval is not None
        assert interval[0] <= TRUE[name] <= interval[1], name
    assert fit.n_boot_valid == 1000
    band = fit.predict_interval(1e8)
    assert band is not None and band[0] <= float(curve(np.array(1e8))) <= band[1]
    assert fit.extrapolation is not None and fit.extrapolation.max_abs_rel_error < 0.02


def test_intervals_narrow_with_less_noise() -> None:
    rng = np.random.default_rng(5)
    widths = []
    for noise in (0.02, 0.002):
        y = curve(X) * (1 + noise * rng.standard_normal(X.size))
        lo, hi = fit_power_law(X, y, n_boot=500).interval("b")  # type: ignore[misc]
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 3


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    y = curve(X) * (1 + 0.01 * np.random.default_rng(1).standard_normal(X.size))
    first, again, other = (fit_power_law(X, y, n_boot=300, seed=s) for s in (7, 7, 8))
    assert first.boot is not None and again.boot is not None and other.boot is not None
    assert np.array_equal(first.boot, again.boot)
    assert not np.array_equal(first.boot, other.boot)


def test_extrapolation_holds_out_the_largest_points() -> None:
    x = np.geomspace(1e3, 1e8, 10)
    y = curve(x)
    y[-2:] *= 1.1  # the two largest points bend away from the law of the others
    fit = fit_power_law(x, y, n_boot=0)
    ex = fit.extrapolation
    assert ex is not None
    assert ex.held_x == pytest.approx(tuple(x[-2:]))  # 20% of 10 distinct values
    assert ex.fit_x_max == pytest.approx(x[-3])
    assert all(e < -0.05 for e in ex.rel_error)  # the law of the small points under-predicts them


def test_too_few_points_for_the_extrapolation_check_is_said() -> None:
    x = np.geomspace(1e4, 1e6, 3)
    fit = fit_power_law(x, curve(x), n_boot=100)
    assert fit.extrapolation is None and "not checked" in fit.extrapolation_note
    assert fit.interval("b") is None and any("exactly determined" in n for n in fit.notes)


def test_return_per_decade() -> None:
    fit = fit_power_law(X, curve(X), n_boot=0)
    expected = (curve(X[0]) - curve(X[-1])) / math.log10(X[-1] / X[0])
    assert fit.return_per_decade() == pytest.approx(expected, rel=1e-6)
    local = TRUE["a"] * TRUE["b"] * math.log(10) * X[-1] ** -TRUE["b"]
    assert fit.return_per_decade_at_max() == pytest.approx(local, rel=1e-5)


@pytest.mark.parametrize(("x", "y", "message"), [
    ([1e3, 1e4], [0.9, 0.8], "cannot determine the 3 parameters"),
    ([1e3, 1e3, 1e4, 1e4], [0.9, 0.91, 0.8, 0.81], "2 distinct x value"),
    ([1e3, 1e4, 1e5, 1e6], [0.7, 0.7, 0.7, 0.7], "flat"),
    ([1e3, 1e4, float("nan"), 1e6], [0.9, 0.8, 0.7, 0.65], "NaN or infinite"),
    ([1e3, 1e4, 1e5, 1e6], [0.9, 0.8, float("inf"), 0.65], "NaN or infinite"),
    ([0.0, 1e4, 1e5, 1e6], [0.9, 0.8, 0.7, 0.65], "x must be positive"),
    ([-1.0, 1e4, 1e5, 1e6], [0.9, 0.8, 0.7, 0.65], "x must be positive"),
    ([1e3, 1e4, 1e5, 1e6], [0.9, 0.8, 0.0, 0.65], "loss must be positive"),
    ([1e3, 1e4, 1e5, 1e6], [0.6, 0.7, 0.8, 0.9], "does not fall with x"),
    ([1e3, 1e4, 1e5], [0.9, 0.8], "x has 3 values but y has 2"),
])
def test_degenerate_input_is_a_clear_fit_error(x: list[float], y: list[float], message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_power_law(x, y, what="test data")


def test_error_names_what_was_fitted() -> None:
    with pytest.raises(FitError, match=r"^training samples: "):
        fit_power_law([1, 2], [3, 4], what="training samples")


def test_nearly_flat_curve_hits_the_exponent_bound_and_says_so() -> None:
    x = np.geomspace(1e3, 1e6, 6)
    y = np.array([0.9, 0.7, 0.7, 0.7, 0.7, 0.7]) + np.arange(6) * 1e-6  # a step, then flat
    fit = fit_power_law(x, y, n_boot=0)
    assert fit.b_at_bound and fit.b == pytest.approx(B_MAX)
    assert any("bound" in note for note in fit.notes)


def test_a_fit_on_a_bound_or_unconverged_is_not_a_law() -> None:
    assert _status(B_MAX, converged=True)[0] == "at_bound"
    assert _status(B_MIN, converged=True)[0] == "at_bound" and "log-linear" in _status(B_MIN, True)[1]
    assert _status(0.3, converged=False) == ("not_converged",
                                            "the least-squares polish did not converge: not a usable law")
    assert _status(0.3, converged=True) == ("ok", "")
    x = np.geomspace(1e3, 1e6, 6)
    step = np.array([0.9, 0.7, 0.7, 0.7, 0.7, 0.7]) + np.arange(6) * 1e-6
    summary = summarize_fit(fit_power_law(x, step, n_boot=200))
    assert summary.status == "at_bound" and not summary.is_law and summary.status_note.startswith("the exponent hit")
    assert summarize_fit(fit_power_law(X, curve(X), n_boot=0)).is_law


def test_numbers_are_rounded_to_what_they_mean() -> None:
    rng = np.random.default_rng(3)
    x = np.repeat(X, 3)
    fit = fit_power_law(x, curve(x) * (1 + 0.005 * rng.standard_normal(x.size)), n_boot=300)
    summary = summarize_fit(fit)
    assert summary.b == float(f"{summary.b:.6g}") and summary.c == float(f"{summary.c:.6g}")
    raw, interval = fit.interval("b"), summary.b_ci
    assert raw is not None and interval is not None and interval.lo < summary.b < interval.hi
    width = raw[1] - raw[0]
    assert interval.lo <= raw[0] < interval.lo + 0.01 * width and interval.hi - 0.01 * width < raw[1] <= interval.hi
    assert round_outward(0.0074, 0.858) == (0.0074, 0.858)
    assert round_outward(0.007437, 0.85812) == (0.00743, 0.859)  # outward: never narrower
    assert round_outward(0.81231234, 0.81245678) == (0.812312, 0.812457)  # narrow: a step of 0.1-1% of the width
    assert round_estimate(0.61234567891) == 0.612346
    assert round_estimate(0.6094745300123, (0.6094745230, 0.6094745477)) == 0.60947453  # the interval's step


def test_c_on_its_bound_is_exactly_zero() -> None:
    x = np.geomspace(1e3, 1e7, 8)
    fit = fit_power_law(x, 5.0 * x ** -0.2, n_boot=0)
    assert fit.c == 0.0 and fit.b == pytest.approx(0.2, rel=1e-6) and fit.status == "ok"
