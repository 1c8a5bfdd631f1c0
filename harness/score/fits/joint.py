"""The joint law ``L(N, D) = E + A / N**alpha + B / D**beta``, fitted as Chinchilla's approach 3.

Hoffmann et al. 2022 (arXiv 2203.15556, section 3.3 and appendix D.2): with ``A = exp(a)``,
``B = exp(b)``, ``E = exp(e)`` the prediction is ``log L_hat = LSE(a - alpha log N, b - beta log D, e)``
and the fit minimises ``sum_i Huber_delta(log L_hat_i - log L_i)`` with delta = 1e-3 by L-BFGS(-B),
started from a grid of initialisations (alpha, beta in {0, 0.5, .., 2}, e in {-1, -.5, .., 1},
a, b in {0, 5, .., 25}). Chinchilla runs L-BFGS from every grid point; here the objective is
evaluated on the whole grid at once (vectorised) and L-BFGS-B runs from the best `n_starts` of
them, which finds the same optimum on well-posed data at a fraction of the cost. A fit whose
L-BFGS-B run did not converge, or whose exponent sits on a bound of [0, 10], is returned with that
status: reported, never quoted as a law, and not resampled. Bootstrap intervals use the resamples
whose refit converged, and are withheld when ill-conditioned (:mod:`.resamples`).

The bootstrap resamples the points (each point is the mean of its runs, so a resampled point
brings its runs with it); a resample that keeps fewer than 3 distinct N or D, or fewer than 5
distinct points, cannot determine the law and is not refitted.

Given compute ``C = k N^p D``, minimising L gives ``N_opt = G (C/k)^a`` and ``D_opt = C / (k N_opt^p)``
with ``a = beta / (alpha + p beta)``, ``b = alpha / (alpha + p beta)`` and
``G = (alpha A / (p beta B))^(1 / (alpha + p beta))`` (:mod:`.allocation`; p = 1 is Chinchilla's).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from harness.score.fits.allocation import MIN_COST_EXPONENT, params_row, split_exponents
from harness.score.fits.blas import fit_blas_threads
from harness.score.fits.power_law import FitError
from harness.score.fits.records import DEFAULT_LEVEL, FitStatus, NoInterval
from harness.score.fits.resamples import Resamples, perturbed, resample_counts

HUBER_DELTA = 1e-3
N_JOINT_PARAMS = 5
MIN_JOINT_BOOT = 20  # fewer converged resamples than this and no interval is claimed
VANISHING = 1e-4  # a term below this fraction of L at every point is not measured (seeds differ by ~1e-3)
NAMES = ("e", "a", "alpha", "b", "beta")  # the columns of the resample rows
_EXPONENT_BOUNDS = (0.0, 10.0)
_EXP_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
_E_GRID = (-1.0, -0.5, 0.0, 0.5, 1.0)
_AB_GRID = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
_BOUNDS = [(None, None), (None, None), (None, None), _EXPONENT_BOUNDS, _EXPONENT_BOUNDS]  # a, b, e, alpha, beta


@dataclass(frozen=True)
class ComputeOptimal:
    """The compute-optimal split implied by a joint fit, for ``C = k N^p D``."""

    a_n: float  # N_opt ~ C^a_n
    b_d: float  # D_opt ~ C^b_d
    g: float
    k: float | None  # C = k N^p D (None: unknown, then C is in units of k)
    p: float = 1.0

    def n_opt(self, compute: float) -> float:
        return self.g * (compute / (self.k or 1.0)) ** self.a_n

    def d_opt(self, compute: float) -> float:
        return compute / (self.k or 1.0) / self.n_opt(compute) ** self.p


@dataclass(frozen=True)
class JointFit:
    e: float
    a: float  # A
    alpha: float
    b: float  # B
    beta: float
    n_points: int
    loss: float  # the Huber objective at the optimum
    rms_log_residual: float
    status: FitStatus = "ok"
    status_note: str = ""
    level: float = DEFAULT_LEVEL
    n_boot: int = 0
    resamples: Resamples | None = field(default=None, repr=False, compare=False)  # rows: E, A, alpha, B, beta
    no_resamples: NoInterval = "not_requested"  # why `resamples` is None

    @property
    def n_boot_converged(self) -> int:
        return 0 if self.resamples is None else self.resamples.n

    def predict(self, n: ArrayLike, d: ArrayLike) -> NDArray[np.float64]:
        ns, ds = np.asarray(n, dtype=np.float64), np.asarray(d, dtype=np.float64)
        return self.e + self.a * ns ** -self.alpha + self.b * ds ** -self.beta

    def interval_or_why(self, name: str) -> tuple[float, float] | NoInterval:
        """Percentile bootstrap interval of 'e', 'a', 'alpha', 'b' or 'beta', or why there is none."""
        if self.resamples is None:
            return self.no_resamples
        return self.resamples.interval(NAMES.index(name), getattr(self, name))

    def interval(self, name: str) -> tuple[float, float] | None:
        found = self.interval_or_why(name)
        return found if isinstance(found, tuple) else None

    def params_row(self) -> NDArray[np.float64]:
        """(E, A, alpha, B, beta): the layout of the resample rows."""
        return params_row(self.e, self.a, self.alpha, self.b, self.beta)

    def compute_optimal(self, k: float | None = None, p: float = 1.0) -> ComputeOptimal | None:
        """The split for ``C = k N^p D``; None when a term is flat (exponent or amplitude 0: no optimum to
        split) or N costs (nearly) no compute (p below MIN_COST_EXPONENT: no compute-optimal N)."""
        if self.alpha <= 0 or self.beta <= 0 or self.a <= 0 or self.b <= 0 or p < MIN_COST_EXPONENT:
            return None
        a_n, b_d = split_exponents(self.params_row(), p)
        g = (self.alpha * self.a / (p * self.beta * self.b)) ** (1.0 / (self.alpha + p * self.beta))
        return ComputeOptimal(a_n=float(a_n), b_d=float(b_d), g=g, k=k, p=p)


def _logsumexp(terms: NDArray) -> NDArray:
    """log(sum(exp(terms), axis=0)) for terms (3, ...), stable; scipy's is slow on tiny arrays."""
    top = terms.max(axis=0)
    return top + np.log(np.exp(terms - top).sum(axis=0))


