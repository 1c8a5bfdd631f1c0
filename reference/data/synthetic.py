"""Planted-teacher synthetic click logs shaped like Criteo, with a known Bayes-optimal quality.

Each example has `num_dense` heavy-tailed integer counts (missing values stored as 0, as DLRM and
torchrec fill them; a few features go negative like Criteo's I2) and one id per categorical
feature, drawn from a Zipf(s) law over frequency ranks (P(rank r) ∝ (r + 1)^-s, sampled exactly by
inversion: reference/data/zipf.py) and mapped to ids by a random permutation, so id 0 is not the
most frequent one (hashed ids are not ordered by frequency either). The label is Bernoulli(sigmoid(z)):

    z = bias + teacher_scale * (B_LIN * lin + B_PAIR * pair + B_DENSE * dense)
    lin   = sum_f w_f[id_f] / sqrt(F)                          per-id linear terms
    pair  = sum_{f<g} <v_f[id_f], v_g[id_g]> * k                rank-R dot interactions (as DLRM's)
    dense = sum_j a_j * standardised log(1 + max(x_j, 0))       the DLRM dense transform

with w, v ~ N(0, 1) per id and k = (R F (F-1) / 2)^-1/2, so each term has unit variance and the
logit's standard deviation is about 2.3 * teacher_scale; the bias is solved so that the mean CTR
is `ctr`. The teacher depends only on what is stored, so sigmoid(z) is the Bayes-optimal prediction
and its NE on the eval set is the irreducible error a scaling fit should approach.

Calibration (criteo_kaggle vocabularies capped at 100k, Zipf 1.1, rank 8; Bayes metrics of 2^20
eval rows, GENERATOR_VERSION 2): the default knobs (seed 0, CTR 0.256, teacher_scale 1) give a
Bayes-optimal eval NE of 0.600 (log loss 0.341, AUC 0.895); seeds 1 / 2 / 7: 0.596 / 0.594 / 0.610
(seed 7 is the study workloads' data: log loss 0.347, AUC 0.891; with 1M-row vocabularies, the
study-data-gpu shape: 0.615); CTR 0.30: 0.606 (seed 7: 0.616, the dlrm-synthetic-scaling workload).
teacher_scale 0.5 / 1.5 / 2.0 give 0.83 / 0.45 / 0.35. A plain DLRM (dim 16, one pass, Adagrad) on
that workload reaches eval NE 0.900 / 0.882 / 0.873 / 0.862 / 0.845 after 125k / 250k / 500k / 1M /
2M rows (seed 0, CPU, torchrec backend): more data keeps helping, and the Bayes NE stays well below.

Determinism: every random number of row r of split s is a word of reference/data/counter_hash.py,
a pure function of (seed, s, r, draw) computed exactly in int64 on any device. So a data set is a
pure function of the knobs, a larger training set extends a smaller one, and any row range can be
made directly, in any chunks, in parallel, on the CPU or a GPU, with the same ids, counts and
labels. What is not integer arithmetic is float64 (the Zipf inversion compares exact float64 cdf
values; the categorical logit is exact on teacher_table's grid; the dense counts and the dense and
sigmoid parts of the probability use log/exp, which a CPU's vectorised loop, its scalar remainder
and a GPU may round differently in the last bit): probabilities agree to a few ulps, and a count
or a label could only differ where a value falls within ~1e-13 of an integer or u within ~1e-16
of p (~1e-10 of the rows at most: not seen in 1M rows CPU against GPU). The teacher (its tables,
the dense standardisation, the bias) is built and calibrated on the CPU, the bias solved to 1e-14
and rounded to 2^-24, so every machine and device generates with the same one. Its parameters of
id i of feature f are row i of a table drawn by a counter-based Philox stream keyed by (seed, f):
a pure function of (seed, f, i). Draws of a row: ZIPF_HI + f and ZIPF_LO + f (a 53-bit uniform per
feature; the low word only where the Zipf guide needs it), DENSE + j (one 32-bit word per count:
reference/data/dense_profile.py), LABEL and LABEL + 1 (53 bits, compared with the probability).

API: `build_teacher(SyntheticConfig.from_data_spec(data))` once (seconds; on the CPU), then
`teacher.generate(split, start, count, device)` -> Rows (dense [n, D] int32 raw counts, sparse
[n, F] int32 ids, labels [n] int32, probs [n] float64) on that device: shards on the CPU
(reference/data/generate.py), or a run's rows straight on a GPU.

Memory: (teacher_rank + 1) float32 and 12 more bytes per id of every feature, plus Zipf bucket
tables of up to 8 MB per feature (about 115 MB in all for the Kaggle vocabularies capped at 100k,
1.7 GB uncapped), on the CPU and on each device used; generating, about 1.5 KB per row of a chunk
(CHUNK_ROWS) besides the rows returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from scipy.optimize import brentq

from recscale.spec import DataSpec
from reference.data.counter_hash import EPOCH_ROWS, StreamKey, uniform53, words
from reference.data.dense_profile import DenseCounts
from reference.data.zipf import ZipfTables

GENERATOR_VERSION = 2
TRAIN_STREAM, EVAL_STREAM, CALIBRATION_STREAM = 0, 1, 2
_TEACHER_KEY, _PERMUTATION_KEY, _DENSE_KEY = 100, 101, 102
_ZIPF_HI, _ZIPF_LO, _DENSE, _LABEL = 0x10000, 0x20000, 0x30000, 0x40000  # draw numbers (+ feature)
CALIBRATION_ROWS = 1 << 17
NORMAL_CLIP = 8.0  # the teacher's N(0, 1) parameters are clipped to +-8 (exceeded with probability 1e-15)
# Rows per step: a CPU's working set stays in its caches (and it hashes the draws in groups that fit
# its L2 cache); a GPU's stays a few GB.
CHUNK_ROWS = {"cpu": 1 << 15, "cuda": 1 << 21}
WORDS_PER_PASS = {"cpu": 1 << 16}
# Mixture of the three unit-variance terms; logit sd = teacher_scale * sqrt(1.2^2 + 1.8^2 + 0.8^2).
B_LIN, B_PAIR, B_DENSE = 1.2, 1.8, 0.8


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


def keyed_philox(seed: int, *key: int) -> np.random.Generator:
    """A counter-based (Philox) stream keyed by (seed, *key)."""
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, *key])))


@dataclass
class Rows:
    """Generated rows [n], on the device that made them."""

    dense: torch.Tensor            # [n, num_dense] int32, raw counts (missing -> 0)
    sparse: torch.Tensor           # [n, num_sparse] int32 ids < cardinality (int64 beyond 2^31 ids)
    labels: torch.Tensor           # [n] int32 in {0, 1}
    probs: torch.Tensor            # [n] float64, the teacher's click probability
    missing: torch.Tensor | None   # [n, num_dense] bool, which counts were missing (if asked for)


def teacher_table(config: SyntheticConfig) -> np.ndarray:
    """[sum(card), 1 + rank] float32, row offset_f + id for id of feature f, such that the sum over an
    example's features, (s, u), gives teacher_scale * (B_LIN * lin + B_PAIR * pair) = s + |u|^2
    (column 0 folds the linear term and the -|v|^2 / 2 diagonal of the pairwise sum).

    The teacher is this table. Its normal draws are clipped to +-NORMAL_CLIP (a draw beyond has
    probability 1e-15) and its columns rounded to power-of-two grids (s: 3e-5, u: 2e-6 for the
    Kaggle shape) fixed by the knobs alone, fine enough to change nothing a model could learn and
    coarse enough that every sum over a row's features is exact in float32, and the sum of the R
    squares exact in float64: the logit's categorical part is exact, in any summation order, on
    any device."""
    features, rank, scale = len(config.cardinalities), config.teacher_rank, config.teacher_scale
    k_pair = (rank * features * max(features - 1, 1) / 2) ** -0.5
    u_scale = math.sqrt(scale * B_PAIR * k_pair * 0.5)
    s_bound = scale * (B_LIN * NORMAL_CLIP / math.sqrt(features) + B_PAIR * k_pair * 0.5 * rank * NORMAL_CLIP**2)
    # grid units a sum may reach: float32 holds integers up to 2^24 exactly; R squares of at most
    # m^2 units^2 each stay exact in float64 while R m^2 <= 2^53
    s_step = _grid_step(s_bound, features, 2.0**24)
    u_step = _grid_step(u_scale * NORMAL_CLIP, features, min(2.0**24, math.floor(math.sqrt(2.0**53 / rank))))
    parts = []
    for f, card in enumerate(config.cardinalities):
        draws = keyed_philox(config.seed, _TEACHER_KEY, f).standard_normal((card, 1 + rank), dtype=np.float32)
        params = np.clip(draws, -NORMAL_CLIP, NORMAL_CLIP).astype(np.float64)
        w, v = params[:, 0], params[:, 1:]
        s = scale * (B_LIN * w / math.sqrt(features) - B_PAIR * k_pair * 0.5 * (v * v).sum(1))
        parts.append(np.concatenate([np.round(s / s_step)[:, None] * s_step, np.round(v * u_scale / u_step) * u_step],
                                    axis=1).astype(np.float32))
    return np.concatenate(parts)


def _grid_step(bound: float, terms: int, max_units: float) -> float:
    """The finest power-of-two step such that `terms` values in [-bound, bound], each rounded to it,
    sum to at most max_units steps."""
    return 2.0 ** -math.floor(math.log2((max_units / terms - 1) / bound))


@dataclass(frozen=True)
class _OnDevice:
    """The teacher's tables on one device."""

    zipf: ZipfTables
    dense: DenseCounts
    table: torch.Tensor          # [sum(card), 1 + rank] float32: teacher_table by rank position
    dense_weights: torch.Tensor  # [num_dense, 1] float64: teacher_scale * B_DENSE * a_j / std_j
    dense_shift: float           # sum_j dense_weights_j * mean_j


