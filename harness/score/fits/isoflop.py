"""The compute-optimal frontier measured without the joint law: IsoFLOP profiles (Chinchilla's approach 2).

The points of an N x D grid are grouped by training compute: sorted by log10 C, a bucket holds
the points within half a grid step of its smallest (the grid step: the smallest median step, in
decades, between the distinct N or the distinct D; on a geometric grid with FLOPs ~ N D that
puts each anti-diagonal -- one compute budget, several splits -- in its own bucket). In a bucket,
L is fitted by a parabola in log N and another in log D; the bucket has an optimum when both open
upwards with their vertex strictly inside the bucket's range (a vertex at or beyond the edge means
the best split lies outside the grid: that bucket measures nothing). ``log N_opt`` and ``log D_opt``
of the buckets with an optimum are regressed on ``log C``: the slopes a and b of ``N_opt ~ C^a``,
``D_opt ~ C^b``, which need 3 such buckets. Unlike the joint law's split, ``a + b`` is not fixed by
construction here: each slope is measured from its own parabolas.

Intervals: the joint fit's resamples of the points (:func:`.joint.usable_counts`, the same draws)
as parabola weights, each resample's slopes from its buckets with an optimum (fewer than 3: the
resample is left out); the conditioning check of :mod:`.resamples` applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.score.fits.power_law import FitError
from harness.score.fits.records import DEFAULT_LEVEL, NoInterval
from harness.score.fits.resamples import Resamples, perturbed

MIN_BUCKETS = 3  # buckets with an optimum needed for a slope with a residual
MIN_ISOFLOP_BOOT = 20
QUANTITIES = ("a", "b", "a_plus_b")


@dataclass(frozen=True)
class Bucket:
    """One compute budget: its points, and the optimal N and D its IsoFLOP profiles put inside it."""

    members: tuple[int, ...]
    compute: float  # geometric mean of the members' C
    n_opt: float | None
    d_opt: float | None
    note: str  # why there is no optimum, or ''


@dataclass(frozen=True)
class IsoflopFrontier:
    buckets: tuple[Bucket, ...]
    a: float
    b: float
    level: float = DEFAULT_LEVEL
    resamples: Resamples | None = field(default=None, repr=False, compare=False)  # rows: (a, b)

    @property
    def n_optima(self) -> int:
        return sum(b.n_opt is not None for b in self.buckets)

    def interval_or_why(self, name: str) -> tuple[float, float] | NoInterval:
        """Interval of 'a', 'b' or 'a_plus_b', or why there is none."""
        if self.resamples is None:
            return "not_requested"
        if name == "a_plus_b":
            return self.resamples.interval_of(lambda rows: rows[:, 0] + rows[:, 1], self.a + self.b)
        return self.resamples.interval(QUANTITIES.index(name), getattr(self, name))


def grid_step(n: NDArray, d: NDArray) -> float:
    """The grid's step in decades: the smaller of the median steps between distinct N and distinct D."""
    steps = []
    for values in (n, d):
        distinct = np.unique(np.log10(values))
        if distinct.size > 1:
            steps.append(float(np.median(np.diff(distinct))))
    if not steps:
        raise FitError("IsoFLOP profiles: N and D each take one value: no grid")
    return min(steps)


def buckets_of(compute: NDArray, step: float) -> list[list[int]]:
    """Point indices grouped by compute: each bucket spans at most half a grid step of log10 C."""
    order = np.argsort(compute, kind="stable")
    logs = np.log10(compute)
    buckets: list[list[int]] = []
    start = -math.inf
    for index in order:
        if logs[index] - start > step / 2:
            buckets.append([])
            start = logs[index]
        buckets[-1].append(int(index))
    return buckets


def _vertex(u: NDArray, loss: NDArray, weights: NDArray) -> float | None:
    """The minimum of the weighted parabola of loss vs u, when it opens upwards strictly inside u's range."""
    drawn = weights > 0
    if np.unique(u[drawn]).size < 3:
        return None
    centre = float(np.mean(u[drawn]))
    x = u[drawn] - centre
    root = np.sqrt(weights[drawn])
    design = np.stack([np.ones_like(x), x, x * x], axis=1) * root[:, None]
    (_, c1, c2), *_ = np.linalg.lstsq(design, loss[drawn] * root, rcond=None)
    if c2 <= 0:
        return None
    vertex = -c1 / (2 * c2)
    return float(vertex + centre) if x.min() < vertex < x.max() else None


