"""Optimizers: how build_optimizer splits and configures them (the sparse update itself:
tests/test_model_tbe.py)."""

from __future__ import annotations

import pytest
import torch
from model_helpers import CPU, backends, one_hot_batch, tiny_spec

from recscale.spec import OptimizersSpec
from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")


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
