"""The sparse arch: one embedding table per categorical feature, sum-pooled; the shared interface
and the pure-PyTorch backend (the TorchRec/fbgemm one is in embeddings_torchrec.py).

Both backends name tables and features as the MLPerf torchrec_dlrm reference does (table
``t_cat_<i>`` for feature ``cat_<i>``) and hold them as
``embedding_bag_collection.embedding_bags.<table>.weight``, so a state dict is interchangeable
between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reference.data.batch import Batch


def feature_name(index: int) -> str:
    return f"cat_{index}"


def table_name(index: int) -> str:
    return f"t_cat_{index}"


def one_id_per_bag(batch: Batch) -> bool:
    """Whether every (feature, example) has exactly one id: the lookup fast paths.

    Stricter than ``Batch.is_one_hot`` (which compares totals only): a multi-hot batch whose
    lengths happen to add up to F x B must not be read as [F, B] ids.
    """
    return batch.is_one_hot() and bool(torch.all(batch.sparse_lengths == 1))


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


class TorchEmbeddingBagCollection(nn.Module):
    """The tables as ``embedding_bags.<table>``: torchrec's EmbeddingBagCollection layout."""

    def __init__(self, rows: Sequence[int], dim: int, device: torch.device) -> None:
        super().__init__()
        # `_weight` given: no default init (build_model draws every table from its seed).
        self.embedding_bags = nn.ModuleDict(
            {
                table_name(i): nn.EmbeddingBag(
                    num_rows, dim, mode="sum", sparse=True, _weight=torch.empty(num_rows, dim, device=device)
                )
                for i, num_rows in enumerate(rows)
            }
        )


class TorchSparseArch(SparseArch):
    """Pure PyTorch: ``nn.EmbeddingBag(mode="sum", sparse=True)`` per feature; runs wherever torch
    does (CPU, CUDA) and yields sparse (COO) gradients, for torch.optim or optim.SparseRowWiseAdagrad.
    """

    def __init__(self, rows: Sequence[int], dim: int, device: torch.device) -> None:
        super().__init__(rows, dim, device)
        self.embedding_bag_collection = TorchEmbeddingBagCollection(rows, dim, device)

    def tables(self) -> list[torch.Tensor]:
        return [bag.weight for bag in self.embedding_bag_collection.embedding_bags.values()]

    def forward(self, batch: Batch) -> torch.Tensor:
        """batch (F features, B examples) -> pooled embeddings [B, F, D]."""
        one_hot = one_id_per_bag(batch)
        ids = table_ids(batch, self.rows, one_hot)
        weights = self.tables()
        if one_hot:
            # One id per bag: the sum is a plain lookup, and F.embedding's backward is cheaper
            # than EmbeddingBag's (same function, same sparse gradient).
            per_feature = ids.view(self.num_features, batch.size)
            pooled = [nn.functional.embedding(per_feature[f], w, sparse=True) for f, w in enumerate(weights)]
        else:
            lengths = batch.sparse_lengths.to(torch.int64)
            starts = torch.cumsum(lengths, dim=1) - lengths  # offset of each bag within its feature
            values = torch.split(ids, lengths.sum(dim=1).tolist())
            pooled = [
                nn.functional.embedding_bag(values[f], w, starts[f], mode="sum", sparse=True)
                for f, w in enumerate(weights)
            ]
        return torch.stack(pooled, dim=1)
