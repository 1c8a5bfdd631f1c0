"""The variable-projection solver of ``L = a' (x/x0)^-b + c``, vectorised over many weightings of the same points.

For a fixed exponent b the model is linear in (a', c), so the best (a', c >= 0) has a closed form
and only b is searched: a log-spaced grid, then golden-section refinement inside the best grid
cell. Each row of the weights is one fit (the point fit has one row of 1 / L^2, a bootstrap has one
row of resample counts / L^2 per resample), so 1,000 resamples cost one pass of array arithmetic.

The sum of squared residuals is computed from the residuals themselves, never as
``syy - a szy - c sy``: that form cancels catastrophically when the fit is good (sse << syy), its
rounding noise then decides the golden-section comparisons, and the result moves with the last
bits of the arithmetic (another CPU, another BLAS) by up to 1e-4 of an interval's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

B_MIN = 1e-6  # the exponent's lower bound: b -> 0 is a log-linear curve, not a power law
B_MAX = 4.0  # exponents above this are not a scaling law of recommendation quality: a bound is hit
B_GRID = np.geomspace(1e-3, B_MAX, 49)  # ratio 1.19 per step; golden search refines within
GOLDEN_STEPS = 24
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
_GRID_CHUNK = 2_000_000  # elements of the (rows, points, grid) residual array computed at once


def nnls2(s0: NDArray, sz: NDArray, szz: NDArray, sy: NDArray, szy: NDArray) -> tuple[NDArray, NDArray]:
    """Minimise sum v*(y - a*z - c)^2 over a, c >= 0 from weighted sums (all broadcastable arrays): (a, c).

    A convex quadratic on the quadrant: the free optimum if feasible, else the better edge (a = 0
    or c = 0). With y > 0 and z > 0 each edge's own optimum is positive; the better edge is the one
    that explains more of the weighted sum of squares (a*szy vs c*sy, from the normal equations).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        det = s0 * szz - sz * sz
        a_free = (s0 * szy - sz * sy) / det
        c_free = (szz * sy - sz * szy) / det
        a_edge = szy / szz  # c = 0
        c_edge = sy / s0  # a = 0
    free_ok = (det > 1e-12 * s0 * szz) & (a_free >= 0) & (c_free >= 0)
    use_a = ~free_ok & (a_edge * szy >= c_edge * sy)
    a = np.where(free_ok, a_free, np.where(use_a, a_edge, 0.0))
    c = np.where(free_ok, c_free, np.where(use_a, 0.0, c_edge))
    return a, c


@dataclass(frozen=True)
class Weighted:
    """Weights v (K, n) of K fits of the same points y at u = log(x / x0), and their sums that do not depend on b."""

    v: NDArray
    y: NDArray  # (n,)
    vy: NDArray  # v * y
    u: NDArray  # (n,)
    s0: NDArray  # (K,)
    sy: NDArray

    @classmethod
    def of(cls, v: NDArray, y: NDArray, u: NDArray) -> Weighted:
        vy = v * y[None, :]
        return cls(v, y, vy, u, v.sum(1), vy.sum(1))

    def at(self, b: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Best (a', c, sse) for one exponent per row, b (K,)."""
        z = np.exp(-b[:, None] * self.u[None, :])  # (K, n)
        vz = self.v * z
        a, c = nnls2(self.s0, vz.sum(1), np.einsum("kn,kn->k", vz, z), self.sy, np.einsum("kn,kn->k", self.vy, z))
        r = self.y[None, :] - a[:, None] * z - c[:, None]
        return a, c, np.einsum("kn,kn->k", self.v * r, r)

    def grid(self) -> NDArray:
        """Profile sse over the b grid: (K, G), in chunks of rows that keep the residual array small."""
        z = np.exp(-np.outer(self.u, B_GRID))  # (n, G)
        rows = max(1, _GRID_CHUNK // (z.size or 1))
        out = []
        for start in range(0, self.v.shape[0], rows):
            v, vy = self.v[start:start + rows], self.vy[start:start + rows]
            s0, sy = self.s0[start:start + rows, None], self.sy[start:start + rows, None]
            a, c = nnls2(s0, v @ z, v @ (z * z), sy, vy @ z)  # (k, G)
            r = self.y[None, :, None] - a[:, None, :] * z[None, :, :] - c[:, None, :]  # (k, n, G)
            out.append(np.einsum("kn,kng->kg", v, r * r))
        return np.concatenate(out, axis=0)


def solve(weighted: Weighted) -> NDArray:
    """Variable-projection fit of each weight row: (K, 3) of (a', b, c) in the x/x0 scale."""
    sse = weighted.grid()
    best = np.argmin(np.where(np.isfinite(sse), sse, np.inf), axis=1)
    lo = B_GRID[np.maximum(best - 1, 0)]
    hi = B_GRID[np.minimum(best + 1, B_GRID.size - 1)]
    # golden-section search for the minimum of the profile inside the bracketing grid cells: each
    # step keeps one interior point and evaluates one new one (per row, on either side)
    m1, m2 = hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo)
    f1, f2 = weighted.at(m1)[2], weighted.at(m2)[2]
    for _ in range(GOLDEN_STEPS):
        left = f1 <= f2  # the minimum is in [lo, m2]: drop (m2, hi]
        hi, lo = np.where(left, m2, hi), np.where(left, lo, m1)
        kept_point, kept_value = np.where(left, m1, m2), np.where(left, f1, f2)
        new_point = np.where(left, hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo))
        new_value = weighted.at(new_point)[2]
        m1, f1 = np.where(left, new_point, kept_point), np.where(left, new_value, kept_value)
        m2, f2 = np.where(left, kept_point, new_point), np.where(left, kept_value, new_value)
    b = (lo + hi) / 2
    a, c, _ = weighted.at(b)
    return np.stack([a, b, c], axis=1)


def local_minima(sse: NDArray, k: int) -> list[int]:
    """Indices of the k lowest local minima of a 1-D profile."""
    last = sse.size - 1
    minima = [i for i in range(sse.size)
              if (i == 0 or sse[i] <= sse[i - 1]) and (i == last or sse[i] <= sse[i + 1])]
    return sorted(minima, key=lambda i: sse[i])[:k]
