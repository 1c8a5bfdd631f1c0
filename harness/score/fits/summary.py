"""Fits as records, each number rounded to what it means (RULES.md SCORE-8).

Point estimates keep ``FIT_DIGITS`` (6) significant digits -- machines agree on them to about 1e-8,
and no scaling law is known better than that -- or, when their interval is narrower than that
(exact data), the interval's step, so the estimate stays inside its interval. Interval ends are
rounded outward to 3 significant digits, or finer where that is coarser than 0.1-1% of the
interval's width: the Monte Carlo error of a percentile of 1,000 resamples is about 1% of the
width, and rounding outward never narrows an interval, so it still holds the point estimate it held.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from harness.score.fits.joint import ComputeOptimal, JointFit
from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import (
    ComputeOptimalSummary,
    ExtrapolationSummary,
    Interval,
    JointSummary,
    NoInterval,
    PowerLawSummary,
)

FIT_DIGITS = 6
INTERVAL_WIDTH_DIGITS = 3


def significant(value: float, digits: int = FIT_DIGITS) -> float:
    """`value` rounded to `digits` significant digits (non-finite values unchanged)."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def _step_exponent(lo: float, hi: float) -> int:
    """log10 of the rounding step of an interval: 0.1-1% of its width (hi > lo)."""
    return math.floor(math.log10(hi - lo)) - (INTERVAL_WIDTH_DIGITS - 1)


def _outward(value: float, exponent: int, up: bool) -> float:
    """`value` rounded down (or up) to a multiple of 10^exponent, with no more than 3 significant digits' step."""
    if value != 0:
        exponent = min(exponent, math.floor(math.log10(abs(value))) - (INTERVAL_WIDTH_DIGITS - 1))
    # the 1e-9 keeps a value that already lies on the step (up to the division's rounding) where it is
    scaled = value / 10.0**exponent
    return float(f"{math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9)}e{exponent}")


def round_outward(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) rounded down and up to 3 significant digits, or finer: to 0.1-1% of hi - lo (zero width: 6 digits)."""
    if not hi > lo:
        return significant(lo), significant(hi)
    exponent = _step_exponent(lo, hi)
    return _outward(lo, exponent, up=False), _outward(hi, exponent, up=True)


def round_estimate(value: float, ends: tuple[float, float] | None = None) -> float:
    """A point estimate to 6 significant digits, or to its interval's step when that is finer."""
    if ends is None or not ends[1] > ends[0] or not math.isfinite(value) or value == 0:
        return significant(value)
    exponent = min(_step_exponent(*ends), math.floor(math.log10(abs(value))) - (FIT_DIGITS - 1))
    return float(f"{round(value / 10.0**exponent)}e{exponent}")


def rounded_interval(ends: tuple[float, float]) -> Interval:
    lo, hi = round_outward(*ends)
    return Interval(lo=lo, hi=hi)


@dataclass(frozen=True)
class _Parameters:
    """Each parameter's rounded estimate, its rounded interval (or None) and why it has none."""

    values: dict[str, float]
    intervals: dict[str, Interval | None]
    why: dict[str, NoInterval]


def _parameters(values: dict[str, float], find: Callable[[str], tuple[float, float] | NoInterval]) -> _Parameters:
    intervals: dict[str, Interval | None] = {}
    why: dict[str, NoInterval] = {}
    rounded = {}
    for name, value in values.items():
        found = find(name)
        if isinstance(found, tuple):
            intervals[name], rounded[name] = rounded_interval(found), round_estimate(value, found)
        else:
            intervals[name], why[name], rounded[name] = None, found, significant(value)
    return _Parameters(rounded, intervals, why)


def summarize_fit(fit: PowerLawFit) -> PowerLawSummary:
    p = _parameters({"a": fit.a, "b": fit.b, "c": fit.c}, fit.interval_or_why)
    ex = fit.extrapolation
    return PowerLawSummary(
        status=fit.status, status_note=fit.status_note, a=p.values["a"], b=p.values["b"], c=p.values["c"],
        a_ci=p.intervals["a"], b_ci=p.intervals["b"], c_ci=p.intervals["c"],
        no_interval=p.why,  # type: ignore[arg-type]
        level=fit.level, n_points=fit.n_points, n_distinct=fit.n_distinct, x_min=fit.x_min, x_max=fit.x_max,
        rms_rel_residual=significant(fit.rms_rel_residual, 3), b_at_bound=fit.b_at_bound, n_boot=fit.n_boot,
        n_boot_valid=fit.n_boot_valid,
        extrapolation=None if ex is None else ExtrapolationSummary(
            fit_x_max=ex.fit_x_max, held_x=list(ex.held_x), observed=list(ex.observed),
            predicted=[significant(v) for v in ex.predicted], rel_error=[significant(v) for v in ex.rel_error],
            max_abs_rel_error=significant(ex.max_abs_rel_error)),
        extrapolation_note=fit.extrapolation_note, notes=list(fit.notes),
        return_per_decade=significant(fit.return_per_decade()),
        return_per_decade_at_max=significant(fit.return_per_decade_at_max()),
    )


def _compute_optimal(optimal: ComputeOptimal | None) -> ComputeOptimalSummary | None:
    if optimal is None:
        return None
    return ComputeOptimalSummary(a_n=significant(optimal.a_n), b_d=significant(optimal.b_d),
                                 g=significant(optimal.g), k=None if optimal.k is None else significant(optimal.k),
                                 p=significant(optimal.p))


def summarize_joint(fit: JointFit, k: float | None, p: float = 1.0) -> JointSummary:
    """The joint fit as a record; its compute-optimal split (for FLOPs = k N^p D) only when it is a law."""
    params = _parameters({"e": fit.e, "alpha": fit.alpha, "beta": fit.beta}, fit.interval_or_why)
    return JointSummary(
        status=fit.status, status_note=fit.status_note, e=params.values["e"], a=significant(fit.a),
        alpha=params.values["alpha"], b=significant(fit.b), beta=params.values["beta"],
        e_ci=params.intervals["e"], alpha_ci=params.intervals["alpha"], beta_ci=params.intervals["beta"],
        no_interval=params.why,  # type: ignore[arg-type]
        n_points=fit.n_points, n_boot=fit.n_boot, n_boot_converged=fit.n_boot_converged,
        rms_log_residual=significant(fit.rms_log_residual, 3),
        compute_optimal=_compute_optimal(fit.compute_optimal(k, p)) if fit.status == "ok" else None,
    )