def _optimum(members: list[int], log_n: NDArray, log_d: NDArray, loss: NDArray, weights: NDArray
             ) -> tuple[float | None, float | None, str]:
    index = np.array(members)
    if np.unique(log_n[index][weights[index] > 0]).size < 3:
        return None, None, "fewer than 3 model sizes at this compute"
    n_opt = _vertex(log_n[index], loss[index], weights[index])
    d_opt = _vertex(log_d[index], loss[index], weights[index])
    if n_opt is None or d_opt is None:
        return None, None, "the best split lies at or beyond the edge of the grid (no interior minimum)"
    return n_opt, d_opt, ""


def _slopes(buckets: list[list[int]], log_n: NDArray, log_d: NDArray, log_c: NDArray, loss: NDArray,
            weights: NDArray) -> tuple[float, float] | None:
    """(a, b) from the buckets with an optimum, or None with fewer than MIN_BUCKETS of them."""
    rows = []
    for members in buckets:
        n_opt, d_opt, _ = _optimum(members, log_n, log_d, loss, weights)
        if n_opt is not None and d_opt is not None:
            rows.append((float(np.mean(log_c[members])), n_opt, d_opt))
    if len(rows) < MIN_BUCKETS:
        return None
    c, n_opt, d_opt = (np.array(column) for column in zip(*rows, strict=True))
    return float(np.polyfit(c, n_opt, 1)[0]), float(np.polyfit(c, d_opt, 1)[0])


def _rows(buckets: list[list[int]], log_n: NDArray, log_d: NDArray, log_c: NDArray, loss: NDArray,
          counts: NDArray) -> NDArray:
    found = [_slopes(buckets, log_n, log_d, log_c, loss, weights) for weights in counts]
    return np.array([row for row in found if row is not None]).reshape(-1, 2)


def isoflop_frontier(n: ArrayLike, d: ArrayLike, compute: ArrayLike, loss: ArrayLike, *,
                     counts: NDArray | None = None, level: float = DEFAULT_LEVEL) -> IsoflopFrontier:
    """The IsoFLOP frontier of points (N, D, C, L); `counts` (B, n): bootstrap resamples of the points.

    Raises FitError when fewer than 3 compute buckets have an optimum inside the grid.
    """
    ns, ds, cs, ls = (np.asarray(v, dtype=np.float64).ravel() for v in (n, d, compute, loss))
    if not ((ns > 0).all() and (ds > 0).all() and (cs > 0).all() and (ls > 0).all()):
        raise FitError("IsoFLOP profiles: N, D, C and L must be positive")
    log_n, log_d, log_c = np.log(ns), np.log(ds), np.log(cs)
    groups = buckets_of(cs, grid_step(ns, ds))
    ones = np.ones_like(ls)
    buckets = []
    for members in groups:
        n_opt, d_opt, note = _optimum(members, log_n, log_d, ls, ones)
        buckets.append(Bucket(tuple(members), float(np.exp(np.mean(log_c[members]))),
                              None if n_opt is None else math.exp(n_opt), None if d_opt is None else math.exp(d_opt),
                              note))
    slopes = _slopes(groups, log_n, log_d, log_c, ls, ones)
    if slopes is None:
        found = sum(b.n_opt is not None for b in buckets)
        raise FitError(f"the grid supports no IsoFLOP frontier: {found} of its {len(buckets)} compute buckets have "
                       f"their best split inside the grid (needs {MIN_BUCKETS}); the others have fewer than 3 "
                       "model sizes, or their best model at the edge of the grid")
    resamples = None
    if counts is not None and counts.shape[0] > 0:
        checks = tuple(_rows(groups, log_n, log_d, log_c, other, counts) for other in perturbed(ls))
        resamples = Resamples(_rows(groups, log_n, log_d, log_c, ls, counts), checks, level, MIN_ISOFLOP_BOOT)
    return IsoflopFrontier(tuple(buckets), slopes[0], slopes[1], level, resamples)
