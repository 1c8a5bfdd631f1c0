"""Table-batched embedding bags with the sparse optimizer fused into backward, in plain PyTorch
(+ an optional Triton kernel on CUDA): the ``torch`` backend's tables (reference/model/embeddings.py).

Layout: every table in one weight [R, D] (table f holds rows ``row_offsets[f]`` to
``row_offsets[f] + rows_f``), shown per table as ``embedding_bags.t_cat_<i>.weight``: parameters
that are views of it, under torchrec's names, so that a state dict is interchangeable with the
torchrec backend's and the seeded init (reference/model/init.py) draws the same tables.

Forward: the batch's ids become rows of the batched weight in example-major bag order, then one
gather (one-hot) or one ``embedding_bag`` (multi-hot, sum pooling) gives [B, F, D] (tbe_ops.py).

Backward (:class:`_FusedLookup`): the weight gets no gradient. The pooled gradient [B, F, D] is
summed per distinct row and the optimizer (fbgemm's EXACT_SGD / EXACT_ADAGRAD /
EXACT_ROWWISE_ADAGRAD: tests/test_model_parity.py pins them against fbgemm) updates those rows and
their state in place, at once. No sparse (COO) tensor, no coalesce, nothing for ``step()`` to do but
hand over the learning rate (reference/model/optim.py, as torchrec's fused optimizer).

Kernels (``TableBatchedEmbeddingBags.kernel``), all giving the same update up to fp32 rounding:

- ``sorted``: stable sort of the rows, then each row's gradient summed in batch order with one
  ``embedding_bag`` over the gradient, then the optimizer (tbe_ops.apply_update). Deterministic on
  every device. The CPU default;
- ``triton``: the same sorted segments, summed and applied in one Triton kernel (tbe_triton.py).
  Deterministic (fixed order, no atomics). The CUDA default when Triton is installed;
- ``atomic``: ``unique`` + ``index_add_``: on CUDA a row's duplicates are added atomically in no
  fixed order, so two runs may differ in the last bits (unless torch.use_deterministic_algorithms
  is on, which makes index_add_ deterministic and slower). The CUDA default without Triton.

``auto`` picks as above.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from reference.data.batch import Batch
from reference.model import tbe_ops, tbe_triton
from reference.model.tbe_ops import RowLookup, SparseUpdate

Kernel = Literal["auto", "sorted", "triton", "atomic"]
KERNELS: tuple[Kernel, ...] = ("auto", "sorted", "triton", "atomic")


class _FusedLookup(torch.autograd.Function):
    """Pooled lookup whose backward applies the sparse optimizer to the tables instead of
    returning a gradient for them. ``anchor`` is an empty tensor that requires grad: it makes the
    output part of the graph (the weights themselves do not require grad), as fbgemm's TBE does."""

    @staticmethod
    def forward(ctx: Any, anchor: torch.Tensor, tables: TableBatchedEmbeddingBags, plan: RowLookup) -> torch.Tensor:
        del anchor
        ctx.tables, ctx.plan = tables, plan
        return tbe_ops.pool(tables.weights, plan)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, None, None]:
        ctx.tables.apply_gradient(ctx.plan, grad)
        return None, None, None


class _Table(nn.Module):
    """Holds one table's ``weight``: a parameter that views rows of the batched weight."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)


class TableBatchedEmbeddingBags(nn.Module):
    """F tables of D columns in one weight, sum-pooled, optimizer applied in backward (see above).

    names, rows: each table's name and rows; update: the sparse optimizer and its lr/eps (the lr
    may change later: ``update`` is read at every backward); kernel: see the module docstring.
    """

    def __init__(self, names: Sequence[str], rows: Sequence[int], dim: int, update: SparseUpdate,
                 device: torch.device, kernel: Kernel = "auto") -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; known: {', '.join(KERNELS)}")
        if len(names) != len(rows):
            raise ValueError(f"{len(names)} table names for {len(rows)} tables")
        self.dim, self.update, self.kernel = dim, update, kernel
        starts = [0, *itertools.accumulate(rows)]
        self.slices = list(itertools.pairwise(starts))
        self.total_rows = starts[-1]
        # Buffers, not parameters: they move with the module but are saved per table (the views).
        self.register_buffer("weights", torch.empty(self.total_rows, dim, device=device), persistent=False)
        self.register_buffer("state", tbe_ops.new_state(update.name, self.total_rows, dim, device), persistent=False)
        self.register_buffer("row_offsets", torch.tensor(starts[:-1], device=device), persistent=False)
        self.register_buffer("table_rows", torch.tensor(list(rows), device=device), persistent=False)
        self.embedding_bags = nn.ModuleDict(
            {name: _Table(self.weights[start:stop]) for name, (start, stop) in zip(names, self.slices, strict=True)}
        )

    def tables(self) -> list[nn.Parameter]:
        """The per-table weights [rows_f, D], in feature order (views of ``weights``)."""
        return [table.weight for table in self.embedding_bags.values()]

    def state_views(self) -> list[torch.Tensor | None]:
        """Each table's optimizer state (rows of ``state``): [rows_f, D], [rows_f], or None (SGD)."""
        if not self.state.numel():
            return [None] * len(self.slices)
        return [self.state[start:stop] for start, stop in self.slices]

    def _apply(self, fn: Any, recurse: bool = True) -> TableBatchedEmbeddingBags:
        """Module.to/cuda/half/...: moving the per-table parameters copies them; point them back
        into the moved batched weight so that the lookups and the state dict stay one memory."""
        super()._apply(fn, recurse)
        for table, (start, stop) in zip(self.embedding_bags.values(), self.slices, strict=True):
            table.weight.data = self.weights[start:stop]
        return self

    def forward(self, batch: Batch, one_hot: bool) -> torch.Tensor:
        """batch (F features, B examples) -> pooled embeddings [B, F, D]; ``one_hot``: whether every
        bag has exactly one id (reference.model.embeddings.one_id_per_bag).

        With gradients enabled, the backward through the result updates the tables.
        """
        plan = tbe_ops.lookup_plan(batch, self.table_rows, self.row_offsets, one_hot)
        if not torch.is_grad_enabled():
            return tbe_ops.pool(self.weights, plan)
        anchor = torch.empty(0, device=self.weights.device, requires_grad=True)
        return _FusedLookup.apply(anchor, self, plan)

    def resolved_kernel(self, device: torch.device) -> Kernel:
        if self.kernel != "auto":
            return self.kernel
        if device.type == "cuda":
            return "triton" if tbe_triton.available() else "atomic"
        return "sorted"

    @torch.no_grad()
    def apply_gradient(self, plan: RowLookup, grad: torch.Tensor) -> None:
        """The optimizer step of ``grad`` [B, F, D], the gradient of the pooled output (in place)."""
        grad = grad.to(self.weights.dtype).reshape(plan.batch_size * plan.num_features, self.dim).contiguous()
        kernel = self.resolved_kernel(grad.device)
        if kernel == "atomic":
            rows, row_grads = tbe_ops.atomic_row_sums(plan, grad)
        else:
            segments = tbe_ops.sorted_segments(plan, self.total_rows)
            if kernel == "triton":
                tbe_triton.segment_update(grad, segments, self.weights, self.state, self.update)
                return
            rows, row_grads = segments.rows, tbe_ops.segment_sums(grad, segments)
        tbe_ops.apply_update(self.weights, self.state, rows, row_grads, self.update)
