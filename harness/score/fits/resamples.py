"""Percentile bootstrap intervals, and the check that withholds the ill-conditioned ones.

Every bootstrap is made twice more from the same resamples (the same seed) with the losses
perturbed by one part in 10^10 (two fixed patterns): far below any measurement's precision, far
above the rounding differences between CPUs and BLAS builds. An interval end that moves by more
than ``ILL_CONDITIONED`` (0.1%) of the interval's width under either perturbation (and by more than
``MAX_CONDITION`` times the perturbation, for an interval of zero width) depends on the last bits of
the arithmetic -- typically a percentile that falls between two clusters of
resamples, each a near-degenerate fit -- and would change from one machine to the next: it is
reported as ``ill_conditioned`` instead of as numbers (RULES.md SCORE-3, SCORE-8). Well-posed
intervals move by about 1e-8 of their width; the threshold sits five decades above that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from harness.score.fits.records import NoInterval

PERTURBATION = 1e-10  # relative change of the losses in the conditioning check
ILL_CONDITIONED = 1e-3  # an interval end moving by more than this fraction of the width is withheld ...
MAX_CONDITION = 1e4  # ... and by more than this many times the perturbation (a degenerate, zero-width interval)
# The resamples are refitted by the variable projection, which locates b to ~1e-6 and L to ~1e-7
# relative; the estimate by a least-squares polish. An interval end this close to the estimate is
# that difference, not data: the end is moved to the estimate (exact data then give [L, L]).
RESOLUTION = 1e-7


def resample_counts(n: int, n_boot: int, seed: int) -> NDArray:
    """How often each of `n` points is drawn in each of `n_boot` resamples with replacement: (n_boot, n) floats.

    Every bootstrap of the scorer draws its resamples here, so fits of the same points with the same
    seed see the same resamples (the joint fit and the empirical frontier, for one).
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def perturbed(losses: NDArray) -> list[NDArray]:
    """The losses under the two fixed perturbations of the conditioning check."""
    index = np.arange(losses.size)
    alternating = np.where(index % 2 == 0, 1.0, -1.0)
    ramp = np.linspace(-1.0, 1.0, losses.size) if losses.size > 1 else np.ones(1)
    return [losses * (1.0 + PERTURBATION * alternating), losses * (1.0 + PERTURBATION * ramp)]


@dataclass(frozen=True)
class Resamples:
    """A fit's parameters over its bootstrap resamples, and over the same resamples of the perturbed losses.

    ``rows`` (B, P): one row per usable resample; ``checks``: the same for each perturbation (the
    usable resamples may differ: percentiles are compared, not rows). ``min_rows``: fewer usable
    resamples than this and no interval is claimed.
    """

    rows: NDArray[np.float64]
    checks: tuple[NDArray[np.float64], ...]
    level: float
    min_rows: int

    @property
    def n(self) -> int:
        return int(self.rows.shape[0])

    def interval_of(self, values: Callable[[NDArray], NDArray], estimate: float
                    ) -> tuple[float, float] | NoInterval:
        """Percentile interval at `level` of ``values(rows)`` (one value per row), or why there is none.

        `estimate`: the point estimate of the same quantity (see ``RESOLUTION``).
        """
        if self.n < self.min_rows or any(c.shape[0] < self.min_rows for c in self.checks):
            return "too_few_resamples"
        ends = self._ends(values(self.rows))
        if not np.isfinite(ends).all():
            return "ill_conditioned"
        scale = float(np.max(np.abs(ends)))
        tolerance = max(ILL_CONDITIONED * (ends[1] - ends[0]), MAX_CONDITION * PERTURBATION * scale)
        for check in self.checks:
            moved = np.abs(self._ends(values(check)) - ends)
            if not (moved <= tolerance).all():  # NaN (a non-finite end) counts as moved
                return "ill_conditioned"
        lo, hi = float(ends[0]), float(ends[1])
        resolution = RESOLUTION * abs(estimate)
        if estimate < lo <= estimate + resolution:
            lo = estimate
        if estimate - resolution <= hi < estimate:
            hi = estimate
        return lo, hi

    def interval(self, column: int, estimate: float) -> tuple[float, float] | NoInterval:
        return self.interval_of(lambda rows: rows[:, column], estimate)

    def _ends(self, values: NDArray) -> NDArray:
        with np.errstate(invalid="ignore"):  # infinite values give NaN ends, which count as ill-conditioned
            return np.quantile(values, [(1 - self.level) / 2, (1 + self.level) / 2])
