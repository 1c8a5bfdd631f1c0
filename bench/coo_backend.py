"""The ``torch`` backend as it was before the table-batched one (reference/model/tbe.py), kept for
the benchmarks only (bench/bench_model.py, bench/bench_gpu.py), so that the old and new paths are
compared in one run: one ``nn.EmbeddingBag(mode="sum", sparse=True)`` per table, sparse (COO)
gradients, and torch.optim SGD / Adagrad or :class:`SparseRowWiseAdagrad` (fbgemm's exact row-wise
Adagrad over COO gradients) as the sparse optimizer after backward.

:func:`build_coo_model` builds it from the seed, with the same initial weights as build_model.
tests/test_bench_coo.py checks that it still trains like the new backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from recscale.spec import SparseOptimizerSpec, WorkloadSpec
from reference.data.batch import Batch
from reference.model.dlrm import DLRM, build_model
from reference.model.embeddings import SparseArch, one_id_per_bag, table_ids, table_name
from reference.model.optim import DLRMOptimizer, dense_optimizer


class SparseRowWiseAdagrad(torch.optim.Optimizer):
    """Exact row-wise Adagrad over sparse (COO) gradients of embedding tables [rows, D].

    One accumulator per row, as fbgemm's EXACT_ROWWISE_ADAGRAD: for every row r the batch
    touched (duplicate ids summed first: "exact"), with g its gradient [D],
    ``sum[r] += mean(g^2)``, ``w[r] -= lr * g / (sqrt(sum[r]) + eps)``. Rows not touched are
    left alone (state included), unlike a dense optimizer seeing zero gradients.
    """

    def __init__(self, params: Any, lr: float, eps: float = 1e-8) -> None:
        if lr <= 0.0 or eps <= 0.0:
            raise ValueError(f"lr and eps must be positive, got lr={lr}, eps={eps}")
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        if closure is not None:
            raise ValueError("SparseRowWiseAdagrad does not take a closure")
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse or param.dim() != 2:
                    raise TypeError("SparseRowWiseAdagrad needs 2-D tables with sparse gradients")
                grad = param.grad.coalesce()  # one entry per touched row, duplicates summed
                rows, values = grad.indices()[0], grad.values()  # [U], [U, D]
                state = self.state[param]
                if "sum" not in state:
                    state["sum"] = torch.zeros(param.shape[0], dtype=param.dtype, device=param.device)
                accumulator = state["sum"]
                accumulator.index_add_(0, rows, values.square().mean(dim=1))
                scale = accumulator.index_select(0, rows).sqrt_().add_(group["eps"]).reciprocal_()
                param.index_add_(0, rows, values * scale.mul_(-group["lr"]).unsqueeze(1))


def coo_sparse_optimizer(params: list[nn.Parameter], spec: SparseOptimizerSpec) -> torch.optim.Optimizer:
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps)
    if spec.name == "rowwise_adagrad":
        return SparseRowWiseAdagrad(params, lr=spec.lr, eps=spec.eps)
    raise ValueError(f"unknown sparse optimizer {spec.name!r}")


class _EmbeddingBagCollection(nn.Module):
    """The tables as ``embedding_bags.<table>``: torchrec's EmbeddingBagCollection layout."""

    def __init__(self, rows: Sequence[int], dim: int, device: torch.device) -> None:
        super().__init__()
        self.embedding_bags = nn.ModuleDict({
            table_name(i): nn.EmbeddingBag(num_rows, dim, mode="sum", sparse=True,
                                           _weight=torch.empty(num_rows, dim, device=device))
            for i, num_rows in enumerate(rows)
        })


class CooSparseArch(SparseArch):
    """One ``nn.EmbeddingBag(sparse=True)`` per feature; sparse gradients for a torch.optim step."""

    def __init__(self, rows: Sequence[int], dim: int, device: torch.device) -> None:
        super().__init__(rows, dim, device)
        self.embedding_bag_collection = _EmbeddingBagCollection(rows, dim, device)

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


@torch.no_grad()
def build_coo_model(spec: WorkloadSpec, device: torch.device, seed: int) -> tuple[DLRM, DLRMOptimizer]:
    """(model, optimizer) of the old backend: build_model's weights (same seed, same tables), the
    tables moved into per-table sparse-gradient EmbeddingBags."""
    model = build_model(spec, "torch", device, seed)
    rows, dim = spec.model.embedding.rows(spec.data.feature_cardinalities), spec.model.embedding.dim
    arch = CooSparseArch(rows, dim, device)
    for old, new in zip(arch.tables(), model.sparse_arch.tables(), strict=True):
        old.copy_(new)
    model.sparse_arch = arch
    optimizer = DLRMOptimizer(dense_optimizer(model.dense_parameters(), spec.training.optimizer.dense),
                              coo_sparse_optimizer(arch.tables(), spec.training.optimizer.sparse))
    return model, optimizer
