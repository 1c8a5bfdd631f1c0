"""The reference DLRM: build on both backends, seeded init, id mapping, multi-hot, devices."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from model_helpers import CARDINALITIES, CPU, INTERACTIONS, backends, multi_hot_batch, one_hot_batch, tiny_spec

from reference.model.dlrm import build_model
from reference.model.embeddings import one_id_per_bag
from reference.model.optim import build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("interaction", INTERACTIONS, ids=lambda i: i["kind"])
def test_builds_trains_and_learns(backend: str, interaction: dict[str, Any]) -> None:
    spec = tiny_spec(interaction=interaction)
    model = build_model(spec, backend, CPU, seed=0)
    optimizer = build_optimizer(model, spec.training.optimizer)
    batch = one_hot_batch(spec, size=32)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        logits = model(batch)
        assert logits.shape == (32,)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch.labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # memorises one batch: every part gets updates


@pytest.mark.parametrize("backend", backends())
def test_seed_fixes_the_weights(backend: str) -> None:
    spec = tiny_spec()
    first = build_model(spec, backend, CPU, seed=5).state_dict()
    second = build_model(spec, backend, CPU, seed=5).state_dict()
    other = build_model(spec, backend, CPU, seed=6).state_dict()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)
    assert any(not torch.equal(first[key], other[key]) for key in first)


def test_same_weights_and_state_dict_keys_on_both_backends() -> None:
    pytest.importorskip("torchrec")
    spec = tiny_spec(interaction=INTERACTIONS[2])
    torch_state = build_model(spec, "torch", CPU, seed=3).state_dict()
    torchrec_state = build_model(spec, "torchrec", CPU, seed=3).state_dict()
    assert list(torch_state) == list(torchrec_state)
    for key, value in torch_state.items():
        torch.testing.assert_close(value, torchrec_state[key], rtol=0, atol=0)


def test_init_follows_the_documented_rules() -> None:
    spec = tiny_spec(embedding={"dim": 4, "hash_size": 1000})
    model = build_model(spec, "torch", CPU, seed=0)
    for rows, table in zip(spec.data.feature_cardinalities, model.sparse_arch.tables(), strict=True):
        assert table.shape == (rows, 4) and table.abs().max() <= rows**-0.5
    first = model.dense_arch[0]
    assert first.weight.abs().max() <= 3**-0.5 and first.bias.abs().max() <= 3**-0.5


def test_build_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model(tiny_spec(), "torch", CPU, seed=0)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


@pytest.mark.parametrize("backend", backends())
def test_ids_are_taken_modulo_the_table_rows(backend: str) -> None:
    spec = tiny_spec()  # hash_size 20: features of 30 and 50 ids share rows
    rows = torch.tensor(spec.model.embedding.rows(spec.data.feature_cardinalities))
    model = build_model(spec, backend, CPU, seed=0)
    batch = one_hot_batch(spec, scale=3)  # raw ids up to 3x the cardinality
    wrapped = copy.copy(batch)
    wrapped.sparse_values = (batch.one_hot_ids() % rows.unsqueeze(1)).reshape(-1)
    torch.testing.assert_close(model(batch), model(wrapped))
    pooled = model.sparse_arch(batch)
    tables = model.sparse_arch.tables()
    ids = batch.one_hot_ids()
    for f, table in enumerate(tables):
        torch.testing.assert_close(pooled[:, f], table[ids[f] % rows[f]])


@pytest.mark.parametrize("backend", backends())
def test_multi_hot_bags_are_summed(backend: str) -> None:
    spec = tiny_spec()
    rows = spec.model.embedding.rows(spec.data.feature_cardinalities)
    model = build_model(spec, backend, CPU, seed=0)
    batch = multi_hot_batch(spec)
    pooled = model.sparse_arch(batch)
    values = iter(batch.sparse_values.tolist())
    for f, table in enumerate(model.sparse_arch.tables()):
        for b in range(batch.size):
            ids = [next(values) % rows[f] for _ in range(int(batch.sparse_lengths[f, b]))]
            expected = table[ids].sum(0) if ids else torch.zeros(4)
            torch.testing.assert_close(pooled[b, f], expected)


@pytest.mark.parametrize("backend", backends())
def test_meta_device_allocates_nothing(backend: str) -> None:
    spec = tiny_spec(embedding={"dim": 64, "hash_size": 10**9}, bottom_mlp=[8, 64])
    model = build_model(spec, backend, torch.device("meta"), seed=0)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert model.param_counts()["embedding"] == sum(CARDINALITIES) * 64


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        build_model(tiny_spec(), "tensorflow", CPU, seed=0)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="cuda"):
        build_model(tiny_spec(), "torch", torch.device("cuda"), seed=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("backend", backends())
def test_cuda_matches_cpu(backend: str) -> None:
    spec = tiny_spec(interaction=INTERACTIONS[1])
    cuda = torch.device("cuda")
    models = {device: build_model(spec, backend, torch.device(device), seed=1) for device in ("cpu", "cuda")}
    optimizers = {device: build_optimizer(model, spec.training.optimizer) for device, model in models.items()}
    for step in range(3):
        batch = one_hot_batch(spec, seed=step)
        for device, model in models.items():
            optimizers[device].zero_grad()
            on_device = batch.to(cuda) if device == "cuda" else batch
            torch.nn.functional.binary_cross_entropy_with_logits(model(on_device), on_device.labels).backward()
            optimizers[device].step()
    batch = one_hot_batch(spec, seed=9)
    torch.testing.assert_close(models["cuda"](batch.to(cuda)).cpu(), models["cpu"](batch), rtol=1e-4, atol=1e-5)


def test_torchrec_fast_path_equals_the_keyed_jagged_tensor_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The direct fbgemm lookup and FusedEmbeddingBagCollection's own forward train identically."""
    embeddings_torchrec = pytest.importorskip("reference.model.embeddings_torchrec")
    spec = tiny_spec()
    fast, public = (build_model(spec, "torchrec", CPU, seed=2) for _ in range(2))
    assert fast.sparse_arch._single_lookup() is not None
    optimizers = [build_optimizer(model, spec.training.optimizer) for model in (fast, public)]
    for step in range(3):
        batch = multi_hot_batch(spec, seed=step) if step % 2 else one_hot_batch(spec, seed=step)
        for model, optimizer in zip((fast, public), optimizers, strict=True):
            with monkeypatch.context() as patch:
                if model is public:
                    patch.setattr(embeddings_torchrec.TorchRecSparseArch, "_single_lookup", lambda self: None)
                optimizer.zero_grad()
                torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels).backward()
                optimizer.step()
    for key, value in fast.state_dict().items():
        torch.testing.assert_close(value, public.state_dict()[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("backend", backends())
def test_a_stated_one_hot_flag_is_taken_without_reading_the_lengths(backend: str) -> None:
    """The loaders state Batch.one_hot, so the model never looks at the lengths (on a GPU that look is a
    host sync per forward): lengths on the meta device cannot be read, and are not."""
    spec = tiny_spec()
    model = build_model(spec, backend, CPU, seed=0)
    batch = one_hot_batch(spec, size=4)
    expected = model.sparse_arch(batch)
    stated = copy.copy(batch)
    stated.sparse_lengths = batch.sparse_lengths.to("meta")
    if backend == "torch":  # the torchrec backend hands the lengths to fbgemm, which needs them
        torch.testing.assert_close(model.sparse_arch(stated), expected)
    assert one_id_per_bag(stated)
    stated.one_hot = None
    with pytest.raises((RuntimeError, NotImplementedError)):
        one_id_per_bag(stated)  # unstated: the lengths are read


@pytest.mark.parametrize("backend", backends())
def test_multi_hot_batch_with_one_hot_totals(backend: str) -> None:
    """Lengths [2, 0, 1, 1, ...] add up to F x B like one-hot data but must be read as bags."""
    spec = tiny_spec()
    model = build_model(spec, backend, CPU, seed=0)
    batch = one_hot_batch(spec, size=4)
    lengths = batch.sparse_lengths.clone()
    lengths[:, 0], lengths[:, 1] = 2, 0  # example 0 gets two ids per feature, example 1 none
    skewed = copy.copy(batch)
    skewed.sparse_lengths = lengths
    skewed.one_hot = None  # the lengths changed: not stated by a loader, so they are read
    pooled = model.sparse_arch(skewed)
    rows = spec.model.embedding.rows(spec.data.feature_cardinalities)
    ids = batch.one_hot_ids()
    for f, table in enumerate(model.sparse_arch.tables()):
        torch.testing.assert_close(pooled[0, f], table[ids[f, 0] % rows[f]] + table[ids[f, 1] % rows[f]])
        torch.testing.assert_close(pooled[1, f], torch.zeros(4))
