"""The torch backend's table-batched embedding (reference/model/tbe.py) on the CPU: the fused
sparse update against a dense oracle and by hand, its kernels, views, state, determinism.

Parity with fbgemm through the whole DLRM: tests/test_model_parity.py. The Triton kernel:
tests/test_model_tbe_triton.py (interpreter) and tests/test_model_tbe_cuda.py (GPU).
"""

from __future__ import annotations

import copy as copy_module

import pytest
import torch
from model_helpers import CPU, INTERACTIONS, multi_hot_batch, one_hot_batch, tiny_spec
from tbe_helpers import (
    HAND_IDS,
    HAND_UPSTREAM,
    OPTIMIZERS,
    build_tables,
    hand_table,
    random_batch,
    rowwise_adagrad_by_hand,
    train_against_oracle,
)

from recscale.spec import WorkloadSpec
from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer
from reference.model.tbe import TableBatchedEmbeddingBags
from reference.model.tbe_ops import SparseUpdate, lookup_plan, sorted_segments


@pytest.mark.parametrize("kernel", ["sorted", "atomic"])
@pytest.mark.parametrize("multi_hot", [False, True], ids=["one-hot", "multi-hot"])
@pytest.mark.parametrize("update", OPTIMIZERS)
def test_matches_the_dense_oracle(update: str, multi_hot: bool, kernel: str) -> None:
    train_against_oracle(update, multi_hot, CPU, kernel)  # type: ignore[arg-type]


def _one_table_steps(ids: list[int], upstream: torch.Tensor, update: SparseUpdate, steps: int = 2) -> torch.Tensor:
    """The hand case's table, one-hot lookups of ``ids``, loss sum(pooled * upstream)."""
    tables = TableBatchedEmbeddingBags(["t"], [6], 4, update, CPU)
    with torch.no_grad():
        tables.weights.copy_(hand_table())
    batch = random_batch(0, len(ids), multi_hot=False, device=CPU)
    batch.sparse_values, batch.sparse_lengths = torch.tensor(ids), torch.ones(1, len(ids), dtype=torch.int32)
    for _ in range(steps):
        (tables(batch, one_hot=True)[:, 0] * upstream).sum().backward()
    return tables.weights.detach()


def test_rowwise_adagrad_by_hand() -> None:
    updated = _one_table_steps(HAND_IDS, HAND_UPSTREAM, SparseUpdate("rowwise_adagrad", lr=0.5, eps=1e-3))
    torch.testing.assert_close(updated, rowwise_adagrad_by_hand(lr=0.5, eps=1e-3))


def test_rowwise_adagrad_matches_torchrec_dense_version() -> None:
    """torchrec's RowWiseAdagrad on dense gradients leaves zero-gradient rows unchanged too."""
    rowwise = pytest.importorskip("torchrec.optim.rowwise_adagrad")
    ids, upstream = [0, 3, 3, 5], torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    ours = _one_table_steps(ids, upstream, SparseUpdate("rowwise_adagrad", lr=0.1, eps=1e-8))
    table = torch.nn.Parameter(hand_table())
    theirs = rowwise.RowWiseAdagrad([table], lr=0.1, eps=1e-8)
    for _ in range(2):
        theirs.zero_grad()
        (torch.nn.functional.embedding(torch.tensor(ids), table) * upstream).sum().backward()
        theirs.step()
    torch.testing.assert_close(ours, table.detach())


def test_multi_hot_rows_are_grouped_in_batch_order() -> None:
    """The sorted segments list, per row, the bags its ids sit in (bag b * F + f), in batch order."""
    batch = random_batch(3, 8, multi_hot=True, device=CPU)
    tables = build_tables("sgd", CPU, "sorted")
    plan = lookup_plan(batch, tables.table_rows, tables.row_offsets, one_hot=False)
    segments = sorted_segments(plan, tables.total_rows)
    expected: dict[int, list[int]] = {}
    for row, bag in zip(plan.rows.tolist(), plan.bag_of_value.tolist(), strict=True):
        expected.setdefault(row, []).append(bag)
    got = {row: segments.sources[segments.offsets[u]:segments.offsets[u + 1]].tolist()
           for u, row in enumerate(segments.rows.tolist())}
    assert got == expected and sorted(got) == list(got)


