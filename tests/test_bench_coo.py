"""The old sparse-COO torch backend that the benchmarks keep for comparison (bench/coo_backend.py):
its row-wise Adagrad is fbgemm's, and it trains like the table-batched backend that replaced it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from model_helpers import CPU, multi_hot_batch, one_hot_batch, tiny_spec
from tbe_helpers import HAND_IDS, HAND_UPSTREAM, hand_table, rowwise_adagrad_by_hand

from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}  # as tests/test_model_parity.py


def _load_bench_module() -> ModuleType:
    """bench/ is a folder of scripts, not a package: load the module from its file."""
    path = Path(__file__).resolve().parent.parent / "bench" / "coo_backend.py"
    spec = importlib.util.spec_from_file_location("coo_backend", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("coo_backend", module)
    spec.loader.exec_module(module)
    return module


coo = _load_bench_module()


def _sparse_grad_step(optimizer_cls: type, ids: torch.Tensor, upstream: torch.Tensor, **kwargs: float) -> torch.Tensor:
    table = torch.nn.Parameter(hand_table())
    optimizer = optimizer_cls([table], **kwargs)
    for _ in range(2):
        optimizer.zero_grad()
        (torch.nn.functional.embedding(ids, table, sparse=True) * upstream).sum().backward()
        optimizer.step()
    return table.detach()


def test_rowwise_adagrad_by_hand() -> None:
    updated = _sparse_grad_step(coo.SparseRowWiseAdagrad, torch.tensor(HAND_IDS), HAND_UPSTREAM, lr=0.5, eps=1e-3)
    torch.testing.assert_close(updated, rowwise_adagrad_by_hand(lr=0.5, eps=1e-3))


def test_rowwise_adagrad_matches_torchrec_dense_version() -> None:
    """torchrec's RowWiseAdagrad on dense gradients leaves zero-gradient rows unchanged too."""
    rowwise = pytest.importorskip("torchrec.optim.rowwise_adagrad")
    ids, upstream = torch.tensor([0, 3, 3, 5]), torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    ours = _sparse_grad_step(coo.SparseRowWiseAdagrad, ids, upstream, lr=0.1, eps=1e-8)
    table = torch.nn.Parameter(hand_table())
    theirs = rowwise.RowWiseAdagrad([table], lr=0.1, eps=1e-8)
    for _ in range(2):
        theirs.zero_grad()
        (torch.nn.functional.embedding(ids, table) * upstream).sum().backward()
        theirs.step()
    torch.testing.assert_close(ours, table.detach())


def test_rowwise_adagrad_refuses_dense_gradients() -> None:
    table = torch.nn.Parameter(torch.ones(3, 2))
    table.grad = torch.ones(3, 2)
    with pytest.raises(TypeError, match="sparse gradients"):
        coo.SparseRowWiseAdagrad([table], lr=0.1).step()


@pytest.mark.parametrize("sparse", ["sgd", "adagrad", "rowwise_adagrad"])
def test_trains_like_the_table_batched_backend(sparse: str) -> None:
    spec = tiny_spec()
    optimizers = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"name": sparse, "lr": 0.2})})
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"optimizer": optimizers})})
    new = build_model(spec, "torch", CPU, seed=2)
    trainables = [(new, build_optimizer(new, spec.training.optimizer)), coo.build_coo_model(spec, CPU, seed=2)]
    for step in range(4):
        batch = multi_hot_batch(spec, size=12, seed=step) if step % 2 else one_hot_batch(spec, size=12, seed=step)
        logits = []
        for model, optimizer in trainables:
            optimizer.zero_grad()
            logits.append(model(batch))
            torch.nn.functional.binary_cross_entropy_with_logits(logits[-1], batch.labels).backward()
            optimizer.step()
        torch.testing.assert_close(logits[1], logits[0], **TOLERANCE)
    old_state = trainables[1][0].state_dict()
    for key, value in new.state_dict().items():
        torch.testing.assert_close(old_state[key], value, **TOLERANCE, msg=key)
