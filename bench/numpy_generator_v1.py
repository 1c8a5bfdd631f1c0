"""The numpy planted-teacher generator of GENERATOR_VERSION 1, kept for bench/bench_data.py's
before/after comparison only: blocks of BLOCK_ROWS rows, each drawn from its own PCG64DXSM stream
(seeded by (seed, split, block)), Zipf ids by inversion with a guide table, numpy and float32 torch
arithmetic. reference/data/synthetic.py before the counter-based torch generator (see its git
history for the full description); what did not change is imported from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from scipy.optimize import brentq

# unchanged since version 1: the knobs, the keyed Philox streams of the teacher's parameters, the
# dense profile and the mixture weights
from reference.data.dense_profile import DENSE_PROFILE
from reference.data.synthetic import B_DENSE, B_LIN, B_PAIR, SyntheticConfig, keyed_philox

GENERATOR_VERSION = 1
BLOCK_ROWS = 1 << 15
TRAIN_STREAM, EVAL_STREAM, CALIBRATION_STREAM = 0, 1, 2
_TEACHER_KEY, _PERMUTATION_KEY, _DENSE_KEY = 100, 101, 102
CALIBRATION_ROWS = 1 << 17


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The random stream of one block of rows: a pure function of (seed, stream, block)."""
    return np.random.Generator(np.random.PCG64DXSM(np.random.SeedSequence([seed, stream, block])))


@dataclass(frozen=True)
class ZipfSampler:
    """Exact inverse-CDF sampling of ids whose frequency ranks r = 0..n-1 have P ∝ (r + 1)^-s.

    A guide table of M >= 4n buckets gives, for u in [j/M, (j+1)/M), the ranks that can hold the
    answer; most buckets hold one rank and give its id in one lookup, the rest are finished by a
    vectorised bisection. The result equals permutation[np.searchsorted(cdf, u, side="right")],
    about 6x faster.
    """

    cdf: np.ndarray          # [n] float64, cdf[-1] == 1
    guide: np.ndarray        # [M + 1] int32: smallest rank whose cdf exceeds j / M
    single: np.ndarray       # [M] int32: the id of bucket j's only rank, -1 if it spans several
    permutation: np.ndarray  # [n] int32: rank -> id

    @classmethod
    def build(cls, exponent: float, permutation: np.ndarray) -> ZipfSampler:
        n = permutation.shape[0]
        cdf = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -exponent)
        cdf /= cdf[-1]
        cdf[-1] = 1.0
        buckets = 1 << min(20, max(4, math.ceil(math.log2(4 * n))))
        guide = np.minimum(np.searchsorted(cdf, np.arange(buckets + 1) / buckets, side="right"), n - 1)
        guide = guide.astype(np.int32)
        single = np.where(guide[1:] == guide[:-1], permutation[guide[:-1]], -1).astype(np.int32)
        return cls(cdf, guide, single, permutation)

    def sample(self, u: np.ndarray) -> np.ndarray:
        """ids [N] int32 for uniforms u [N] float64 in [0, 1)."""
        buckets = self.single.shape[0]
        j = (u * buckets).astype(np.intp)
        ids = self.single[j]
        spans = np.flatnonzero(ids < 0)
        j = j[spans]
        lo, hi, target = self.guide[j], self.guide[j + 1], u[spans]
        while (lo < hi).any():  # invariant: the rank sought is in [lo, hi]
            mid = (lo + hi) >> 1
            right = self.cdf[mid] <= target
            lo = np.where(right, mid + 1, lo)
            hi = np.where(right, hi, mid)
        ids[spans] = self.permutation[lo]
        return ids


@dataclass
class Rows:
    """One block of generated rows, in the on-disk layout (torchrec's day_N arrays)."""

    dense: np.ndarray    # [n, num_dense] int32, raw counts (missing -> 0)
    missing: np.ndarray  # [n, num_dense] bool, which dense values were missing (for TSV export)
    sparse: np.ndarray   # [n, num_sparse] int32 ids < cardinality
    labels: np.ndarray   # [n, 1] int32 in {0, 1}
    probs: np.ndarray    # [n] float64, the teacher's click probability