def test_tables_are_views_of_one_weight() -> None:
    tables = build_tables("adagrad", CPU, "auto")
    for table, (start, stop) in zip(tables.tables(), tables.slices, strict=True):
        assert table.data_ptr() == tables.weights[start:stop].data_ptr()
    tables.load_state_dict({key: torch.full_like(value, 7.0) for key, value in tables.state_dict().items()})
    assert torch.all(tables.weights == 7.0)
    tables.double()  # Module._apply copies every tensor: the views must follow the new weight
    assert tables.weights.dtype == torch.float64
    for table, (start, stop) in zip(tables.tables(), tables.slices, strict=True):
        assert table.data_ptr() == tables.weights[start:stop].data_ptr()
    before = tables.weights.clone()
    tables(random_batch(0, 4, multi_hot=False, device=CPU), one_hot=True).sum().backward()
    assert not torch.equal(before, tables.weights) and torch.equal(
        tables.weights, torch.cat([t.detach() for t in tables.tables()]))


def test_no_update_without_gradients() -> None:
    tables = build_tables("rowwise_adagrad", CPU, "auto")
    before = tables.weights.clone()
    with torch.no_grad():
        pooled = tables(random_batch(0, 4, multi_hot=True, device=CPU), one_hot=False)
    assert not pooled.requires_grad and torch.equal(before, tables.weights)


def test_unknown_kernel_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown kernel 'cuda'"):
        TableBatchedEmbeddingBags(["t"], [3], 4, SparseUpdate("sgd", 0.1, 1e-8), CPU, "cuda")  # type: ignore[arg-type]


def _train(spec: WorkloadSpec, seed: int, steps: int) -> tuple[list[float], dict[str, torch.Tensor]]:
    model = build_model(spec, "torch", CPU, seed=seed)
    optimizer = build_optimizer(model, spec.training.optimizer)
    losses = []
    for step in range(steps):
        batch = multi_hot_batch(spec, size=12, seed=step) if step % 2 else one_hot_batch(spec, size=12, seed=step)
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model.state_dict()


def test_same_seed_same_results_run_to_run() -> None:
    """Bit for bit on the CPU: the sorted kernel sums each row's gradients in a fixed order."""
    spec = tiny_spec(interaction=INTERACTIONS[1])
    first, second = _train(spec, seed=4, steps=4), _train(spec, seed=4, steps=4)
    assert first[0] == second[0]
    for key, value in first[1].items():
        torch.testing.assert_close(second[1][key], value, rtol=0, atol=0, msg=key)


def test_optimizer_state_round_trip_continues_identically() -> None:
    spec = tiny_spec()
    model = build_model(spec, "torch", CPU, seed=0)
    optimizer = build_optimizer(model, spec.training.optimizer)
    batch = one_hot_batch(spec)
    torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels).backward()
    optimizer.step()
    copy = build_model(spec, "torch", CPU, seed=0)
    copy.load_state_dict(model.state_dict())
    copy_optimizer = build_optimizer(copy, spec.training.optimizer)
    copy_optimizer.load_state_dict(copy_module.deepcopy(optimizer.state_dict()))  # as through torch.save
    accumulated = copy.sparse_arch.embedding_bag_collection.state
    assert accumulated.abs().sum() > 0  # loaded into the live state, not into a copy
    for each, each_optimizer in ((model, optimizer), (copy, copy_optimizer)):
        each_optimizer.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(each(batch), batch.labels).backward()
        each_optimizer.step()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(copy.state_dict()[key], value, rtol=0, atol=0, msg=key)


def test_step_hands_the_lr_to_the_next_backward() -> None:
    spec = tiny_spec()
    sgd = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"name": "sgd", "lr": 0.1})})
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"optimizer": sgd})})
    model = build_model(spec, "torch", CPU, seed=0)
    optimizer = build_optimizer(model, spec.training.optimizer)
    for group in optimizer.sparse.param_groups:
        group["lr"] = 0.4
    optimizer.step()
    tables = model.sparse_arch.embedding_bag_collection
    before = tables.weights.clone()
    batch = one_hot_batch(spec)
    pooled = model.sparse_arch(batch)
    pooled.backward(torch.ones_like(pooled))  # gradient 1 per lookup: each row moves by -lr x its count
    rows = lookup_plan(batch, tables.table_rows, tables.row_offsets, one_hot=True).rows
    counts = torch.bincount(rows, minlength=tables.total_rows).float().unsqueeze(1)
    torch.testing.assert_close(tables.weights, before - 0.4 * counts)


def test_torch_tables_follow_the_build_spec() -> None:
    spec = tiny_spec()
    model = build_model(spec, "torch", CPU, seed=0)
    other = spec.training.optimizer.model_copy(
        update={"sparse": spec.training.optimizer.sparse.model_copy(update={"name": "adagrad"})})
    with pytest.raises(ValueError, match="torch tables were built with sparse optimizer rowwise_adagrad"):
        build_optimizer(model, other)
