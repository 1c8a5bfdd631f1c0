"""Optimizers: the sparse row-wise Adagrad, and how build_optimizer splits and configures them."""

from __future__ import annotations

import pytest
import torch
from model_helpers import CPU, backends, one_hot_batch, tiny_spec

from recscale.spec import OptimizersSpec
from reference.model.dlrm import build_model
from reference.model.optim import SparseRowWiseAdagrad, build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")


def _sparse_grad_step(optimizer_cls: type, ids: torch.Tensor, upstream: torch.Tensor, **kwargs: float) -> torch.Tensor:
    table = torch.nn.Parameter(torch.arange(24, dtype=torch.float32).view(6, 4) / 10)
    optimizer = optimizer_cls([table], **kwargs)
    for _ in range(2):
        optimizer.zero_grad()
        (torch.nn.functional.embedding(ids, table, sparse=True) * upstream).sum().backward()
        optimizer.step()
    return table.detach()


def test_rowwise_adagrad_by_hand() -> None:
    ids, upstream = torch.tensor([1, 4, 1]), torch.tensor([[1.0, 2, 3, 4], [0, 0, 0, 2], [1, 0, 1, 0]])
    updated = _sparse_grad_step(SparseRowWiseAdagrad, ids, upstream, lr=0.5, eps=1e-3)
    table = torch.arange(24, dtype=torch.float32).view(6, 4) / 10
    grads = {1: torch.tensor([2.0, 2, 4, 4]), 4: torch.tensor([0.0, 0, 0, 2])}  # duplicates summed
    for step in (1, 2):
        for row, grad in grads.items():
            accumulated = step * grad.square().mean()
            table[row] -= 0.5 * grad / (accumulated.sqrt() + 1e-3)
    torch.testing.assert_close(updated, table)


def test_rowwise_adagrad_matches_torchrec_dense_version() -> None:
    """torchrec's RowWiseAdagrad on dense gradients leaves zero-gradient rows unchanged too."""
    rowwise = pytest.importorskip("torchrec.optim.rowwise_adagrad")
    ids, upstream = torch.tensor([0, 3, 3, 5]), torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    ours = _sparse_grad_step(SparseRowWiseAdagrad, ids, upstream, lr=0.1, eps=1e-8)
    table = torch.nn.Parameter(torch.arange(24, dtype=torch.float32).view(6, 4) / 10)
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
        SparseRowWiseAdagrad([table], lr=0.1).step()


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize(("dense", "expected"), [("sgd", torch.optim.SGD), ("adagrad", torch.optim.Adagrad),
                                                 ("adam", torch.optim.Adam)])
def test_dense_optimizer_gets_exactly_the_dense_parameters(backend: str, dense: str, expected: type) -> None:
    spec = tiny_spec()
    model = build_model(spec, backend, CPU, seed=0)
    optimizers = OptimizersSpec.model_validate(
        {"dense": {"name": dense, "lr": 0.3, "eps": 1e-7}, "sparse": spec.training.optimizer.sparse.model_dump()}
    )
    optimizer = build_optimizer(model, optimizers)
    assert type(optimizer.dense) is expected
    group = optimizer.dense.param_groups[0]
    assert group["lr"] == 0.3 and group.get("eps", 1e-7) == 1e-7
    tables = {id(t) for t in model.sparse_arch.tables()}
    params = optimizer.dense.param_groups[0]["params"]
    assert not tables & {id(p) for p in params}
    assert sum(p.numel() for p in params) == model.param_counts()["total"] - model.param_counts()["embedding"]


@pytest.mark.parametrize("backend", backends())
def test_state_dict_round_trip(backend: str) -> None:
    spec = tiny_spec()
    model = build_model(spec, backend, CPU, seed=0)
    optimizer = build_optimizer(model, spec.training.optimizer)
    batch = one_hot_batch(spec)
    torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels).backward()
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"dense", "sparse"} and state["dense"]["state"] and state["sparse"]["state"]
    fresh = build_optimizer(build_model(spec, backend, CPU, seed=0), spec.training.optimizer)
    fresh.load_state_dict(state)


def test_torchrec_tables_follow_the_build_spec() -> None:
    pytest.importorskip("torchrec")
    spec = tiny_spec()
    model = build_model(spec, "torchrec", CPU, seed=0)
    other = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"name": "adagrad"})}
    )
    with pytest.raises(ValueError, match="built with sparse optimizer rowwise_adagrad"):
        build_optimizer(model, other)
    faster = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"lr": 0.7})}
    )
    optimizer = build_optimizer(model, faster)
    assert all(group["lr"] == 0.7 for group in optimizer.sparse.param_groups)
    fbgemm = model.sparse_arch.embedding_bag_collection._emb_modules[0]._emb_module
    assert fbgemm.get_learning_rate() == pytest.approx(0.7)
