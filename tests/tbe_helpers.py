"""The table-batched embedding against a dense oracle (tests/test_model_tbe*.py).

The oracle holds one dense nn.Parameter per table, pools with a dense product (a bag-count matrix
[B, rows] times the table: no gather, no embedding_bag), gets its gradients from autograd and
applies the optimizers' formulas written out on every row (an untouched row has a zero gradient,
for which all three leave the row and its state unchanged, so this equals the sparse update).
"""

from __future__ import annotations

import torch
from torch import nn

from reference.data.batch import Batch
from reference.model import tbe_triton
from reference.model.tbe import Kernel, TableBatchedEmbeddingBags
from reference.model.tbe_ops import (
    OptimizerName,
    Segments,
    SparseUpdate,
    apply_update,
    lookup_plan,
    segment_sums,
    sorted_segments,
)

ROWS = [5, 9, 2, 13]  # small tables: a batch repeats ids (duplicates are the point)
DIM = 6  # not a power of 2: the Triton kernel masks columns
OPTIMIZERS: list[OptimizerName] = ["sgd", "adagrad", "rowwise_adagrad"]
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def random_batch(seed: int, size: int, multi_hot: bool, device: torch.device, id_scale: int = 3) -> Batch:
    """Raw ids up to ``id_scale`` x each table's rows (mapped modulo the rows); multi-hot bags of
    0 to 4 ids (empty bags included)."""
    gen = torch.Generator().manual_seed(seed)
    features = len(ROWS)
    lengths = (torch.randint(0, 5, (features, size), generator=gen) if multi_hot
               else torch.ones(features, size, dtype=torch.int64)).to(torch.int32)
    values = torch.cat([torch.randint(0, rows * id_scale, (int(n),), generator=gen)
                        for rows, n in zip(ROWS, lengths.sum(dim=1), strict=True)])
    batch = Batch(torch.zeros(size, 1), values, lengths, torch.zeros(size))
    return batch.to(device)


def bag_counts(batch: Batch) -> list[torch.Tensor]:
    """Per feature f: [B, rows_f], how often each row occurs in each example's bag."""
    counts = [torch.zeros(batch.size, rows, dtype=torch.float64) for rows in ROWS]
    values = iter(batch.sparse_values.cpu().tolist())
    for f, lengths in enumerate(batch.sparse_lengths.cpu().tolist()):
        for b, length in enumerate(lengths):
            for _ in range(length):
                counts[f][b, next(values) % ROWS[f]] += 1
    return counts


class DenseOracle:
    """Dense tables (float64), autograd, the optimizer formulas applied to every row."""

    def __init__(self, tables: list[torch.Tensor], update: SparseUpdate) -> None:
        self.tables = [nn.Parameter(t.detach().cpu().double().clone()) for t in tables]
        self.update = update
        shapes = {"sgd": lambda t: (0,), "adagrad": lambda t: t.shape, "rowwise_adagrad": lambda t: (t.shape[0],)}
        self.state = [torch.zeros(shapes[update.name](t), dtype=torch.float64) for t in self.tables]

    def pooled(self, batch: Batch) -> torch.Tensor:
        """[B, F, D] by dense products."""
        return torch.stack([c @ t for c, t in zip(bag_counts(batch), self.tables, strict=True)], dim=1)

    @torch.no_grad()
    def step(self) -> None:
        lr, eps = self.update.lr, self.update.eps
        for table, state in zip(self.tables, self.state, strict=True):
            grad = table.grad
            if self.update.name == "sgd":
                table -= lr * grad
            elif self.update.name == "adagrad":
                state += grad * grad
                table -= lr * grad / (state.sqrt() + eps)
            else:
                state += (grad * grad).mean(dim=1)
                table -= lr * grad / (state.sqrt() + eps).unsqueeze(1)
            table.grad = None


