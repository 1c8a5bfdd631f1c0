"""The point's data held in memory: its training fraction and the eval set staged once, during
initialisation, on the device (or in host memory), and every pass shuffled and batched there.

The batches are the host loader's (reference/data/loader.py), bit for bit, for the same seed, ranks
and batch size: each step's rows are the same positions of the same BlockOrder (its block
permutation drawn on the host from the seed, the row numbers computed on the device), sorted as the
host loader sorts them, and the stored values are transformed by the same functions
(loader.dense_features, the id modulo), once at staging instead of once per batch.
tests/test_data_staged.py holds both loaders equal on the CPU.

Held per split, rows in file order (the training fraction is the first rows of the training split):

    dense   [n, D] float32, transformed
    ids     [n, sum k_f] integers as stored (int64 when a modulo could leave that range), features
            side by side as in the shards, taken modulo their cardinality when the data set asks
    labels  [n] float32

Staging reads CHUNK_ROWS rows at a time with vectorised copies out of the memory maps, transforms the
chunk on the host and copies it into the split's tensors on the device, asynchronously from page-locked
memory, so each byte crosses to the device once and host memory holds a chunk or two at a time.

A batch: its row numbers (computed and sorted on the device for STEPS_AHEAD steps at a time: one
sort of a [steps, batch] matrix), one index_select per tensor, the ids put in Batch's feature-major
layout (batch.WideIds): four kernels a step, and nothing waits for the device. In host memory (data
too large for the device) the same batches are made on the host and reference/data/prefetch.py
moves them ahead of the training step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from reference.data.batch import Batch, WideIds
from reference.data.loader import Arrays, BlockOrder, Dataset, SplitName, dense_features, pass_slices

CHUNK_ROWS = 1 << 19  # rows read, transformed and copied at a time while staging (~80 MB of Criteo rows)
STEPS_AHEAD = 64  # steps whose row numbers are computed and sorted together
INT32_MAX = np.iinfo(np.int32).max


def id_dtype(dataset: Dataset) -> np.dtype:
    """The integer type the ids are held in: as stored (the widest of the shards), unless a modulo
    could leave its range."""
    manifest = dataset.manifest
    stored = np.result_type(*[shard.sparse.dtype for shard in (*manifest.train.shards, *manifest.eval.shards)])
    if dataset.manifest.sparse_modulo and stored.itemsize < 8 and max(dataset.cardinalities) > INT32_MAX:
        return np.dtype(np.int64)
    return stored


def row_bytes(dataset: Dataset) -> int:
    """Bytes one staged row takes: dense float32, ids, label float32."""
    return 4 * dataset.num_dense + id_dtype(dataset).itemsize * sum(dataset.hots) + 4


def staged_bytes(dataset: Dataset, train_rows: int) -> int:
    """Bytes of the training fraction (`train_rows` rows) and the eval set, staged."""
    return row_bytes(dataset) * (train_rows + dataset.eval_rows)


@dataclass(frozen=True)
class StagedSplit:
    """One split's rows in memory (see the module docstring)."""

    dense: torch.Tensor
    ids: torch.Tensor
    labels: torch.Tensor

    @property
    def rows(self) -> int:
        return self.labels.shape[0]


def _host_chunk(arrays: Arrays, dataset: Dataset, ids: np.dtype) -> tuple[torch.Tensor, ...]:
    """Stored rows -> (dense float32, ids side by side, labels float32) as the host loader makes them."""
    dense, sparse, labels = arrays
    wide = np.concatenate(sparse, axis=1) if isinstance(sparse, list) else sparse
    wide = wide.astype(ids, copy=False)
    if dataset.manifest.sparse_modulo:
        wide = np.remainder(wide, np.repeat(np.asarray(dataset.cardinalities, dtype=ids), dataset.hots))
    return (dense_features(dense, dataset.manifest.dense_transform), torch.from_numpy(np.ascontiguousarray(wide)),
            torch.from_numpy(labels.reshape(-1).astype(np.float32)))


def stage_split(dataset: Dataset, split: SplitName, rows: int, device: torch.device) -> StagedSplit:
    """The first `rows` rows of `split`, read, transformed and copied to `device` chunk by chunk."""
    ids = id_dtype(dataset)
    held = StagedSplit(
        dense=torch.empty((rows, dataset.num_dense), dtype=torch.float32, device=device),
        ids=torch.empty((rows, sum(dataset.hots)), dtype=torch.from_numpy(np.empty(0, ids)).dtype, device=device),
        labels=torch.empty(rows, dtype=torch.float32, device=device),
    )
    cuda = device.type == "cuda"
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(rows, start + CHUNK_ROWS)
        for target, chunk in zip((held.dense, held.ids, held.labels),
                                 _host_chunk(dataset.read(split, start, stop), dataset, ids), strict=True):
            # From page-locked memory the copy runs while the next chunk is read; torch's pinned
            # allocator keeps each buffer until its copy is done.
            target[start:stop].copy_(chunk.pin_memory() if cuda else chunk, non_blocking=cuda)
    if cuda:
        torch.cuda.synchronize(device)  # staging ends when the data is there (its time is logged)
    return held


class StagedLoader:
    """train_batches / eval_batches as Dataset's, from the point's data staged on `device`."""

    def __init__(self, dataset: Dataset, train_rows: int, device: torch.device) -> None:
        self.device = device
        self.train = stage_split(dataset, "train", train_rows, device)
        self.eval = stage_split(dataset, "eval", dataset.eval_rows, device)
        self.layout = WideIds(dataset.hots, device)

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for split in (self.train, self.eval)
                   for t in (split.dense, split.ids, split.labels))

    def train_batches(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                      world_size: int = 1) -> Iterator[Batch]:
        """One pass over the first `rows` staged training rows in the order drawn from `seed`."""
        slices = list(pass_slices(batch_size, rows, rank, world_size, self.train.rows))
        for picked in self._sorted_rows(BlockOrder(rows, seed), slices, batch_size):
            yield self.layout.batch(*(t.index_select(0, picked) for t in (self.train.dense, self.train.ids,
                                                                          self.train.labels)))

    def _sorted_rows(self, order: BlockOrder, slices: list[tuple[int, int]], batch_size: int) -> Iterator[torch.Tensor]:
        """Each step's row numbers, ascending (as the host loader reads them). Steps whose slices are
        equally wide and one batch apart (all but a pass's last) are done STEPS_AHEAD at a time."""
        first = 0
        while first < len(slices):
            start, stop = slices[first]
            group = 1
            while (group < STEPS_AHEAD and first + group < len(slices)
                   and slices[first + group] == (start + group * batch_size, stop + group * batch_size)):
                group += 1
            steps = torch.arange(group, dtype=torch.int64, device=self.device).unsqueeze(1) * batch_size
            positions = steps + torch.arange(start, stop, dtype=torch.int64, device=self.device)  # [group, width]
            yield from torch.sort(order.rows_on(positions), dim=1).values
            first += group

    def eval_batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        """The whole eval set in file order; rank's slice of each global batch (views, no gather)."""
        for start, stop in pass_slices(batch_size, self.eval.rows, rank, world_size, self.eval.rows):
            yield self.layout.batch(self.eval.dense[start:stop], self.eval.ids[start:stop],
                                    self.eval.labels[start:stop])