def _objective(theta: NDArray, log_n: NDArray, log_d: NDArray, log_l: NDArray, weights: NDArray
               ) -> tuple[float, NDArray]:
    """Weighted Huber loss of log L and its gradient; theta = (a, b, e, alpha, beta)."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])  # (3, n)
    pred = _logsumexp(terms)
    share = np.exp(terms - pred)  # softmax: d pred / d (a, b, e)
    r = pred - log_l
    small = np.abs(r) <= HUBER_DELTA
    loss = np.where(small, 0.5 * r * r, HUBER_DELTA * (np.abs(r) - 0.5 * HUBER_DELTA))
    dr = weights * np.clip(r, -HUBER_DELTA, HUBER_DELTA)
    grad = np.array([dr @ share[0], dr @ share[1], dr @ share[2],
                     -(dr * share[0]) @ log_n, -(dr * share[1]) @ log_d])
    return float(weights @ loss), grad


def _grid_losses(grid: NDArray, log_n: NDArray, log_d: NDArray, log_l: NDArray) -> NDArray:
    """Huber loss of every grid row (G, 5) at once: (G,)."""
    a, b, e, alpha, beta = (grid[:, i:i + 1] for i in range(5))
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, (grid.shape[0], log_n.size))])
    r = _logsumexp(terms) - log_l
    return np.where(np.abs(r) <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (np.abs(r) - 0.5 * HUBER_DELTA)).sum(1)


def _minimise(start: NDArray, log_n: NDArray, log_d: NDArray, log_l: NDArray, weights: NDArray
              ) -> tuple[NDArray, float, bool, str]:
    """One L-BFGS-B run: (theta, objective, converged, the optimiser's message)."""
    result = minimize(_objective, start, args=(log_n, log_d, log_l, weights), jac=True, method="L-BFGS-B",
                      bounds=_BOUNDS, options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10})
    return result.x, float(result.fun), bool(result.success), str(result.message)