def loss_of(pooled: torch.Tensor, seed: int) -> torch.Tensor:
    """A loss whose gradient depends on the weights (so errors compound over steps)."""
    upstream = torch.randn(pooled.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (torch.tanh(pooled.double()) * upstream.to(pooled.device)).sum()


def build_tables(update: OptimizerName, device: torch.device, kernel: Kernel) -> TableBatchedEmbeddingBags:
    tables = TableBatchedEmbeddingBags([f"t{i}" for i in range(len(ROWS))], ROWS, DIM,
                                       SparseUpdate(update, lr=0.3, eps=1e-3), device, kernel)
    with torch.no_grad():
        tables.weights.copy_(torch.randn(tables.weights.shape, generator=torch.Generator().manual_seed(1)))
    return tables


def train_against_oracle(update: OptimizerName, multi_hot: bool, device: torch.device, kernel: Kernel,
                         steps: int = 4, size: int = 16) -> None:
    """``steps`` steps of the TBE and of the oracle on the same batches; pooled outputs, tables
    and optimizer state must agree at every step."""
    tables = build_tables(update, device, kernel)
    oracle = DenseOracle(tables.tables(), tables.update)
    for step in range(steps):
        batch = random_batch(step, size, multi_hot, device)
        one_hot = not multi_hot
        pooled = tables(batch, one_hot)
        expected = oracle.pooled(batch)
        torch.testing.assert_close(pooled.double().cpu(), expected, **TOLERANCE)
        loss_of(pooled, step).backward()
        loss_of(expected, step).backward()
        oracle.step()
        for got, want in zip(tables.tables(), oracle.tables, strict=True):
            torch.testing.assert_close(got.detach().double().cpu(), want.detach(), **TOLERANCE)
        for got, want in zip(tables.state_views(), oracle.state, strict=True):
            if got is not None:
                torch.testing.assert_close(got.double().cpu(), want, **TOLERANCE)
    initial = build_tables(update, device, kernel).weights
    assert not torch.equal(initial, tables.weights)  # the tables did train (the test is not vacuous)


# A row-wise Adagrad case worked by hand: a 6 x 4 table (values 0.0 .. 2.3), ids 1, 4, 1 (row 1
# twice: its gradients are summed before the update), loss sum(lookups * HAND_UPSTREAM), 2 steps.
HAND_IDS = [1, 4, 1]
HAND_UPSTREAM = torch.tensor([[1.0, 2, 3, 4], [0, 0, 0, 2], [1, 0, 1, 0]])


def hand_table() -> torch.Tensor:
    return torch.arange(24, dtype=torch.float32).view(6, 4) / 10


def rowwise_adagrad_by_hand(lr: float = 0.5, eps: float = 1e-3) -> torch.Tensor:
    """The table after two steps of the hand case."""
    table = hand_table()
    grads = {1: torch.tensor([2.0, 2, 4, 4]), 4: torch.tensor([0.0, 0, 0, 2])}  # duplicates summed
    for step in (1, 2):
        for row, grad in grads.items():
            accumulated = step * grad.square().mean()
            table[row] -= lr * grad / (accumulated.sqrt() + eps)
    return table


def triton_against_pytorch(batch: Batch, tables: dict[str, TableBatchedEmbeddingBags], grad: torch.Tensor,
                           one_hot: bool) -> Segments:
    """One update of the pooled gradient ``grad`` [B * F, D] by the Triton kernel (tables["triton"])
    and by the PyTorch path (tables["sorted"]), both from the same weights: they must agree.
    Sums of many values in another order: fp32 rounding of about n x 6e-8 relative."""
    reference, fused = tables["sorted"], tables["triton"]
    plan = lookup_plan(batch, reference.table_rows, reference.row_offsets, one_hot)
    segments = sorted_segments(plan, reference.total_rows)
    apply_update(reference.weights, reference.state, segments.rows, segment_sums(grad, segments), reference.update)
    tbe_triton.segment_update(grad, segments, fused.weights, fused.state, fused.update)
    torch.testing.assert_close(fused.weights, reference.weights, rtol=1e-4, atol=1e-5)
    # The optimizer state squares the summed gradient of a row: summed in another order, a row hit n
    # times by random-sign gradients (|sum| ~ sqrt(n) of its terms) differs by up to about n ulps of its
    # terms, sqrt(n) x n x 6e-8 relative to the sum. Measured on an H200: 6e-4 for rows hit ~2,700 times.
    hits = int((segments.offsets[1:] - segments.offsets[:-1]).max())
    state_rtol = max(1e-4, hits**1.5 * 6e-8)
    torch.testing.assert_close(fused.state, reference.state, rtol=state_rtol, atol=1e-5)
    return segments