@dataclass
class Teacher:
    """The planted model: Zipf tables per feature, parameter table, calibrated dense weights and bias.

    Build with `build_teacher(config)` (on the CPU, so that every device gets the same calibration),
    then `generate(split, start, count, device)` any rows of a split on any device.
    """

    config: SyntheticConfig
    bias: float = 0.0
    dense_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [num_dense] float64
    dense_std: np.ndarray = field(default_factory=lambda: np.zeros(0))   # [num_dense] float64
    _devices: dict[torch.device, _OnDevice] = field(default_factory=dict, repr=False)

    @cached_property
    def permutations(self) -> list[np.ndarray]:
        """rank -> id, per feature (int32 [card], int64 beyond 2^31 ids)."""
        return [keyed_philox(self.config.seed, _PERMUTATION_KEY, f).permutation(card)
                .astype(np.int32 if card <= 2**31 else np.int64) for f, card in enumerate(self.config.cardinalities)]

    @cached_property
    def zipf(self) -> ZipfTables:
        """Every feature's Zipf tables, on the CPU."""
        return ZipfTables.build(self.config.zipf_exponent, self.permutations)

    @cached_property
    def ranked_table(self) -> np.ndarray:
        """teacher_table's rows by rank position (rank_offsets[f] + rank), not by id: the frequent
        ids' rows together, where the caches keep them."""
        by_id = teacher_table(self.config)
        starts = np.cumsum([0, *self.config.cardinalities[:-1]])
        return by_id[np.concatenate([perm + start for perm, start in zip(self.permutations, starts, strict=True)])]

    @cached_property
    def dense_weights(self) -> np.ndarray:
        """a [num_dense] float64, unit norm."""
        a = keyed_philox(self.config.seed, _DENSE_KEY).standard_normal(self.config.num_dense)
        return a / np.linalg.norm(a)

    def on(self, device: torch.device | str) -> _OnDevice:
        """The tables on `device`, moved there once (on the CPU: shared, not copied)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:  # "cuda" and "cuda:0" share one copy
            device = torch.device("cuda", torch.cuda.current_device())
        if device not in self._devices:
            cfg = self.config
            weights = np.zeros(cfg.num_dense)
            if self.dense_std.size:  # calibrated
                weights = cfg.teacher_scale * B_DENSE * self.dense_weights / self.dense_std
            self._devices[device] = _OnDevice(
                self.zipf.to(device), DenseCounts.build(cfg.num_dense, device),
                torch.from_numpy(self.ranked_table).to(device), torch.from_numpy(weights[:, None]).to(device),
                float(np.dot(self.dense_mean, weights)) if self.dense_std.size else 0.0)
        return self._devices[device]

    def generate(self, split: int, start: int, count: int, device: torch.device | str = "cpu",
                 missing: bool = False) -> Rows:
        """Rows [start, start + count) of a split (TRAIN_STREAM, EVAL_STREAM), labelled, on `device`.

        The same values for the same rows whatever the device, start and count. missing: also
        return which counts were missing (for a TSV export)."""
        if not self.dense_std.size:
            raise RuntimeError("the teacher is not calibrated: build it with build_teacher(config)")
        if start < 0 or count < 0:
            raise ValueError(f"rows [{start}, {start} + {count}) do not exist")
        tables = self.on(device)
        cfg, device = self.config, tables.table.device
        out = Rows(dense=torch.empty((count, cfg.num_dense), dtype=torch.int32, device=device),
                   sparse=torch.empty((count, len(cfg.cardinalities)), dtype=tables.zipf.permutation.dtype,
                                      device=device),
                   labels=torch.empty(count, dtype=torch.int32, device=device),
                   probs=torch.empty(count, dtype=torch.float64, device=device),
                   missing=torch.empty((count, cfg.num_dense), dtype=torch.bool, device=device) if missing else None)
        with _one_cpu_thread(device):
            self._fill(out, tables, split, start)
        return out

    def _fill(self, out: Rows, tables: _OnDevice, split: int, start: int) -> None:
        """Rows [start, start + len(out)) of a split into `out`, chunk by chunk (CHUNK_ROWS)."""
        device, count = tables.table.device, out.labels.numel()
        streams: dict[int, _Stream] = {}
        chunk, done = CHUNK_ROWS.get(device.type, CHUNK_ROWS["cuda"]), 0
        while done < count:
            epoch, offset = divmod(start + done, EPOCH_ROWS)
            n = min(chunk, count - done, EPOCH_ROWS - offset)
            if epoch not in streams:
                streams[epoch] = _Stream.of(self.config, split, epoch, device)
            drawn = _draw(tables, streams[epoch], torch.arange(offset, offset + n, device=device))
            probs = torch.sigmoid(drawn.logit + _dense_logit(tables, drawn.dense) + self.bias)
            rows = slice(done, done + n)
            out.dense[rows] = drawn.dense.T
            out.sparse[rows] = drawn.sparse
            out.labels[rows] = drawn.label_uniforms < probs
            out.probs[rows] = probs
            if out.missing is not None:
                torch.logical_not(drawn.present.T, out=out.missing[rows])
            done += n

    def calibrate(self) -> Teacher:
        """Solve the dense standardisation and the bias on a fixed calibration sample (on the CPU)."""
        tables, chunk, cpu = self.on("cpu"), CHUNK_ROWS["cpu"], torch.device("cpu")
        stream = _Stream.of(self.config, CALIBRATION_STREAM, 0, cpu)
        with _one_cpu_thread(cpu):
            parts = [_draw(tables, stream, torch.arange(first, min(first + chunk, CALIBRATION_ROWS)))
                     for first in range(0, CALIBRATION_ROWS, chunk)]
        dense, z_cat = torch.cat([p.dense for p in parts], dim=1), torch.cat([p.logit for p in parts])
        x = np.log1p(np.maximum(dense.T.numpy(), 0).astype(np.float64))
        self.dense_mean = x.mean(0)
        self.dense_std = np.maximum(x.std(0), 1e-3)
        self._devices.clear()  # their dense weights are out of date
        with _one_cpu_thread(cpu):
            z = (z_cat + _dense_logit(self.on("cpu"), dense)).numpy()
        target = self.config.ctr
        bias = brentq(lambda b: float(np.mean(_sigmoid(b + z))) - target, -60.0, 60.0, xtol=1e-14)
        # z may differ in its last bits on another CPU (its log/exp): the rounded bias does not
        self.bias = round(bias * 2.0**24) / 2.0**24
        return self


@contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """On the CPU, torch's intra-op threads for the generator's operations: one. They are small (a
    chunk fits the caches), so more threads cost more than they give (on a loaded machine, ten times
    more); a CPU's cores generate in parallel as processes (reference/data/generate.py)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class _Stream:
    """The hash keys of one epoch (2^32 rows) of a split, on one device: its stream key and the keys
    of each row's draws."""

    key: StreamKey
    draw_keys: torch.Tensor  # [F + D + 2]: ZIPF_HI + f, DENSE + j, LABEL, LABEL + 1
    low_keys: torch.Tensor   # [F]: ZIPF_LO + f

    @classmethod
    def of(cls, config: SyntheticConfig, split: int, epoch: int, device: torch.device) -> _Stream:
        features = len(config.cardinalities)
        key = StreamKey.derive(config.seed, split, epoch)
        draws = ([_ZIPF_HI + f for f in range(features)] + [_DENSE + j for j in range(config.num_dense)]
                 + [_LABEL, _LABEL + 1])
        return cls(key, key.draw_keys(draws, device), key.draw_keys([_ZIPF_LO + f for f in range(features)], device))