def validate_joint(n: ArrayLike, d: ArrayLike, loss: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    ns, ds, ls = (np.asarray(v, dtype=np.float64).ravel() for v in (n, d, loss))
    if not ns.size == ds.size == ls.size:
        raise FitError(f"joint fit: N, D and L have {ns.size}, {ds.size} and {ls.size} values")
    if not (np.isfinite(ns) & np.isfinite(ds) & np.isfinite(ls)).all():
        raise FitError("joint fit: N, D and L must be finite (NaN or infinite value given)")
    if (ns <= 0).any() or (ds <= 0).any() or (ls <= 0).any():
        raise FitError("joint fit: N, D and L must be positive (it is fitted in log space)")
    if ns.size < N_JOINT_PARAMS:
        raise FitError(f"joint fit: {ns.size} points cannot determine the {N_JOINT_PARAMS} parameters "
                       "E, A, alpha, B, beta; need at least 5")
    for name, values in (("N (parameters)", ns), ("D (training samples)", ds)):
        distinct = np.unique(values).size
        if distinct < 3:
            # its term then only sets the gap between <= 2 levels: one number for two parameters
            raise FitError(f"joint fit: {name} takes {distinct} distinct value(s); its amplitude and exponent "
                           "need at least 3")
    if np.ptp(ls) <= 1e-9 * float(ls.max()):
        raise FitError("joint fit: the loss is flat: no scaling law to fit")
    return ns, ds, ls


def fit_joint(n: ArrayLike, d: ArrayLike, loss: ArrayLike, *, n_starts: int = 4, n_boot: int = 0,
              seed: int = 0, level: float = DEFAULT_LEVEL) -> JointFit:
    """Fit ``L = E + A/N^alpha + B/D^beta`` to points (N, D, L) of shape (n,) each.

    L-BFGS-B runs from the best `n_starts` (>= 1) of the grid of initialisations. `n_boot` > 0
    resamples the points and refits each resample from the full-data optimum (one L-BFGS-B run
    each), for percentile intervals at `level`.
    """
    if n_starts < 1:
        raise ValueError(f"n_starts must be >= 1 (L-BFGS-B needs a start), got {n_starts}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    ns, ds, ls = validate_joint(n, d, loss)
    with fit_blas_threads():
        return _fit_joint(ns, ds, ls, n_starts=n_starts, n_boot=n_boot, seed=seed, level=level)


def _joint_status(theta: NDArray, converged: bool, message: str, log_n: NDArray, log_d: NDArray
                  ) -> tuple[FitStatus, str]:
    if not converged:
        return "not_converged", f"L-BFGS-B did not converge ({message}): not a usable law"
    a, b, e, alpha, beta = theta
    low, high = _EXPONENT_BOUNDS
    on_bound = [f"{name} = {value:g}" for name, value in (("alpha", alpha), ("beta", beta))
                if value <= low + 1e-6 or value >= high * (1 - 1e-6)]
    if on_bound:
        return "at_bound", (f"{' and '.join(on_bound)} on the bound of [{low:g}, {high:g}]: that term is not "
                            "measured over this range, not a usable law")
    # a term below VANISHING of L at every point has its amplitude at the bound 0: its exponent is not measured
    for name, term in (("A/N^alpha", a - alpha * log_n), ("B/D^beta", b - beta * log_d)):
        if float(np.max(term - np.logaddexp(e, term))) < math.log(VANISHING):
            return "at_bound", (f"the {name} term is below {VANISHING:g} of L at every point (its amplitude at "
                                "the bound 0): its exponent is not measured, not a usable law")
    return "ok", ""


def usable_counts(n: NDArray, d: NDArray, n_boot: int, seed: int) -> NDArray:
    """The bootstrap's resamples of the points (N, D) that can determine a joint law: (B', n) counts.

    Drawn by :func:`.resamples.resample_counts`; a resample with fewer than 3 distinct N or D, or
    fewer than 5 distinct points, is left out (what :func:`validate_joint` refuses for the data).
    """
    counts = resample_counts(n.size, n_boot, seed)
    drawn = counts > 0
    keep = drawn.sum(1) >= N_JOINT_PARAMS
    for values in (n, d):
        _, level = np.unique(values, return_inverse=True)
        onehot = np.zeros((values.size, int(level.max()) + 1))
        onehot[np.arange(values.size), level] = 1.0
        keep &= ((counts @ onehot) > 0).sum(1) >= 3
    return counts[keep]


def _boot_rows(best: NDArray, log_n: NDArray, log_d: NDArray, log_l: NDArray, counts: NDArray) -> NDArray:
    """(E, A, alpha, B, beta) of every resample whose refit converged: (n_converged, 5)."""
    rows = []
    for weights in counts:
        theta, _, converged, _ = _minimise(best, log_n, log_d, log_l, weights)
        if converged:
            rows.append([math.exp(theta[2]), math.exp(theta[0]), theta[3], math.exp(theta[1]), theta[4]])
    return np.array(rows).reshape(-1, len(NAMES))


def _fit_joint(ns: NDArray, ds: NDArray, ls: NDArray, *, n_starts: int, n_boot: int, seed: int, level: float
               ) -> JointFit:
    log_n, log_d, log_l = np.log(ns), np.log(ds), np.log(ls)
    grid = np.array(list(itertools.product(_AB_GRID, _AB_GRID, _E_GRID, _EXP_GRID, _EXP_GRID)))
    order = np.argsort(_grid_losses(grid, log_n, log_d, log_l), kind="stable")[:n_starts]
    ones = np.ones_like(log_l)
    best, best_loss, converged, message = grid[order[0]], math.inf, False, "no start"
    for start in grid[order]:
        theta, value, ok, text = _minimise(start, log_n, log_d, log_l, ones)
        if value < best_loss - 1e-15:
            best, best_loss, converged, message = theta, value, ok, text
    status, note = _joint_status(best, converged, message, log_n, log_d)
    resamples, no_resamples = None, "not_requested" if n_boot == 0 else "not_a_law"
    if n_boot > 0 and status == "ok":  # a fit that is no law is never quoted: its intervals are not made
        counts = usable_counts(ns, ds, n_boot, seed)
        rows = _boot_rows(best, log_n, log_d, log_l, counts)
        checks = tuple(_boot_rows(best, log_n, log_d, np.log(other), counts) for other in perturbed(ls))
        resamples = Resamples(rows, checks, level, MIN_JOINT_BOOT)
    a, b, e, alpha, beta = best
    pred = _logsumexp(np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)]))
    return JointFit(e=math.exp(e), a=math.exp(a), alpha=float(alpha), b=math.exp(b), beta=float(beta),
                    n_points=int(ns.size), loss=best_loss,
                    rms_log_residual=float(np.sqrt(np.mean((pred - log_l) ** 2))), status=status, status_note=note,
                    level=level, n_boot=n_boot if resamples is not None else 0, resamples=resamples,
                    no_resamples=no_resamples)


