"""Scaling-law fits: power law plus constant, with bootstrap intervals and an extrapolation check.

``L(x) = a * x**(-b) + c`` (a >= 0, b > 0, c >= 0) is fitted by least squares on *relative*
residuals ``(L_hat - L) / L``, which equal log-space residuals ``log L_hat - log L`` to first
order: every point weighs by its relative error, so a curve that spans a decade of L is not
dominated by its largest values. The fit is a variable projection: for a fixed exponent b the
model is linear in (a, c), so the best (a, c >= 0) has a closed form and only b is searched
(a log-spaced grid, then golden-section refinement inside the best grid cell). The point estimate
is then polished by ``scipy.optimize.least_squares`` (bounded trust region) from the best local
minima of that profile (several initialisations), which guards against a grid artefact.

Bootstrap intervals resample the points with replacement (multinomial counts as weights) and
refit every resample by the same variable projection, vectorised over resamples: 1,000 resamples
of a 20-point curve take a few milliseconds. Percentile intervals, fixed seed.

The joint Chinchilla fit lives in :mod:`harness.score.joint`.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

N_PARAMS = 3
B_MAX = 4.0  # exponents above this are not a scaling law of recommendation quality: a bound is hit
_B_GRID = np.geomspace(1e-3, B_MAX, 49)  # ratio 1.19 per step; golden search refines within
_GOLDEN_STEPS = 24  # brackets shrink 0.618^24 ~ 1e-5: b to ~1e-6 (the point fit is then polished)
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
DEFAULT_BOOT = 1000
DEFAULT_LEVEL = 0.95
MIN_VALID_BOOT = 100  # fewer usable resamples than this and no interval is claimed


class FitError(ValueError):
    """The data cannot support the fit (too few points, flat, non-finite, non-positive)."""


@functools.cache
def _blas_controller() -> object | None:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # without it the fits are right, only slower on a busy machine
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: the fits' matrices are tiny, and waking OpenBLAS's thread pool for
    each of L-BFGS-B's thousands of small calls costs 10-30x the work on a shared 2-core machine."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):  # type: ignore[attr-defined]
        yield


# ----------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Extrapolation:
    """Refit without the largest x values, predict them: ``rel_error = (predicted - observed) / observed``."""

    fit_x_max: float
    held_x: tuple[float, ...]
    observed: tuple[float, ...]
    predicted: tuple[float, ...]
    rel_error: tuple[float, ...]

    @property
    def max_abs_rel_error(self) -> float:
        return max(abs(e) for e in self.rel_error)


@dataclass(frozen=True)
class PowerLawFit:
    """A fitted ``a * x**(-b) + c``; ``boot`` holds the resampled (a, b, c) rows, shape (n_valid, 3)."""

    a: float
    b: float
    c: float
    x0: float  # internal scale: x is fitted as x / x0 (conditioning); a is reported in x's units
    x_min: float
    x_max: float
    n_points: int
    n_distinct: int
    rms_rel_residual: float
    b_at_bound: bool
    level: float = DEFAULT_LEVEL
    n_boot: int = 0
    boot: NDArray[np.float64] | None = field(default=None, repr=False, compare=False)
    extrapolation: Extrapolation | None = None
    extrapolation_note: str = ""
    notes: tuple[str, ...] = ()

    @property
    def n_boot_valid(self) -> int:
        return 0 if self.boot is None else int(self.boot.shape[0])

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """L at x (any shape)."""
        xs = np.asarray(x, dtype=np.float64)
        return self.a * np.power(xs, -self.b) + self.c

    def interval(self, name: str) -> tuple[float, float] | None:
        """Percentile bootstrap interval of a parameter ('a', 'b' or 'c'), or None without enough resamples."""
        if self.boot is None or self.n_boot_valid < MIN_VALID_BOOT:
            return None
        column = self.boot[:, "abc".index(name)]
        lo, hi = np.quantile(column, [(1 - self.level) / 2, (1 + self.level) / 2])
        return float(lo), float(hi)

    def predict_interval(self, x: float) -> tuple[float, float] | None:
        """Percentile bootstrap interval of L(x), or None without enough resamples."""
        if self.boot is None or self.n_boot_valid < MIN_VALID_BOOT:
            return None
        a, b, c = self.boot[:, 0], self.boot[:, 1], self.boot[:, 2]
        # a in x's units can be huge (x ~ 1e9): evaluate as a' * (x / x0)^-b to keep it finite.
        values = (a * self.x0 ** -b) * (x / self.x0) ** -b + c
        lo, hi = np.quantile(values, [(1 - self.level) / 2, (1 + self.level) / 2])
        return float(lo), float(hi)

    def return_per_decade(self) -> float:
        """Mean drop of the fitted L per 10x of x across the observed range (x_min .. x_max)."""
        if self.x_max <= self.x_min:
            return 0.0
        drop = float(self.predict(self.x_min) - self.predict(self.x_max))
        return drop / math.log10(self.x_max / self.x_min)

    def return_per_decade_at_max(self) -> float:
        """Local drop of the fitted L per 10x of x at the largest observed x: -dL/dlog10(x)."""
        return self.a * self.b * math.log(10.0) * self.x_max ** -self.b


# ----------------------------------------------------------------------------------- checks


def validate_xy(x: ArrayLike, y: ArrayLike, what: str = "data") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x, y as float arrays, or FitError saying what is wrong with them."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise FitError(f"{what}: x has {xs.size} values but y has {ys.size}")
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        raise FitError(f"{what}: {int(bad.sum())} point(s) are NaN or infinite (first at index {int(np.argmax(bad))})")
    if (xs <= 0).any():
        raise FitError(f"{what}: x must be positive for a power law, got {float(xs.min()):g}")
    if (ys <= 0).any():
        raise FitError(f"{what}: the loss must be positive (it is fitted by relative error), got {float(ys.min()):g}")
    distinct = np.unique(xs).size
    if distinct < N_PARAMS:
        raise FitError(f"{what}: {distinct} distinct x value(s) ({xs.size} points) cannot determine the "
                       f"{N_PARAMS} parameters a, b, c of a*x^-b+c; need at least {N_PARAMS}")
    if np.ptp(ys) <= 1e-9 * float(np.max(np.abs(ys))):
        raise FitError(f"{what}: the loss is flat ({float(ys[0]):g} at every x): no power law to fit")
    return xs, ys


# ----------------------------------------------------------------------- variable projection


def _nnls2(s0: NDArray, sz: NDArray, szz: NDArray, sy: NDArray, szy: NDArray, syy: NDArray
           ) -> tuple[NDArray, NDArray, NDArray]:
    """Minimise sum v*(y - a*z - c)^2 over a, c >= 0 from weighted sums (all broadcastable arrays).

    Returns (a, c, sse). A convex quadratic on the quadrant: the free optimum if feasible, else the
    better edge (a = 0 or c = 0). With y > 0 and z > 0 each edge's own optimum is positive, and at
    any of these least-squares optima sse = syy - a*szy - c*sy (the normal equations).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        det = s0 * szz - sz * sz
        a_free = (s0 * szy - sz * sy) / det
        c_free = (szz * sy - sz * szy) / det
        a_edge = szy / szz  # c = 0
        c_edge = sy / s0  # a = 0
    sse_free = syy - a_free * szy - c_free * sy
    sse_a = syy - a_edge * szy
    sse_c = syy - c_edge * sy
    free_ok = (det > 1e-12 * s0 * szz) & (a_free >= 0) & (c_free >= 0)
    use_a = ~free_ok & (sse_a <= sse_c)
    a = np.where(free_ok, a_free, np.where(use_a, a_edge, 0.0))
    c = np.where(free_ok, c_free, np.where(use_a, 0.0, c_edge))
    sse = np.where(free_ok, sse_free, np.where(use_a, sse_a, sse_c))
    return a, c, np.maximum(sse, 0.0)