@dataclass
class Teacher:
    """The planted model: per-feature Zipf samplers, id permutations and parameter tables."""

    config: SyntheticConfig
    bias: float = 0.0
    dense_mean: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    dense_std: np.ndarray = field(default_factory=lambda: np.ones(0, np.float32))

    @cached_property
    def samplers(self) -> list[ZipfSampler]:
        return [ZipfSampler.build(self.config.zipf_exponent, perm) for perm in self.permutations]

    @cached_property
    def permutations(self) -> list[np.ndarray]:
        """rank -> id, per feature (int32 [card])."""
        return [keyed_philox(self.config.seed, _PERMUTATION_KEY, f).permutation(card).astype(np.int32)
                for f, card in enumerate(self.config.cardinalities)]

    @cached_property
    def offsets(self) -> np.ndarray:
        """[F] first table row of each feature (int32 while the table has < 2^31 rows)."""
        starts = np.concatenate([[0], np.cumsum(self.config.cardinalities)[:-1]])
        return starts.astype(np.int32 if sum(self.config.cardinalities) < 2**31 else np.int64)

    @cached_property
    def table(self) -> np.ndarray:
        """[sum(card), 1 + rank] float32, row offset_f + id for id of feature f, such that the
        embedding-bag sum over an example's features, (s, u), gives lin + pair = s + |u|^2
        (column 0 folds the linear term and the -|v|^2 / 2 diagonal of the pairwise sum)."""
        cfg = self.config
        features, rank = len(cfg.cardinalities), cfg.teacher_rank
        k_pair = (rank * features * max(features - 1, 1) / 2) ** -0.5
        parts = []
        for f, card in enumerate(cfg.cardinalities):
            params = keyed_philox(cfg.seed, _TEACHER_KEY, f).standard_normal((card, 1 + rank), dtype=np.float32)
            w, v = params[:, 0], params[:, 1:]
            c = cfg.teacher_scale * (B_LIN * w / math.sqrt(features) - B_PAIR * k_pair * 0.5 * (v * v).sum(1))
            u = v * math.sqrt(cfg.teacher_scale * B_PAIR * k_pair * 0.5)
            parts.append(np.concatenate([c[:, None], u], axis=1))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    @cached_property
    def dense_weights(self) -> np.ndarray:
        a = keyed_philox(self.config.seed, _DENSE_KEY).standard_normal(self.config.num_dense)
        return (a / np.linalg.norm(a)).astype(np.float32)

    # ---------------------------------------------------------------------------- generation

    def draw(self, rng: np.random.Generator, n: int) -> tuple[Rows, np.ndarray]:
        """n rows from `rng` without labels, and their categorical logit terms [n] float64."""
        cfg = self.config
        u_cat = rng.random((len(cfg.cardinalities), n))
        u_dense = rng.random((n, cfg.num_dense), dtype=np.float32)
        u_missing = rng.random((n, cfg.num_dense), dtype=np.float32)
        ids = np.empty((len(cfg.cardinalities), n), dtype=np.int32)
        for f, sampler in enumerate(self.samplers):
            ids[f] = sampler.sample(u_cat[f])
        sparse = np.ascontiguousarray(ids.T)
        dense, missing = _dense_counts(u_dense, u_missing)
        rows = Rows(dense, missing, sparse, np.empty((n, 1), np.int32), np.empty(0))
        return rows, self._categorical_logit(sparse + self.offsets)

    def _categorical_logit(self, lookup: np.ndarray) -> np.ndarray:
        """s + |u|^2 from one embedding-bag sum over each example's table rows lookup [n, F]."""
        bags = torch.nn.functional.embedding_bag(torch.from_numpy(lookup), self._torch_table, mode="sum")
        return bags[:, 0].double().numpy() + bags[:, 1:].double().square().sum(1).numpy()

    @cached_property
    def _torch_table(self) -> torch.Tensor:
        return torch.from_numpy(self.table)

    def _dense_logit(self, dense: np.ndarray) -> np.ndarray:
        """teacher_scale * B_DENSE * sum_j a_j * standardised log(1 + max(x_j, 0)), [n] float64."""
        x = torch.from_numpy(dense).clamp_min(0).float().log1p_()
        weights = torch.from_numpy(self.dense_weights / self.dense_std)
        shift = float(np.dot(self.dense_mean, self.dense_weights / self.dense_std))
        scale = self.config.teacher_scale * B_DENSE
        return scale * ((x @ weights).double().numpy() - shift)

    def calibrate(self) -> Teacher:
        """Solve the dense standardisation and the bias on a fixed calibration sample."""
        rng = block_rng(self.config.seed, CALIBRATION_STREAM, 0)
        rows, z_cat = self.draw(rng, CALIBRATION_ROWS)
        x = np.log1p(np.maximum(rows.dense, 0).astype(np.float64))
        self.dense_mean = x.mean(0).astype(np.float32)
        self.dense_std = np.maximum(x.std(0), 1e-3).astype(np.float32)
        z = z_cat + self._dense_logit(rows.dense)
        target = self.config.ctr
        self.bias = float(brentq(lambda b: float(np.mean(_sigmoid(b + z))) - target, -60.0, 60.0, xtol=1e-10))
        return self

    def rows(self, stream: int, block: int, n: int) -> Rows:
        """Block `block` of a split (its first n rows; n <= BLOCK_ROWS), labelled."""
        rng = block_rng(self.config.seed, stream, block)
        rows, z_cat = self.draw(rng, BLOCK_ROWS)
        probs = _sigmoid(z_cat + self._dense_logit(rows.dense) + self.bias)
        labels = rng.random(BLOCK_ROWS) < probs
        return Rows(rows.dense[:n], rows.missing[:n], rows.sparse[:n],
                    labels[:n, None].astype(np.int32), probs[:n])


def _dense_counts(u_value: np.ndarray, u_missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heavy-tailed counts [n, D] int32 (log-logistic: floor(median * (u / (1 - u))^scale) - shift)
    and the mask of missing ones (stored as 0), from uniforms [n, D] float32."""
    profile = torch.tensor([DENSE_PROFILE[j % len(DENSE_PROFILE)] for j in range(u_value.shape[1])])
    median, scale, share_missing, shift = profile.T.float()
    u = torch.from_numpy(u_value)
    values = (median * torch.exp(scale * torch.log(u / (1.0 - u)))).floor_().sub_(shift).clamp_(max=2**31 - 1)
    missing = torch.from_numpy(u_missing) < share_missing
    return values.masked_fill_(missing, 0).to(torch.int32).numpy(), missing.numpy()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def build_teacher(config: SyntheticConfig) -> Teacher:
    """The calibrated teacher of a configuration (deterministic: the same in every process)."""
    return Teacher(config).calibrate()