@dataclass(frozen=True)
class JointExtrapolation:
    """The joint law refitted without the points of largest N x D, predicting them."""

    held: tuple[int, ...]  # indices of the held-out points, largest N x D first
    observed: tuple[float, ...]
    predicted: tuple[float, ...]

    @property
    def rel_error(self) -> tuple[float, ...]:
        return tuple((p - o) / o for p, o in zip(self.predicted, self.observed, strict=True))

    @property
    def max_abs_rel_error(self) -> float:
        return max(abs(e) for e in self.rel_error)


def extrapolate_joint(n: ArrayLike, d: ArrayLike, loss: ArrayLike, *, fraction: float = 0.2, n_starts: int = 4
                      ) -> tuple[JointExtrapolation | None, str]:
    """Hold out the `fraction` of the points (at least one) with the largest N x D, refit, predict them.

    Returns (None, why) when the rest cannot be fitted or its fit is not a law.
    """
    ns, ds, ls = validate_joint(n, d, loss)
    n_hold = max(1, math.floor(fraction * ns.size))
    held = np.argsort(-(ns * ds), kind="stable")[:n_hold]
    keep = np.ones(ns.size, dtype=bool)
    keep[held] = False
    try:
        part = fit_joint(ns[keep], ds[keep], ls[keep], n_starts=n_starts)
    except FitError as err:
        return None, f"not checked: without the {n_hold} point(s) of largest N x D the rest cannot be fitted ({err})"
    if part.status != "ok":
        return None, f"not checked: the fit without the {n_hold} point(s) of largest N x D is not a law"
    predicted = part.predict(ns[held], ds[held])
    return JointExtrapolation(tuple(int(i) for i in held), tuple(float(v) for v in ls[held]),
                              tuple(float(v) for v in predicted)), ""
