"""Planted-teacher synthetic click logs shaped like Criteo, with a known Bayes-optimal quality.

Each example has `num_dense` heavy-tailed integer counts (missing values stored as 0, as DLRM and
torchrec fill them; a few features go negative like Criteo's I2) and one id per categorical
feature, drawn from a Zipf(s) law over frequency ranks (P(rank r) ∝ (r + 1)^-s, sampled exactly by
inversion with a guide table) and mapped to ids by a random permutation, so id 0 is not the most
frequent one (hashed ids are not ordered by frequency either). The label is Bernoulli(sigmoid(z)):

    z = bias + teacher_scale * (B_LIN * lin + B_PAIR * pair + B_DENSE * dense)
    lin   = sum_f w_f[id_f] / sqrt(F)                          per-id linear terms
    pair  = sum_{f<g} <v_f[id_f], v_g[id_g]> * k                rank-R dot interactions (as DLRM's)
    dense = sum_j a_j * standardised log(1 + max(x_j, 0))       the DLRM dense transform

with w, v ~ N(0, 1) per id and k = (R F (F-1) / 2)^-1/2, so each term has unit variance and the
logit's standard deviation is about 2.3 * teacher_scale; the bias is solved so that the mean CTR
is `ctr`. The teacher depends only on what is stored, so sigmoid(z) is the Bayes-optimal prediction
and its NE on the eval set is the irreducible error a scaling fit should approach.

Calibration (criteo_kaggle vocabularies capped at 100k, Zipf 1.1, rank 8; 229k eval rows): the
default knobs (seed 0, CTR 0.256, teacher_scale 1) give a Bayes-optimal eval NE of 0.598 (log loss
0.340, AUC 0.895); seed 7: 0.610; CTR 0.30: 0.606 (seed 7: 0.616, the dlrm-synthetic-scaling
workload). teacher_scale 0.5 / 1.5 / 2.0 give 0.83 / 0.45 / 0.36. A plain DLRM (dim 16, one pass,
Adagrad) on that workload reaches eval NE 0.943 / 0.879 / 0.865 / 0.855 / 0.844 after 125k / 250k
/ 500k / 1M / 2M rows: more data keeps helping, and the Bayes NE stays well below.

Determinism: rows come in blocks of BLOCK_ROWS; block b of a split is drawn from its own stream
(PCG64DXSM seeded by SeedSequence([seed, split, b])), so a data set is a pure function of the
knobs, a larger training set extends a smaller one, and generation can be cut into any chunks of
blocks and run in parallel. The teacher's parameters of id i of feature f are row i of a table
drawn by a counter-based Philox stream keyed by (seed, f): a pure function of (seed, f, i).
Memory: the teacher is held in memory (shared by the forked workers): (teacher_rank + 1) float32
and about 12 more bytes per id of every feature, plus Zipf guide tables of up to 8 MB per feature
(about 70 MB for the Kaggle vocabularies capped at 100k; about 1.7 GB uncapped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from scipy.optimize import brentq

from recscale.spec import DataSpec

GENERATOR_VERSION = 1
BLOCK_ROWS = 1 << 15
TRAIN_STREAM, EVAL_STREAM, CALIBRATION_STREAM = 0, 1, 2
_TEACHER_KEY, _PERMUTATION_KEY, _DENSE_KEY = 100, 101, 102
CALIBRATION_ROWS = 1 << 17
# Mixture of the three unit-variance terms; logit sd = teacher_scale * sqrt(1.2^2 + 1.8^2 + 0.8^2).
B_LIN, B_PAIR, B_DENSE = 1.2, 1.8, 0.8

# Criteo-Kaggle-like dense profile of I1..I13 (medians and missing shares as in train.txt):
# (median, log-logistic scale (tail index 1/scale), share missing, shift); value =
# floor(median * (u / (1 - u))^scale) - shift, so I2 goes down to -1; missing values are stored as 0.
DENSE_PROFILE: tuple[tuple[float, float, float, int], ...] = (
    (1.0, 0.8, 0.45, 0), (3.0, 0.8, 0.00, 1), (6.0, 0.8, 0.21, 0), (4.0, 0.6, 0.22, 0),
    (2800.0, 0.7, 0.03, 0), (30.0, 0.8, 0.22, 0), (3.0, 0.8, 0.04, 0), (8.0, 0.5, 0.0005, 0),
    (40.0, 0.7, 0.04, 0), (1.0, 0.5, 0.45, 0), (1.0, 0.6, 0.04, 0), (0.5, 0.8, 0.77, 0),
    (4.0, 0.6, 0.22, 0),
)


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything the generated rows depend on (the spec's data section minus sizes/fraction)."""

    seed: int
    ctr: float
    zipf_exponent: float
    teacher_rank: int
    teacher_scale: float
    cardinalities: tuple[int, ...]
    num_dense: int = 13

    @classmethod
    def from_data_spec(cls, data: DataSpec) -> SyntheticConfig:
        """From a workload's data section (source 'synthetic')."""
        knobs = data.synthetic
        if knobs is None:
            raise ValueError(f"data source {data.source!r} is not synthetic")
        return cls(seed=knobs.seed, ctr=knobs.ctr, zipf_exponent=knobs.zipf_exponent, teacher_rank=knobs.teacher_rank,
                   teacher_scale=knobs.teacher_scale, cardinalities=data.feature_cardinalities,
                   num_dense=data.num_dense)


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The random stream of one block of rows: a pure function of (seed, stream, block)."""
    return np.random.Generator(np.random.PCG64DXSM(np.random.SeedSequence([seed, stream, block])))


def keyed_philox(seed: int, *key: int) -> np.random.Generator:
    """A counter-based (Philox) stream keyed by (seed, *key)."""
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, *key])))


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
    and the mask of missing ones (stored as 0), from uniforms [n, D] float32 (torch: its vectorised
    exp/log are several times faster than numpy's here)."""
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
