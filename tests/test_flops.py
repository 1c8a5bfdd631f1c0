"""recscale/accounting.py: parameter counts against the built model; FLOPs and bytes by hand."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from model_helpers import CPU, INTERACTIONS, backends, one_hot_batch, tiny_spec
from torch.utils.flop_counter import FlopCounterMode

from recscale import accounting as flops
from recscale.load import load_workload
from recscale.resources import packaged_workloads
from recscale.spec import WorkloadSpec
from reference.model.dlrm import build_model

META = torch.device("meta")
KEYS = {"embedding", "bottom_mlp", "interaction", "top_mlp", "total"}


def _workload(name: str) -> WorkloadSpec:
    return load_workload(packaged_workloads() / f"{name}.yaml")


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("interaction", INTERACTIONS, ids=lambda i: i["kind"])
def test_counts_match_the_built_model(backend: str, interaction: dict[str, Any]) -> None:
    spec = tiny_spec(interaction=interaction)
    counts = flops.param_counts(spec)
    assert set(counts) == KEYS
    assert counts == build_model(spec, backend, CPU, seed=0).param_counts()


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("workload", ["smoke", "dlrm-criteo-kaggle", "dlrm-dcnv2-criteo1tb"])
def test_counts_match_real_workloads_built_on_meta(backend: str, workload: str) -> None:
    """The MLPerf DLRM-DCNv2 (26B parameters) and Criteo Kaggle (540M) models, never materialised."""
    spec = _workload(workload)
    counts = flops.param_counts(spec)
    assert counts == build_model(spec, backend, META, seed=0).param_counts()
    if workload == "dlrm-dcnv2-criteo1tb":
        # 204M rows x 128; DCN: 3 layers of (2 x 3456 x 512 + 3456); over arch 3456-1024-1024-512-256-1.
        assert counts["embedding"] == 204_184_588 * 128
        assert counts["interaction"] == 3 * (2 * 3456 * 512 + 3456)
        assert 26.1e9 < counts["total"] < 26.2e9


def test_hand_counted_flops_and_bytes() -> None:
    """F = 4 features, D = 4, dense 3 -> 8 -> 4, dot, top 14 -> 6 -> 1 (14 = 4 + 5*4/2)."""
    spec = tiny_spec()
    forward = flops.forward_flops_per_example(spec)
    assert forward == {
        "embedding": 4 * 4,
        "bottom_mlp": (2 * 3 * 8 + 8) + (2 * 8 * 4 + 4),
        "interaction": 2 * 4 * 10,
        "top_mlp": (2 * 14 * 6 + 6) + (2 * 6 * 1 + 1),
        "total": 16 + 124 + 80 + 187,
    }
    train = flops.train_flops_per_example(spec)
    assert set(train) == KEYS
    assert train["embedding"] == 2 * 16
    assert all(train[k] == 3 * forward[k] for k in ("bottom_mlp", "interaction", "top_mlp"))
    assert train["total"] == sum(v for k, v in train.items() if k != "total")
    multi_hot = flops.train_flops_per_example(spec, ids_per_feature=[3, 0, 1, 2])
    assert multi_hot["embedding"] == 2 * 6 * 4 and multi_hot["top_mlp"] == train["top_mlp"]


@pytest.mark.parametrize(("sparse", "state_values"), [("sgd", 0), ("adagrad", 2 * 4), ("rowwise_adagrad", 2)])
def test_embedding_bytes(sparse: str, state_values: int) -> None:
    spec = tiny_spec()
    optimizer = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"name": sparse})}
    )
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"optimizer": optimizer})})
    # 4 ids of D = 4: read the row, read + write it, read + write its state; 4 bytes a value.
    assert flops.embedding_bytes_per_example(spec) == 4 * (4 + 2 * 4 + state_values) * 4


def test_bad_ids_per_feature_is_an_error() -> None:
    with pytest.raises(ValueError, match="ids_per_feature needs 4"):
        flops.train_flops_per_example(tiny_spec(), ids_per_feature=[1, 1])


def test_matrix_products_agree_with_torch_flop_counter() -> None:
    """The whole DLRM's matmul FLOPs as torch counts them = ours minus bias adds, with the dot
    interaction's full Gram matrix in place of its distinct pairs."""
    spec = tiny_spec()
    model = build_model(spec, "torch", CPU, seed=0)
    with FlopCounterMode(display=False) as counter:
        model(one_hot_batch(spec, size=1))
    forward = flops.forward_flops_per_example(spec)
    biases = sum(spec.model.bottom_mlp) + sum(spec.model.top_mlp)
    gram = 2 * (spec.data.num_sparse + 1) ** 2 * spec.model.embedding.dim
    assert counter.get_total_flops() == forward["bottom_mlp"] + forward["top_mlp"] - biases + gram


def test_mlp_bound_benchmark_model_is_about_3_mflop() -> None:
    """The MLP-bound benchmark model costs about 3 MFLOP per example (forward + backward)."""
    spec = tiny_spec(embedding={"dim": 64}, bottom_mlp=[512, 256, 64], top_mlp=[512, 256, 1])
    spec = spec.model_copy(update={"data": spec.data.model_copy(update={"cardinalities": [100_000] * 26,
                                                                        "num_dense": 13})})
    total = flops.train_flops_per_example(spec)["total"]
    assert 2.5e6 < total < 3.5e6
