"""The compute-optimal allocation implied by a joint law, for training compute ``C = k N^p D``.

Compute is the recorded training FLOPs. For a DLRM they are not proportional to the parameter
count: a table's rows cost memory, not FLOPs (an embedding lookup costs its dimension, whatever
the rows), so ``C = k N D`` with one k would be wrong whenever the grid moves rows. The relation is
therefore fitted to the grid's own points, ``log(C / D) = log k + p log N`` by least squares, and
the allocation is derived for it: minimising ``L = E + A N^-alpha + B D^-beta`` on ``k N^p D = C``
gives

    N_opt = G (C / k)^a,  D_opt = C / (k N_opt^p),  a = beta / (alpha + p beta),  b = alpha / (alpha + p beta),
    G = (alpha A / (p beta B))^(1 / (alpha + p beta)),

so ``p a + b = 1``; with p = 1 it is Chinchilla's ``a = beta / (alpha + beta)`` and ``a + b = 1``.
A relation with p near 0 (parameters that cost no compute) has no compute-optimal N: the optimum
is as many parameters as memory allows.

Everything here works on arrays of joint-law parameters (E, A, alpha, B, beta) in the last axis, so
the same code gives the point estimate and every bootstrap resample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.score.fits.power_law import FitError

MIN_COST_EXPONENT = 0.1  # p below this: parameters (nearly) free in FLOPs, no compute-optimal split


@dataclass(frozen=True)
class FlopsRelation:
    """``C = k N^p D`` fitted to points (least squares in log space)."""

    k: float
    p: float
    max_rel_residual: float  # max |C_fitted / C - 1| over the points
    n_points: int

    def compute(self, n: ArrayLike, d: ArrayLike) -> NDArray[np.float64]:
        return self.k * np.asarray(n, dtype=np.float64) ** self.p * np.asarray(d, dtype=np.float64)


def fit_flops_relation(n: ArrayLike, d: ArrayLike, compute: ArrayLike) -> FlopsRelation:
    """k and p of ``C = k N^p D``; FitError when N takes fewer than 2 values or a value is not positive."""
    ns, ds, cs = (np.asarray(v, dtype=np.float64).ravel() for v in (n, d, compute))
    if not ((ns > 0).all() and (ds > 0).all() and (cs > 0).all()):
        raise FitError("FLOPs relation: N, D and the training FLOPs must be positive")
    if np.unique(ns).size < 2:
        raise FitError("FLOPs relation: N takes one value, so how FLOPs grow with N is not measured")
    y = np.log(cs / ds)
    design = np.stack([np.ones_like(ns), np.log(ns)], axis=1)
    (log_k, p), *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = np.exp(log_k + p * np.log(ns)) * ds
    return FlopsRelation(k=math.exp(log_k), p=float(p), max_rel_residual=float(np.max(np.abs(fitted / cs - 1.0))),
                         n_points=int(ns.size))


def split_exponents(params: NDArray, p: float) -> tuple[NDArray, NDArray]:
    """(a, b) of ``N_opt ~ C^a``, ``D_opt ~ C^b`` for parameter rows (..., 5) = (E, A, alpha, B, beta)."""
    alpha, beta = params[..., 2], params[..., 4]
    total = alpha + p * beta
    return beta / total, alpha / total


def optimum(params: NDArray, compute: float, relation: FlopsRelation) -> tuple[NDArray, NDArray, NDArray]:
    """(N_opt, D_opt, L at the optimum) at training compute `compute`, for parameter rows (..., 5)."""
    e, a_amp, alpha, b_amp, beta = (params[..., i] for i in range(5))
    p, k = relation.p, relation.k
    total = alpha + p * beta
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # in logs: the amplitudes of a resample can be large, their powers overflow
        log_n = (np.log(alpha * a_amp / (p * beta * b_amp)) + beta * math.log(compute / k)) / total
        log_d = math.log(compute / k) - p * log_n
        loss = e + a_amp * np.exp(-alpha * log_n) + b_amp * np.exp(-beta * log_d)
        return np.exp(log_n), np.exp(log_d), loss


def mean_returns(params: NDArray, n_range: tuple[float, float], d_range: tuple[float, float]
                 ) -> tuple[NDArray, NDArray]:
    """Mean drop of L per 10x of N over `n_range`, and per 10x of D over `d_range`, for parameter rows (..., 5).

    The law is additive, so the drop along N is the same at every D (and the other way round): what a
    curve along one axis of the grid measures as its return per decade.
    """
    a_amp, alpha, b_amp, beta = params[..., 1], params[..., 2], params[..., 3], params[..., 4]
    (n_lo, n_hi), (d_lo, d_hi) = n_range, d_range
    drop_n = a_amp * (n_lo ** -alpha - n_hi ** -alpha) / math.log10(n_hi / n_lo)
    drop_d = b_amp * (d_lo ** -beta - d_hi ** -beta) / math.log10(d_hi / d_lo)
    return drop_n, drop_d


def params_row(e: float, a: float, alpha: float, b: float, beta: float) -> NDArray:
    """One parameter row (E, A, alpha, B, beta), the layout of the joint fit's resamples."""
    return np.array([e, a, alpha, b, beta], dtype=np.float64)