@dataclass(frozen=True)
class _Drawn:
    """What a chunk's random words decide, before the dense standardisation and the bias."""

    sparse: torch.Tensor          # [n, F] ids
    dense: torch.Tensor           # [D, n] int32 counts (draw-major)
    present: torch.Tensor         # [D, n] bool: not missing
    logit: torch.Tensor           # [n] float64: the categorical part of the logit, s + |u|^2
    label_uniforms: torch.Tensor  # [n] float64


def _draw(tables: _OnDevice, stream: _Stream, rows: torch.Tensor) -> _Drawn:
    """The draws of row numbers rows [n] int64 (within the stream's epoch)."""
    features, n = stream.low_keys.numel(), rows.numel()
    states = stream.key.row_states(rows)
    # draw-major [F + D + 2, n]: each part contiguous, and per-draw constants broadcast along rows
    drawn = torch.empty((stream.draw_keys.numel(), n), dtype=torch.int64, device=rows.device)
    group = WORDS_PER_PASS.get(rows.device.type, drawn.numel()) // n + 1
    for first in range(0, drawn.shape[0], group):  # in groups that fit the cache
        words(stream.draw_keys[first:first + group, None], states, out=drawn[first:first + group])

    def low_words(feature: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
        return words(stream.low_keys.index_select(0, feature), states.index_select(0, row))

    positions = tables.zipf.sample(drawn[:features], low_words).T.contiguous()  # [n, F]
    sparse = tables.zipf.permutation.index_select(0, positions.view(-1)).view(n, features)
    dense, present = tables.dense.counts(drawn[features:-2])
    return _Drawn(sparse, dense, present, _categorical_logit(tables, positions), uniform53(drawn[-2], drawn[-1]))


def _dense_logit(tables: _OnDevice, dense: torch.Tensor) -> torch.Tensor:
    """teacher_scale * B_DENSE * sum_j a_j * standardised log(1 + max(x_j, 0)) [n] float64 of counts
    dense [D, n], summed left to right: the same rounding on every device and chunking (a reduction
    kernel may add in any order; separate adds cannot). log(1 + x), not log1p: 1 + x is exact for
    counts, and log is vectorised where log1p is not."""
    terms = dense.clamp_min(0).to(torch.float64).add_(1.0).log_().mul_(tables.dense_weights)
    total = terms[0].clone()
    for term in terms[1:]:
        total += term
    return total.sub_(tables.dense_shift)


def _categorical_logit(tables: _OnDevice, positions: torch.Tensor) -> torch.Tensor:
    """s + |u|^2 [n] float64 of the rank positions [n, F] of a row's ids: exact (teacher_table's
    grid), so the same in any summation order."""
    bag = torch.nn.functional.embedding_bag(positions, tables.table, mode="sum").to(torch.float64)
    pair = bag[:, 1:]
    return bag[:, 0] + (pair * pair).sum(1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def build_teacher(config: SyntheticConfig) -> Teacher:
    """The calibrated teacher of a configuration (deterministic: the same in every process)."""
    return Teacher(config).calibrate()
