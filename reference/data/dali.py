"""Optional NVIDIA DALI loader over the same shards (an extra: `pip install nvidia-dali-cuda120`).

The rows of every batch are chosen and gathered exactly as by Dataset (same order, same nested
fractions, same rank slices: Dataset.train_arrays / eval_arrays feed DALI's external_source in batch
mode), so a run gives the same batches with either loader. DALI casts and transforms the dense
counts (log(1 + max(x, 0)) in float32), casts the labels and, with a device_id, copies the batch to
that GPU while the previous ones train (prefetch_queue_depth). device_id=None runs the pipeline on
the CPU, which is how it is tested on machines without a GPU. The ids are then taken modulo their
cardinality where the data set asks and put in the KeyedJaggedTensor layout of Batch (feature-major)
by torch on the batch's device (batch.WideIds, as the staged loader does). `recscale run --loader dali`
reads through it (reference/data/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any

import numpy as np
import torch

from reference.data.batch import Batch, WideIds
from reference.data.loader import Arrays, Dataset

INSTALL_HINT = "NVIDIA DALI is not installed: pip install nvidia-dali-cuda120 (or nvidia-dali-cuda130)"


def dali_available() -> bool:
    try:
        return find_spec("nvidia.dali") is not None
    except ModuleNotFoundError:  # no `nvidia` namespace package at all
        return False


class DaliLoader:
    """Batches of a Dataset through an NVIDIA DALI pipeline (train_batches / eval_batches as Dataset's)."""

    def __init__(self, dataset: Dataset, device_id: int | None = None, num_threads: int = 2, prefetch: int = 2):
        if not dali_available():
            raise ImportError(INSTALL_HINT)
        self.dataset, self.device_id, self.num_threads, self.prefetch = dataset, device_id, num_threads, prefetch
        self.device = torch.device("cpu") if device_id is None else torch.device("cuda", device_id)
        self.layout = WideIds(dataset.hots, self.device)
        # each column's cardinality (feature f's k_f columns share one), when ids are taken modulo it
        cards = torch.tensor(dataset.cardinalities, dtype=torch.int64, device=self.device)
        hots = torch.tensor(dataset.hots, device=self.device)
        self.modulo = cards.repeat_interleave(hots) if dataset.manifest.sparse_modulo else None

    def train_batches(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                      world_size: int = 1) -> Iterator[Batch]:
        arrays = self.dataset.train_arrays(batch_size, rows, seed, rank, world_size)
        return self._run(arrays, -(-batch_size // world_size))

    def eval_batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        return self._run(self.dataset.eval_arrays(batch_size, rank, world_size), -(-batch_size // world_size))

    # ------------------------------------------------------------------------------ pipeline

    def _pipeline(self, arrays: Iterator[Arrays], max_batch: int) -> Any:
        from nvidia.dali import fn, pipeline_def, types
        from nvidia.dali import math as dali_math

        def source() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            dense, sparse, labels = next(arrays)  # StopIteration ends the pipeline's pass
            if dense.shape[0] == 0:
                raise ValueError("a rank's slice of the last batch is empty (fewer rows than ranks): "
                                 "DALI cannot carry an empty batch; choose a batch size that avoids it")
            wide = np.concatenate(sparse, axis=1) if isinstance(sparse, list) else sparse
            return dense, np.ascontiguousarray(wide), labels

        log1p = self.dataset.manifest.dense_transform == "log1p"
        gpu = self.device_id is not None

        @pipeline_def(batch_size=max_batch, num_threads=self.num_threads, device_id=self.device_id,
                      prefetch_queue_depth=self.prefetch)
        def pipeline() -> tuple[Any, Any, Any]:
            dense, sparse, labels = fn.external_source(source=source, num_outputs=3, batch=True)
            if gpu:
                dense, sparse, labels = dense.gpu(), sparse.gpu(), labels.gpu()
            dense = fn.cast(dense, dtype=types.FLOAT)
            if log1p:
                dense = dali_math.log(dali_math.max(dense, 0.0) + 1.0)
            return dense, sparse, fn.cast(labels, dtype=types.FLOAT)

        pipe = pipeline()
        pipe.build()
        return pipe

    def _run(self, arrays: Iterator[Arrays], max_batch: int) -> Iterator[Batch]:
        pipe = self._pipeline(arrays, max_batch)
        while True:
            try:
                dense, sparse, labels = (self._to_torch(out) for out in pipe.run())
            except StopIteration:
                return
            if self.modulo is not None:
                sparse = sparse.to(torch.int64) % self.modulo
            yield self.layout.batch(dense, sparse, labels)

    def _to_torch(self, tensor_list: Any) -> torch.Tensor:
        from nvidia.dali import types
        from nvidia.dali.plugin.pytorch import feed_ndarray

        dtypes = {types.FLOAT: torch.float32, types.INT32: torch.int32, types.INT64: torch.int64}
        tensor = tensor_list.as_tensor()
        out = torch.empty(tensor.shape(), dtype=dtypes[tensor.dtype], device=self.device)
        stream = torch.cuda.current_stream(self.device) if self.device.type == "cuda" else None
        return feed_ndarray(tensor, out, cuda_stream=stream)