@dataclass(frozen=True)
class _Weighted:
    """Weights v (K, n) of K fits of the same points, and their sums that do not depend on b."""

    v: NDArray
    vy: NDArray  # v * y
    u: NDArray  # (n,) log(x / x0)
    s0: NDArray  # (K,)
    sy: NDArray
    syy: NDArray

    @classmethod
    def of(cls, v: NDArray, y: NDArray, u: NDArray) -> _Weighted:
        vy = v * y[None, :]
        return cls(v, vy, u, v.sum(1), vy.sum(1), vy @ y)

    def at(self, b: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Best (a', c, sse) for one exponent per row, b (K,)."""
        z = np.exp(-b[:, None] * self.u[None, :])  # (K, n)
        vz = self.v * z
        return _nnls2(self.s0, vz.sum(1), np.einsum("kn,kn->k", vz, z), self.sy,
                      np.einsum("kn,kn->k", self.vy, z), self.syy)

    def grid(self) -> NDArray:
        """Profile sse over the b grid: (K, G)."""
        z = np.exp(-np.outer(self.u, _B_GRID))  # (n, G)
        s0, sy, syy = self.s0[:, None], self.sy[:, None], self.syy[:, None]
        return _nnls2(s0, self.v @ z, self.v @ (z * z), sy, self.vy @ z, syy)[2]


def _solve(weighted: _Weighted) -> NDArray:
    """Variable-projection fit of each weight row: (K, 3) of (a', b, c) in the x/x0 scale."""
    sse = weighted.grid()
    best = np.argmin(np.where(np.isfinite(sse), sse, np.inf), axis=1)
    lo = _B_GRID[np.maximum(best - 1, 0)]
    hi = _B_GRID[np.minimum(best + 1, _B_GRID.size - 1)]
    # golden-section search for the minimum of the profile inside the bracketing grid cells: each
    # step keeps one interior point and evaluates one new one (per row, on either side)
    m1, m2 = hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo)
    f1, f2 = weighted.at(m1)[2], weighted.at(m2)[2]
    for _ in range(_GOLDEN_STEPS):
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


def _local_minima(sse: NDArray, k: int) -> list[int]:
    """Indices of the k lowest local minima of a 1-D profile."""
    last = sse.size - 1
    minima = [i for i in range(sse.size)
              if (i == 0 or sse[i] <= sse[i - 1]) and (i == last or sse[i] <= sse[i + 1])]
    return sorted(minima, key=lambda i: sse[i])[:k]


def _polish(x_scaled: NDArray, y: NDArray, starts: list[NDArray]) -> NDArray:
    """Bounded least squares on relative residuals from several starts; the best (a', b, c)."""

    def residual(theta: NDArray) -> NDArray:
        return (theta[0] * x_scaled ** -theta[1] + theta[2] - y) / y

    def jacobian(theta: NDArray) -> NDArray:
        z = x_scaled ** -theta[1]
        return np.stack([z / y, -theta[0] * z * np.log(x_scaled) / y, 1.0 / y], axis=1)

    best, best_cost = starts[0], math.inf
    for start in starts:
        theta0 = np.clip(start, [0.0, 1e-6, 0.0], [np.inf, B_MAX, np.inf])
        result = least_squares(residual, theta0, jac=jacobian, bounds=([0.0, 1e-6, 0.0], [np.inf, B_MAX, np.inf]),
                               method="trf", x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12)
        if result.cost < best_cost:
            best, best_cost = result.x, result.cost
    return best


# --------------------------------------------------------------------------------- public API


def _bootstrap(xs: NDArray, ys: NDArray, u: NDArray, n_boot: int, seed: int) -> NDArray:
    """(n_valid, 3) of (a', b, c) over resamples that keep at least N_PARAMS distinct x values."""
    rng = np.random.default_rng(seed)
    n = xs.size
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # (B, n)
    _, group = np.unique(xs, return_inverse=True)
    onehot = np.zeros((n, int(group.max()) + 1))
    onehot[np.arange(n), group] = 1.0
    valid = ((counts @ onehot) > 0).sum(1) >= N_PARAMS
    counts = counts[valid]
    if counts.shape[0] == 0:
        return np.empty((0, 3))
    return _solve(_Weighted.of(counts / (ys * ys)[None, :], ys, u))


def _extrapolate(xs: NDArray, ys: NDArray, fraction: float) -> tuple[Extrapolation | None, str]:
    """Hold out the largest `fraction` of the distinct x values (at least one), refit, predict them."""
    distinct = np.unique(xs)
    n_hold = max(1, math.floor(fraction * distinct.size))
    if distinct.size - n_hold < N_PARAMS:
        return None, (f"not checked: holding out the largest of {distinct.size} distinct x values leaves "
                      f"{distinct.size - n_hold}, fewer than the {N_PARAMS} a fit needs")
    cut = distinct[-n_hold]
    keep = xs < cut
    try:
        part = fit_power_law(xs[keep], ys[keep], n_boot=0, extrapolate=False)
    except FitError as err:
        return None, f"not checked: the fit without the largest x failed: {err}"
    held = distinct[-n_hold:]
    observed = tuple(float(ys[xs == h].mean()) for h in held)
    predicted = tuple(float(part.predict(h)) for h in held)
    errors = tuple((p - o) / o for p, o in zip(predicted, observed, strict=True))
    return Extrapolation(float(distinct[-n_hold - 1]), tuple(map(float, held)), observed, predicted, errors), ""


def fit_power_law(x: ArrayLike, y: ArrayLike, *, n_boot: int = DEFAULT_BOOT, seed: int = 0,
                  level: float = DEFAULT_LEVEL, extrapolate: bool = True, holdout_fraction: float = 0.2,
                  what: str = "data") -> PowerLawFit:
    """Fit ``L = a * x**(-b) + c`` to points (x, L); x, L of shape (n,).

    n_boot resamples give percentile intervals at `level` (0 for none). With `extrapolate`, the
    largest `holdout_fraction` of the distinct x values (at least one) is held out, the rest refitted
    and the held-out points predicted. Raises FitError on data that cannot support the fit, or when
    the best fit is flat (a = 0: L does not fall with x).
    """
    xs, ys = validate_xy(x, y, what)
    with single_threaded_blas():
        return _fit(xs, ys, n_boot=n_boot, seed=seed, level=level, extrapolate=extrapolate,
                    holdout_fraction=holdout_fraction, what=what)


def _fit(xs: NDArray, ys: NDArray, *, n_boot: int, seed: int, level: float, extrapolate: bool,
         holdout_fraction: float, what: str) -> PowerLawFit:
    x0 = float(np.exp(np.mean(np.log(np.unique(xs)))))  # geometric centre of the distinct x values
    x_scaled = xs / x0
    u = np.log(x_scaled)
    weighted = _Weighted.of((1.0 / (ys * ys))[None, :], ys, u)
    sse = weighted.grid()[0]
    starts = [_solve(weighted)[0]]
    for index in _local_minima(np.where(np.isfinite(sse), sse, np.inf), 2):
        a, c, _ = weighted.at(np.array([_B_GRID[index]]))
        starts.append(np.array([a[0], _B_GRID[index], c[0]]))
    a_s, b, c = _polish(x_scaled, ys, starts)
    if a_s <= 1e-12 * float(np.max(ys)):
        raise FitError(f"{what}: the loss does not fall with x (best fit is flat, a = 0): no power law to fit")
    residual = (a_s * x_scaled ** -b + c - ys) / ys
    distinct = int(np.unique(xs).size)
    notes = []
    boot = None
    if distinct <= N_PARAMS:
        # as many x values as parameters: the curve passes through every point and every resample
        # that can be fitted is the same data, so a bootstrap would claim a zero-width interval
        notes.append(f"exactly determined ({distinct} distinct x for {N_PARAMS} parameters): no intervals")
    elif n_boot > 0:
        scaled = _bootstrap(xs, ys, u, n_boot, seed)
        boot = np.stack([scaled[:, 0] * x0 ** scaled[:, 1], scaled[:, 1], scaled[:, 2]], axis=1)
        if boot.shape[0] < MIN_VALID_BOOT:
            notes.append(f"only {boot.shape[0]} of {n_boot} resamples could be fitted: no intervals")
    if b >= B_MAX * (1 - 1e-6):
        notes.append(f"the exponent hit its bound b = {B_MAX:g}: not a usable law over this range of x "
                     "(a step, or x spans too little)")
    extrapolation, note = _extrapolate(xs, ys, holdout_fraction) if extrapolate else (None, "")
    return PowerLawFit(
        a=float(a_s * x0**b), b=float(b), c=float(c), x0=x0, x_min=float(xs.min()), x_max=float(xs.max()),
        n_points=int(xs.size), n_distinct=distinct,
        rms_rel_residual=float(np.sqrt(np.mean(residual**2))), b_at_bound=bool(b >= B_MAX * (1 - 1e-6)),
        level=level, n_boot=n_boot if boot is not None else 0, boot=boot, extrapolation=extrapolation,
        extrapolation_note=note, notes=tuple(notes),
    )
