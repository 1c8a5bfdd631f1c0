"""The table-batched embedding on a GPU: every kernel (Triton, sorted, atomic) against the dense
oracle, the Triton kernel against the PyTorch path at bench sizes, and run-to-run determinism.
Skipped without CUDA (run by the lead on a GPU machine; the CPU checks: tests/test_model_tbe*.py).
"""

from __future__ import annotations

import pytest
import torch
from model_helpers import INTERACTIONS, multi_hot_batch, one_hot_batch, tiny_spec
from tbe_helpers import OPTIMIZERS, train_against_oracle, triton_against_pytorch

from reference.data.batch import Batch
from reference.model import tbe_triton
from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer
from reference.model.tbe import TableBatchedEmbeddingBags
from reference.model.tbe_ops import SparseUpdate

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")
KERNELS = ["sorted", "atomic", pytest.param("triton", marks=pytest.mark.skipif(
    not tbe_triton.available(), reason="Triton is not installed"))]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("multi_hot", [False, True], ids=["one-hot", "multi-hot"])
@pytest.mark.parametrize("update", OPTIMIZERS)
def test_matches_the_dense_oracle(update: str, multi_hot: bool, kernel: str) -> None:
    train_against_oracle(update, multi_hot, CUDA, kernel)  # type: ignore[arg-type]


@pytest.mark.skipif(not tbe_triton.available(), reason="Triton is not installed")
@pytest.mark.parametrize("dim", [64, 128])
@pytest.mark.parametrize("update", OPTIMIZERS)
def test_triton_matches_the_pytorch_path_at_bench_sizes(update: str, dim: int) -> None:
    """Tables of 3 to 100k rows (tiny ones make rows hit thousands of times), batch 8192."""
    rows = [3, 10, 1000, 100_000] * 4
    gen = torch.Generator(device=CUDA).manual_seed(0)
    size = 8192
    ids = torch.stack([torch.randint(0, r, (size,), device=CUDA, generator=gen) for r in rows])  # [F, B]
    lengths = torch.ones(len(rows), size, dtype=torch.int32, device=CUDA)
    batch = Batch(torch.zeros(size, 1, device=CUDA), ids.reshape(-1), lengths, torch.zeros(size, device=CUDA))
    names = [f"t{i}" for i in range(len(rows))]
    tables = {kernel: TableBatchedEmbeddingBags(names, rows, dim, SparseUpdate(update, 0.05, 1e-8), CUDA, kernel)
              for kernel in ("sorted", "triton")}
    start = torch.rand(tables["sorted"].weights.shape, device=CUDA, generator=gen)
    for each in tables.values():
        each.weights.copy_(start)
    grad = torch.randn(size * len(rows), dim, device=CUDA, generator=gen)
    segments = triton_against_pytorch(batch, tables, grad, one_hot=True)
    assert int((segments.offsets[1:] - segments.offsets[:-1]).max()) > 2000  # hot rows: the large-tile launch


def _train_twice(kernel: str) -> list[dict[str, torch.Tensor]]:
    spec = tiny_spec(interaction=INTERACTIONS[1])
    states = []
    for _ in range(2):
        model = build_model(spec, "torch", CUDA, seed=3)
        model.sparse_arch.embedding_bag_collection.kernel = kernel
        optimizer = build_optimizer(model, spec.training.optimizer)
        for step in range(4):
            batch = multi_hot_batch(spec, size=64, seed=step) if step % 2 else one_hot_batch(spec, size=64, seed=step)
            batch = batch.to(CUDA)
            optimizer.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels).backward()
            optimizer.step()
        states.append(model.state_dict())
    return states


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "atomic"])
def test_sorted_kernels_are_deterministic(kernel: str) -> None:
    """Same seed, same GPU: bit for bit (the atomic kernel is not: bench/bench_gpu.py measures it)."""
    first, second = _train_twice(kernel)
    for key, value in first.items():
        torch.testing.assert_close(second[key], value, rtol=0, atol=0, msg=key)
