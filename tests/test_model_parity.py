"""The two embedding backends compute the same function and apply the same updates.

Both models are built from one seed and trained side by side on the same batches (one-hot and
multi-hot with duplicate ids, so fbgemm's "exact" per-row gradient aggregation is exercised); the
logits of every step and all weights after the last must agree. Tolerance: rtol 1e-4, atol 1e-5
(fbgemm and torch sum the pooled gradients in different orders; fp32 rounding only).
"""

from __future__ import annotations

import pytest
import torch
from model_helpers import CPU, INTERACTIONS, multi_hot_batch, one_hot_batch, tiny_spec

from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer

pytest.importorskip("torchrec")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def _optimizers(dense: str, sparse: str) -> dict[str, dict[str, object]]:
    return {"dense": {"name": dense, "lr": 0.05}, "sparse": {"name": sparse, "lr": 0.2, "eps": 1e-6}}


def _train_side_by_side(dense: str, sparse: str, interaction: dict[str, object], steps: int = 4) -> None:
    spec = tiny_spec(interaction=interaction)
    spec = spec.model_copy(update={"training": spec.training.model_validate(
        {**spec.training.model_dump(), "optimizer": _optimizers(dense, sparse)})})
    models = {backend: build_model(spec, backend, CPU, seed=11) for backend in ("torch", "torchrec")}
    optimizers = {backend: build_optimizer(model, spec.training.optimizer) for backend, model in models.items()}
    for step in range(steps):
        batch = multi_hot_batch(spec, size=12, seed=step) if step % 2 else one_hot_batch(spec, size=12, seed=step)
        logits = {}
        for backend, model in models.items():
            optimizers[backend].zero_grad()
            logits[backend] = model(batch)
            torch.nn.functional.binary_cross_entropy_with_logits(logits[backend], batch.labels).backward()
            optimizers[backend].step()
        torch.testing.assert_close(logits["torchrec"], logits["torch"], **TOLERANCE)
    trained = {backend: model.state_dict() for backend, model in models.items()}
    initial = build_model(spec, "torch", CPU, seed=11).state_dict()
    for key, value in trained["torch"].items():
        torch.testing.assert_close(trained["torchrec"][key], value, **TOLERANCE, msg=key)
    moved = [key for key in initial if "embedding_bags" in key and not torch.equal(initial[key], trained["torch"][key])]
    assert len(moved) == spec.data.num_sparse  # every table was updated (the test is not vacuous)


@pytest.mark.parametrize("sparse", ["sgd", "adagrad", "rowwise_adagrad"])
def test_sparse_optimizers_agree(sparse: str) -> None:
    _train_side_by_side("adagrad", sparse, INTERACTIONS[0])


@pytest.mark.parametrize("dense", ["sgd", "adam"])
def test_dense_optimizers_agree(dense: str) -> None:
    _train_side_by_side(dense, "rowwise_adagrad", INTERACTIONS[1])


def test_wukong_agrees() -> None:
    _train_side_by_side("adam", "adagrad", INTERACTIONS[2], steps=3)
