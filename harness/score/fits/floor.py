"""Planted truth as a test of the method: does a curve's fitted floor approach the known Bayes-optimal loss?

On synthetic data the generator knows the Bayes-optimal loss of the eval set. A curve's fit
``L = a x^-b + c`` is refitted on growing prefixes of its range (its 3 smallest distinct x, then
4, ..., then all), so the report shows c against the decades measured, each with its bootstrap
interval, and the distance to the Bayes loss. The verdict is on the whole range:

* ``pinned``: c's interval lies within ``FLOOR_TOLERANCE`` (5%) of the Bayes loss;
* ``above`` / ``below``: c's interval lies entirely above / below the tolerance band around the
  Bayes loss (above: the curve levels off at an excess loss, e.g. a model too small to reach the
  floor; below: impossible for a true asymptote -- c is no floor over this range);
* ``cannot_pin``: no interval, a fit that is not a law, or an interval wider than the tolerance
  that holds the Bayes loss: the range measured does not locate the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from harness.score.fits.power_law import N_PARAMS, FitError, PowerLawFit, fit_power_law
from harness.score.fits.records import DEFAULT_FIT, FitSettings

FLOOR_TOLERANCE = 0.05  # relative distance to the Bayes loss that counts as "at the floor"
FloorVerdict = Literal["pinned", "above", "below", "cannot_pin"]


@dataclass(frozen=True)
class FloorStep:
    """The curve refitted on its smallest `n_distinct` distinct x values."""

    n_distinct: int
    x_min: float
    x_max: float
    fit: PowerLawFit | None
    error: str | None

    @property
    def decades(self) -> float:
        return math.log10(self.x_max / self.x_min)


def floor_by_range(x: ArrayLike, loss: ArrayLike, settings: FitSettings = DEFAULT_FIT, *, what: str = "data"
                   ) -> list[FloorStep]:
    """The fit on every prefix of the distinct x values with at least 3 of them, smallest range first."""
    xs, ys = np.asarray(x, dtype=np.float64).ravel(), np.asarray(loss, dtype=np.float64).ravel()
    distinct = np.unique(xs)
    steps = []
    for count in range(N_PARAMS, distinct.size + 1):
        keep = xs <= distinct[count - 1]
        try:
            fit, error = fit_power_law(xs[keep], ys[keep], n_boot=settings.n_boot, seed=settings.seed,
                                       level=settings.level, extrapolate=False, what=what), None
        except FitError as err:
            fit, error = None, str(err)
        steps.append(FloorStep(count, float(distinct[0]), float(distinct[count - 1]), fit, error))
    return steps


def floor_verdict(fit: PowerLawFit | None, floor: float, tolerance: float = FLOOR_TOLERANCE) -> FloorVerdict:
    """Where a curve's fitted c lies relative to the Bayes loss `floor` (see the module's docstring)."""
    if fit is None or fit.status != "ok":
        return "cannot_pin"
    interval = fit.interval("c")
    if interval is None:
        return "cannot_pin"
    lo, hi = interval
    band = (floor * (1 - tolerance), floor * (1 + tolerance))
    if band[0] <= lo and hi <= band[1]:
        return "pinned"
    if lo > band[1]:
        return "above"
    if hi < band[0]:
        return "below"
    return "cannot_pin"
