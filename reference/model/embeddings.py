"""The sparse arch: one embedding table per categorical feature, sum-pooled; the shared interface
and the pure-PyTorch backend (its tables: tbe.py; the TorchRec/fbgemm backend: embeddings_torchrec.py).

Both backends name tables and features as the MLPerf torchrec_dlrm reference does (table
``t_cat_<i>`` for feature ``cat_<i>``) and hold them as
``embedding_bag_collection.embedding_bags.<table>.weight``, so a state dict is interchangeable
between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from recscale.spec import SparseOptimizerSpec
from reference.data.batch import Batch
from reference.model.tbe import Kernel, TableBatchedEmbeddingBags
from reference.model.tbe_ops import SparseUpdate


def feature_name(index: int) -> str:
    return f"cat_{index}"


def table_name(index: int) -> str:
    return f"t_cat_{index}"


def one_id_per_bag(batch: Batch) -> bool:
    """Whether every (feature, example) has exactly one id: the lookup fast paths.

    The loaders state it once per data set (``Batch.one_hot``, from its layout), so asking costs
    nothing; only a batch built without that statement has its lengths checked (``Batch.is_one_hot``:
    every length, since a multi-hot batch whose lengths add up to F x B must not be read as [F, B]
    ids; on an accelerator that check is a host sync per forward)."""
    return batch.one_hot if batch.one_hot is not None else batch.is_one_hot()


def table_ids(batch: Batch, rows: torch.Tensor, one_hot: bool | None = None) -> torch.Tensor:
    """The batch's raw ids mapped onto table rows (``id % rows`` of the feature's table).

    batch.sparse_values [N] (feature-major), rows [F] int64 on the batch's device -> [N] int64.
    ``one_hot``: the caller's ``one_id_per_bag(batch)``, if it has it already.
    """
    if one_id_per_bag(batch) if one_hot is None else one_hot:
        return (batch.one_hot_ids() % rows.unsqueeze(1)).reshape(-1)
    per_feature = batch.sparse_lengths.sum(dim=1)  # ids of each feature in the batch: [F]
    rows_of_value = rows.repeat_interleave(per_feature, output_size=batch.sparse_values.numel())
    return batch.sparse_values % rows_of_value


class SparseArch(nn.Module):
    """Common part of both backends: the table shapes and the id -> row mapping.

    Subclasses define ``forward(batch) -> [B, F, D]`` (the pooled embedding of every feature)
    and ``tables() -> list[Tensor]`` (the weights [rows_f, D], in feature order, for init and tests).
    """

    def __init__(self, rows: Sequence[int], dim: int, device: torch.device) -> None:
        super().__init__()
        if not rows:
            raise ValueError("the sparse arch needs at least one table")
        self.num_rows = tuple(rows)
        self.dim = dim
        # A buffer so that it moves with the module; not saved (it is a function of the spec).
        self.register_buffer("rows", torch.tensor(rows, dtype=torch.int64, device=device), persistent=False)

    @property
    def num_features(self) -> int:
        return len(self.num_rows)

    def tables(self) -> list[torch.Tensor]:
        raise NotImplementedError


class TorchSparseArch(SparseArch):
    """Pure PyTorch: the tables batched into one weight, the sparse optimizer applied inside
    backward (reference/model/tbe.py); runs wherever torch does, CUDA with an optional Triton kernel.

    Like the torchrec backend, it is built with its sparse optimizer (``optimizer``); the state dict
    holds the tables as ``embedding_bag_collection.embedding_bags.<table>.weight``.
    """

    def __init__(self, rows: Sequence[int], dim: int, optimizer: SparseOptimizerSpec, device: torch.device,
                 kernel: Kernel = "auto") -> None:
        super().__init__(rows, dim, device)
        self.optimizer_spec = optimizer
        update = SparseUpdate(optimizer.name, optimizer.lr, optimizer.eps)
        names = [table_name(i) for i in range(len(rows))]
        self.embedding_bag_collection = TableBatchedEmbeddingBags(names, rows, dim, update, device, kernel)

    def tables(self) -> list[torch.Tensor]:
        return list(self.embedding_bag_collection.tables())

    def forward(self, batch: Batch) -> torch.Tensor:
        """batch (F features, B examples) -> pooled embeddings [B, F, D]."""
        return self.embedding_bag_collection(batch, one_id_per_bag(batch))
