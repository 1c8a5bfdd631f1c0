"""The default loader: memory-mapped shards -> Batch, with nested fractions and a seeded shuffle.

Order: the training rows of fraction x are the first x * train_samples rows in file order (so 1/8
is a prefix of 1/4: a data-scaling sweep measures data, not a reshuffle). Within those rows a pass
visits blocks of SHUFFLE_BLOCK consecutive rows in an order drawn from `seed` (whole-row shuffles
would gather every row from a random page; blocks of 32 rows keep the gathers sequential and cost
nothing in quality here: synthetic rows are i.i.d., and each 2048-row batch of real data still
mixes 64 random places of the log). A global batch is split into contiguous per-rank slices (sizes
as np.array_split: they differ by at most one; the last, partial batch is kept, so a rank can get
an empty slice there when it holds fewer rows than ranks). The eval set is read in file order.

No per-example Python: each batch is a few vectorised gathers (np.take of whole rows from the
memory maps, over sorted row numbers), a transpose of the ids into the feature-major
KeyedJaggedTensor layout and torch's log1p of the dense counts. bench/bench_data.py: 2-6M rows/s
on one core, 50-200x the training step. Every batch states whether it is one-hot (Batch.one_hot, from
the data set's layout), so that no model has to look at its lengths.

reference/data/staged.py gives the same batches from the split held in (device) memory, and
reference/data/pipeline.py chooses between them for a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import numpy as np
import torch

from recscale.errors import InputError, Problem
from recscale.sources import SOURCES
from recscale.spec import WorkloadSpec
from reference.data.batch import Batch
from reference.data.generate import bayes_metrics, ensure_synthetic
from reference.data.manifest import DatasetManifest, Split, check_files, open_array, read_manifest

SHUFFLE_BLOCK = 32
Positions = TypeVar("Positions", np.ndarray, torch.Tensor)
_SHUFFLE_KEY = 200
Checksums = Literal["changed", "all", "none"]
# dense [n, D], sparse [n, F] (one-hot) or per-feature [n, k_f] (multi-hot), labels [n, 1], as stored
Arrays = tuple[np.ndarray, np.ndarray | list[np.ndarray], np.ndarray]
SplitName = Literal["train", "eval"]


class Loader(Protocol):
    """What the training loop reads batches from: Dataset here, and the other loaders of
    reference/data (staged, prefetch, dali), which give the same batches."""

    def train_batches(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                      world_size: int = 1) -> Iterator[Batch]: ...

    def eval_batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Batch]: ...


def rank_slice(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """[start, stop) of rank's part of `size` items (np.array_split sizes)."""
    base, extra = divmod(size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def batches_per_pass(batch_size: int, rows: int) -> int:
    """Global batches in one pass over `rows` rows (the last may be partial)."""
    return -(-rows // batch_size)


def pass_slices(batch_size: int, rows: int, rank: int, world_size: int, available: int) -> Iterator[tuple[int, int]]:
    """[start, stop) positions of a pass over `rows` rows (of `available`) that rank's slice of each
    global batch covers: every loader batches a pass with this."""
    if not 0 < rows <= available:
        raise ValueError(f"rows must be in [1, {available}], got {rows}")
    if batch_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"bad batch_size {batch_size} or rank {rank} of {world_size}")
    for first in range(0, rows, batch_size):
        lo, hi = rank_slice(min(batch_size, rows - first), rank, world_size)
        yield first + lo, first + hi


class _Rows:
    """The memory-mapped shards of one split as a single row space [0, rows)."""

    def __init__(self, root: Path, split: Split, limit: int):
        self.parts: list[Arrays] = []
        starts = [0]
        for shard in split.shards:
            if starts[-1] >= limit:
                break
            take = min(shard.rows, limit - starts[-1])
            window = slice(shard.offset, shard.offset + take)
            sparse = open_array(root, shard.sparse)
            sparse = [a[window] for a in sparse] if isinstance(sparse, list) else sparse[window]
            self.parts.append((open_array(root, shard.dense)[window], sparse, open_array(root, shard.labels)[window]))
            starts.append(starts[-1] + take)
        self.starts = np.array(starts, dtype=np.int64)

    def take(self, rows: np.ndarray) -> Arrays:
        """dense [n, D], sparse [n, F] (or per-feature [n, k_f]), labels [n, 1] of sorted row numbers."""
        cuts = np.searchsorted(rows, self.starts[1:-1])
        pieces = []
        for part, (lo, hi), start in zip(self.parts, zip(np.r_[0, cuts], np.r_[cuts, rows.size], strict=True),
                                         self.starts, strict=False):
            if hi > lo:
                local = rows[lo:hi] - start
                dense, sparse, labels = part
                sparse = [_take_rows(a, local) for a in sparse] if isinstance(sparse, list) \
                    else _take_rows(sparse, local)
                pieces.append((_take_rows(dense, local), sparse, _take_rows(labels, local)))
        return _concat(pieces) if pieces else self._empty()

    def read(self, start: int, stop: int) -> Arrays:
        """Rows [start, stop) in file order (copied out of the maps)."""
        pieces = []
        for part, lo, hi in zip(self.parts, self.starts[:-1], self.starts[1:], strict=True):
            a, b = max(start, lo) - lo, min(stop, hi) - lo
            if b > a:
                dense, sparse, labels = part
                sparse = [np.array(s[a:b]) for s in sparse] if isinstance(sparse, list) else np.array(sparse[a:b])
                pieces.append((np.array(dense[a:b]), sparse, np.array(labels[a:b])))
        return _concat(pieces) if pieces else self._empty()

    def _empty(self) -> Arrays:
        """No rows, in the stored shapes and types (a rank's empty slice of the last batch)."""
        dense, sparse, labels = self.parts[0]
        sparse = [np.array(s[:0]) for s in sparse] if isinstance(sparse, list) else np.array(sparse[:0])
        return np.array(dense[:0]), sparse, np.array(labels[:0])


def dense_features(dense: np.ndarray, transform: Literal["log1p", "none"]) -> torch.Tensor:
    """Stored dense values [n, D] -> float32 features: log(1 + max(x, 0)) of raw counts (DLRM's
    transform) or the stored values. One function for every loader, so that they agree bit for bit."""
    features = torch.from_numpy(dense)
    return features.clamp_min(0).float().log1p_() if transform == "log1p" else features.float()


def _take_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """array[rows] for a C-ordered 2-D array, gathering each row as one opaque item (a memcpy per row,
    about 1.5x faster than np.take(axis=0), which loops over the columns of every row)."""
    width = array.shape[1] * array.itemsize
    opaque = array.view(np.dtype((np.void, width))).reshape(-1) if width else array
    return np.take(opaque, rows).view(array.dtype).reshape(rows.size, array.shape[1])


def _concat(pieces: list[Arrays]) -> Arrays:
    if len(pieces) == 1:
        return pieces[0]
    dense, sparse, labels = zip(*pieces, strict=True)
    joined = ([np.concatenate(f) for f in zip(*sparse, strict=True)] if isinstance(sparse[0], list)
              else np.concatenate(sparse))
    return np.concatenate(dense), joined, np.concatenate(labels)


class Dataset:
    """A data set on disk (see reference/data/manifest.py) and the batches of one run."""

    def __init__(self, root: Path, manifest: DatasetManifest, train_rows: int | None = None,
                 eval_rows: int | None = None):
        self.root, self.manifest = root, manifest
        self.num_dense = manifest.num_dense
        self.cardinalities: tuple[int, ...] = tuple(manifest.cardinalities)
        self.train_rows = manifest.train.rows if train_rows is None else train_rows
        self.eval_rows = manifest.eval.rows if eval_rows is None else eval_rows
        self._train = _Rows(root, manifest.train, self.train_rows)
        self._eval = _Rows(root, manifest.eval, self.eval_rows)
        self._modulo = torch.tensor(self.cardinalities, dtype=torch.int64)[:, None] if manifest.sparse_modulo else None
        # ids per example of each feature, and whether that is one everywhere (stated on every batch)
        self.hots: tuple[int, ...] = tuple(manifest.multi_hot_sizes or [1] * len(self.cardinalities))
        self.one_hot = all(k == 1 for k in self.hots)

    @classmethod
    def open(cls, root: Path, checksums: Checksums = "changed", **limits: int | None) -> Dataset:
        """Open the data set in `root`, checking its files (see manifest.check_files)."""
        manifest = read_manifest(root)
        check_files(root, manifest, checksums)
        return cls(root, manifest, **limits)

    def bayes(self) -> dict[str, float] | None:
        """ne, logloss, auc, calibration of the eval set under the teacher's exact probabilities."""
        info = self.manifest.synthetic
        if info is None:
            return None
        if self.eval_rows == self.manifest.eval.rows:
            return info.bayes.model_dump()
        probs = np.load(self.root / info.teacher_probs.path, mmap_mode="r")[: self.eval_rows]
        return bayes_metrics(probs, self._eval.read(0, self.eval_rows)[2])

    def read(self, split: SplitName, start: int, stop: int) -> Arrays:
        """Rows [start, stop) of a split in file order, as stored (copied out of the memory maps)."""
        return (self._train if split == "train" else self._eval).read(start, stop)

    # ------------------------------------------------------------------------------- training

    def train_batches_total(self, batch_size: int, rows: int) -> int:
        """Global batches in one pass over `rows` training rows (the last may be partial)."""
        return batches_per_pass(batch_size, rows)

    def train_batches(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                      world_size: int = 1) -> Iterator[Batch]:
        """One pass over the first `rows` training rows in an order drawn from `seed`; rank's slices."""
        return map(self._batch, self.train_arrays(batch_size, rows, seed, rank, world_size))

    def train_arrays(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                     world_size: int = 1) -> Iterator[Arrays]:
        """The numpy rows of train_batches, as stored (for other pipelines such as DALI's)."""
        order = BlockOrder(rows, seed)
        for start, stop in pass_slices(batch_size, rows, rank, world_size, self.train_rows):
            yield self._train.take(np.sort(order.rows(np.arange(start, stop, dtype=np.int64))))

    # ----------------------------------------------------------------------------- evaluation

    def eval_batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        """The whole eval set in file order; rank's slice of each global batch."""
        return map(self._batch, self.eval_arrays(batch_size, rank, world_size))

    def eval_arrays(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Arrays]:
        """The numpy rows of eval_batches, as stored."""
        for start, stop in pass_slices(batch_size, self.eval_rows, rank, world_size, self.eval_rows):
            yield self._eval.read(start, stop)

    # ---------------------------------------------------------------------------------- batch

    def _batch(self, arrays: Arrays) -> Batch:
        """Batch from stored rows: dense counts -> log(1 + max(x, 0)) float32 (DLRM's transform, unless
        stored transformed), ids [B, F] -> feature-major int64 values, labels -> float32."""
        dense_np, sparse_np, labels_np = arrays
        size = dense_np.shape[0]
        dense = dense_features(dense_np, self.manifest.dense_transform)
        if isinstance(sparse_np, list):  # multi-hot: [B, k_f] per feature -> feature-major values
            hots = [a.shape[1] for a in sparse_np]
            flat = [a.reshape(-1).astype(np.int64) for a in sparse_np]
            if self.manifest.sparse_modulo:
                flat = [ids % card for ids, card in zip(flat, self.cardinalities, strict=True)]
            values = torch.from_numpy(np.concatenate(flat))
            lengths = torch.from_numpy(np.repeat(np.array(hots, np.int32)[:, None], size, axis=1))
        else:
            ids = torch.empty((sparse_np.shape[1], size), dtype=torch.int64)
            ids.copy_(torch.from_numpy(sparse_np).t())
            if self._modulo is not None:
                ids %= self._modulo
            values = ids.view(-1)
            lengths = torch.ones((sparse_np.shape[1], size), dtype=torch.int32)
        labels = torch.from_numpy(labels_np.reshape(-1).astype(np.float32))
        return Batch(dense=dense, sparse_values=values, sparse_lengths=lengths, labels=labels, one_hot=self.one_hot)


class BlockOrder:
    """A seeded permutation of [0, rows) that keeps blocks of SHUFFLE_BLOCK consecutive rows together.

    The block order is a permutation of the blocks; the last, partial block (rows % SHUFFLE_BLOCK rows)
    takes its place in that order like any other, so every row is visited exactly once.
    """

    def __init__(self, rows: int, seed: int):
        self.blocks = -(-rows // SHUFFLE_BLOCK)
        rng = np.random.Generator(np.random.PCG64DXSM(np.random.SeedSequence([seed, _SHUFFLE_KEY])))
        self.order = rng.permutation(self.blocks).astype(np.int32 if self.blocks < 2**31 else np.int64)
        self.short = self.blocks * SHUFFLE_BLOCK - rows  # rows missing from the last block
        self._order_on: torch.Tensor | None = None
        self.short_slot = int(np.flatnonzero(self.order == self.blocks - 1)[0])

    def _skip_short(self, positions: Positions) -> Positions:
        """Positions after the short block skip its missing rows (numpy or torch alike)."""
        if not self.short:
            return positions
        k = SHUFFLE_BLOCK
        return positions + self.short * (positions >= self.short_slot * k + (k - self.short))

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """Row numbers [n] int64 at positions [n] int64 of the pass."""
        k = SHUFFLE_BLOCK
        positions = self._skip_short(positions)
        return self.order[positions // k].astype(np.int64) * k + positions % k

    def rows_on(self, positions: torch.Tensor) -> torch.Tensor:
        """rows() of int64 positions on a device, computed there (the block order is copied once)."""
        if self._order_on is None or self._order_on.device != positions.device:
            self._order_on = torch.from_numpy(self.order).to(positions.device, torch.int64)
        k = SHUFFLE_BLOCK
        positions = self._skip_short(positions)
        return self._order_on[positions // k] * k + positions % k


def open_dataset(spec: WorkloadSpec, data_root: Path) -> Dataset:
    """The data set of a WorkloadSpec: generated under data_root (synthetic) or the converted shards
    at spec.data.path (recscale/sources.py says which); limited to spec.data.train_samples / eval_samples rows."""
    data = spec.data
    if SOURCES[data.source].generated:
        root = ensure_synthetic(data, Path(data_root))
    else:
        root = Path(data.path)
        if not (root / "manifest.json").is_file():
            raise InputError([Problem(spec.id, "data.path", f"{root} holds no converted data set (manifest.json); "
                                      "make one with `recscale data convert ...`")])
    manifest = read_manifest(root)
    where = str(root / "manifest.json")
    problems = []
    if manifest.source != data.source:
        problems.append(Problem(where, "source",
                                f"the data set is {manifest.source!r}, the workload wants {data.source!r}"))
    if manifest.num_dense != data.num_dense or len(manifest.cardinalities) != data.num_sparse:
        problems.append(Problem(where, "cardinalities", f"{manifest.num_dense} dense and {len(manifest.cardinalities)} "
                                f"categorical features, the workload wants {data.num_dense} and {data.num_sparse}"))
    elif over := [f"C{f + 1} has {have:,} ids, its table {want:,} rows" for f, (have, want)
                  in enumerate(zip(manifest.cardinalities, data.feature_cardinalities, strict=True)) if have > want]:
        # The model sizes its tables from the spec; ids past a table's end cannot be looked up.
        problems.append(Problem(where, "cardinalities", f"the data set does not fit the workload's embedding tables "
                                f"in {len(over)} feature(s): {'; '.join(over)}. Fix: set the workload's "
                                f"data.cardinalities to the data set's {list(manifest.cardinalities)} (`recscale data "
                                f"info {root}`), or convert the data again to fit: `recscale data convert` gives the "
                                "Kaggle train.txt DLRM's table sizes (data converted before it had one more id in "
                                "features without missing values), --cardinality-cap N bounds every table to N"))
    for name, want, have in (("train_samples", data.train_samples, manifest.train.rows),
                             ("eval_samples", data.eval_samples, manifest.eval.rows)):
        if want > have:
            problems.append(Problem(where, name, f"the workload wants {want} rows, the data set has {have}"))
    if problems:
        raise InputError(problems)
    check_files(root, manifest, "changed")
    return Dataset(root, manifest, train_rows=data.train_samples, eval_rows=data.eval_samples)
