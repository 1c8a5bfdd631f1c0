"""The tensor operations of the table-batched embedding (reference/model/tbe.py), as plain functions.

Notation: F features (one table each), B examples, D the embedding dim, R the rows of all tables
together, N the ids of a batch (F x B when one-hot), U the distinct rows a batch touched.

- :func:`lookup_plan`: a Batch -> the rows to read, in example-major bag order (bag ``b * F + f``
  is example b's feature f), so that the pooled output is [B, F, D] without a transpose of floats;
- :func:`pool`: one gather (one-hot) or one ``embedding_bag`` (multi-hot, sum) per batch;
- :func:`sorted_segments` + :func:`segment_sums`: the per-row sums of a pooled gradient,
  deterministic (stable sort, each row's ids summed in batch order); :func:`atomic_row_sums`:
  the same with ``unique`` + ``index_add_`` (atomic adds on CUDA: summation order not fixed);
- :func:`apply_update`: fbgemm's EXACT_SGD / EXACT_ADAGRAD / EXACT_ROWWISE_ADAGRAD on those rows,
  in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch.nn import functional

from reference.data.batch import Batch

OptimizerName = Literal["sgd", "adagrad", "rowwise_adagrad"]
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class SparseUpdate:
    """The optimizer the tables apply inside backward (recscale.spec.SparseOptimizerSpec's fields)."""

    name: OptimizerName
    lr: float
    eps: float


@dataclass(frozen=True)
class RowLookup:
    """Which rows one batch reads, in example-major bag order.

    rows:         [N] int64, rows of the batched weight (table offset + id % table rows)
    bag_of_value: [N] int64, the bag (``b * F + f``) each id is pooled into; None when one-hot
                  (then id i is bag i)
    offsets:      [B * F + 1] int64, where each bag starts in ``rows``; None when one-hot
    """

    rows: torch.Tensor
    bag_of_value: torch.Tensor | None
    offsets: torch.Tensor | None
    batch_size: int
    num_features: int

    @property
    def one_hot(self) -> bool:
        return self.bag_of_value is None


def lookup_plan(batch: Batch, table_rows: torch.Tensor, row_offsets: torch.Tensor, one_hot: bool) -> RowLookup:
    """The rows of ``batch`` (raw ids taken modulo their table's rows) in the batched weight.

    table_rows, row_offsets: [F] int64 on the batch's device (rows of each table, its first row).
    ``one_hot``: reference.model.embeddings.one_id_per_bag(batch).
    """
    features, size = batch.num_sparse, batch.size
    if one_hot:
        ids = batch.one_hot_ids() % table_rows.unsqueeze(1) + row_offsets.unsqueeze(1)  # [F, B]
        return RowLookup(ids.t().reshape(-1), None, None, size, features)
    values, count = batch.sparse_values, batch.sparse_values.numel()
    lengths = batch.sparse_lengths.to(torch.int64)  # [F, B]
    arange = torch.arange(features * size, device=values.device)
    feature = torch.arange(features, device=values.device).repeat_interleave(lengths.sum(dim=1), output_size=count)
    rows = values % table_rows[feature] + row_offsets[feature]  # feature-major, as the batch is
    # Move every id from its feature-major bag (f * B + b) to its example-major bag (b * F + f).
    lengths_fm = lengths.reshape(-1)
    bag_fm = arange.repeat_interleave(lengths_fm, output_size=count)
    lengths_em = lengths.t().reshape(-1)
    offsets = torch.zeros(features * size + 1, dtype=torch.int64, device=values.device)
    torch.cumsum(lengths_em, dim=0, out=offsets[1:])
    position_in_bag = torch.arange(count, device=values.device) - (torch.cumsum(lengths_fm, 0) - lengths_fm)[bag_fm]
    destination = offsets[(bag_fm % size) * features + bag_fm // size] + position_in_bag
    rows_em = torch.empty_like(rows).index_copy_(0, destination, rows)
    bag_of_value = arange.repeat_interleave(lengths_em, output_size=count)
    return RowLookup(rows_em, bag_of_value, offsets, size, features)


def pool(weights: torch.Tensor, plan: RowLookup) -> torch.Tensor:
    """weights [R, D], plan -> the sum-pooled embedding of every bag, [B, F, D]."""
    if plan.one_hot:
        pooled = weights.index_select(0, plan.rows)
    else:
        pooled = functional.embedding_bag(plan.rows, weights, plan.offsets, mode="sum", include_last_offset=True)
    return pooled.view(plan.batch_size, plan.num_features, weights.shape[1])


@dataclass(frozen=True)
class Segments:
    """The ids of a batch grouped by row: ``sources[offsets[u]:offsets[u + 1]]`` are the bags
    (rows of the pooled gradient [B * F, D]) whose gradient row ``rows[u]`` receives, in batch order.

    rows [U] int64 (ascending), sources [N] int64, offsets [U + 1] int64.
    """

    rows: torch.Tensor
    sources: torch.Tensor
    offsets: torch.Tensor


def sorted_segments(plan: RowLookup, total_rows: int) -> Segments:
    """Group the ids by row with a stable sort (int32 keys when the rows fit: about 2x faster)."""
    keys = plan.rows.to(torch.int32) if total_rows <= INT32_MAX else plan.rows
    sorted_keys, order = torch.sort(keys, stable=True)
    rows, counts = torch.unique_consecutive(sorted_keys, return_counts=True)
    offsets = torch.zeros(rows.numel() + 1, dtype=torch.int64, device=rows.device)
    torch.cumsum(counts, dim=0, out=offsets[1:])
    sources = order if plan.bag_of_value is None else plan.bag_of_value[order]
    return Segments(rows.to(torch.int64), sources, offsets)


def segment_sums(grad: torch.Tensor, segments: Segments) -> torch.Tensor:
    """grad [B * F, D] -> the gradient of each touched row [U, D], summed in a fixed order.

    ``embedding_bag`` over the gradient is the segment sum: one bag per row, its sources as ids
    (one pass, no atomics, no [N, D] copy of the gradient).
    """
    return functional.embedding_bag(segments.sources, grad, segments.offsets, mode="sum", include_last_offset=True)


def atomic_row_sums(plan: RowLookup, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows [U], their gradients [U, D]) with ``unique`` + ``index_add_``: on CUDA the adds of a
    row's duplicates are atomic, in no fixed order, unless torch.use_deterministic_algorithms(True)."""
    rows, inverse = torch.unique(plan.rows, return_inverse=True)
    values = grad if plan.bag_of_value is None else grad.index_select(0, plan.bag_of_value)
    return rows, grad.new_zeros(rows.numel(), grad.shape[1]).index_add_(0, inverse, values)


def new_state(update: OptimizerName, rows: int, dim: int, device: torch.device) -> torch.Tensor:
    """The optimizer state of R rows: Adagrad's sum of squares [R, D], row-wise Adagrad's [R],
    none for SGD ([0])."""
    shape = {"sgd": (0,), "adagrad": (rows, dim), "rowwise_adagrad": (rows,)}[update]
    return torch.zeros(shape, dtype=torch.float32, device=device)


@torch.no_grad()
def apply_update(weights: torch.Tensor, state: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor,
                 update: SparseUpdate) -> None:
    """fbgemm's exact sparse optimizers on distinct ``rows`` [U] with summed ``grads`` [U, D], in place.

    SGD: ``w -= lr * g``; Adagrad: ``s += g^2; w -= lr * g / (sqrt(s) + eps)`` per value;
    row-wise Adagrad: ``s += mean(g^2); w -= lr * g / (sqrt(s) + eps)`` with one s per row.
    Rows the batch did not touch are left alone, state included.
    """
    if update.name == "sgd":
        steps = grads
    else:
        if update.name == "adagrad":
            accumulated = state.index_select(0, rows).addcmul_(grads, grads)
        else:
            accumulated = state.index_select(0, rows).add_(grads.square().mean(dim=1))
        state.index_copy_(0, rows, accumulated)
        scale = accumulated.sqrt_().add_(update.eps)  # in place: the state has its copy
        steps = torch.div(grads, scale if update.name == "adagrad" else scale.unsqueeze(1))
    # Gather, add, write back: the rows are distinct, and on the CPU index_add_ over a 2-D weight
    # adds row by row (about 10x slower than this).
    weights.index_copy_(0, rows, weights.index_select(0, rows).add_(steps, alpha=-update.lr))
