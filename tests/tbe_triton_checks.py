"""Checks of the Triton kernel (reference/model/tbe_triton.py) under Triton's interpreter on the
CPU: against the dense oracle and against the plain-PyTorch path. Run by
tests/test_model_tbe_triton.py in a process of their own with TRITON_INTERPRET=1 (Triton reads it
when first imported).
"""

from __future__ import annotations

import pytest
import torch
from tbe_helpers import DIM, OPTIMIZERS, build_tables, random_batch, train_against_oracle, triton_against_pytorch

from reference.model import tbe_triton
from reference.model.tbe_ops import SparseUpdate, lookup_plan, sorted_segments

CPU = torch.device("cpu")


def test_runs_under_the_interpreter() -> None:
    assert tbe_triton.interpreting()


@pytest.mark.parametrize("multi_hot", [False, True], ids=["one-hot", "multi-hot"])
@pytest.mark.parametrize("update", OPTIMIZERS)
def test_matches_the_dense_oracle(update: str, multi_hot: bool) -> None:
    train_against_oracle(update, multi_hot, CPU, "triton", steps=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("update", OPTIMIZERS)
def test_matches_the_pytorch_path_on_hot_rows(update: str) -> None:
    """Rows hit by more ids than one tile of the many-ids launch holds: its loop over tiles."""
    batch = random_batch(5, 6000, multi_hot=True, device=CPU, id_scale=1)  # ~48k ids on 29 rows
    tables = {kernel: build_tables(update, CPU, kernel) for kernel in ("sorted", "triton")}  # type: ignore[arg-type]
    grad = torch.randn(batch.size * batch.num_sparse, DIM, generator=torch.Generator().manual_seed(2))
    segments = triton_against_pytorch(batch, tables, grad, one_hot=False)
    assert int((segments.offsets[1:] - segments.offsets[:-1]).max()) > 2 * tbe_triton.MANY_TILE_VALUES // 8


def test_refuses_the_cpu_without_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    tables = build_tables("sgd", CPU, "triton")
    plan = lookup_plan(random_batch(0, 4, multi_hot=False, device=CPU), tables.table_rows, tables.row_offsets, True)
    segments = sorted_segments(plan, tables.total_rows)
    with pytest.raises(RuntimeError, match="runs on CUDA"):
        tbe_triton.segment_update(torch.zeros(16, 6), segments, tables.weights, tables.state,
                                  SparseUpdate("sgd", 0.1, 1e-8))
