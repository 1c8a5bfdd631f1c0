"""The staged loader (data held in memory, batched there) and the prefetching loader give the host
loader's batches exactly, in the same order, for the same seed, batch size and ranks (on the CPU, as
CI runs them; on CUDA the same code runs on the device). The loader choice and its fit rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import npy_dataset, write_dataset

from reference.data import staged
from reference.data.batch import Batch
from reference.data.dali import INSTALL_HINT, dali_available
from reference.data.loader import Dataset
from reference.data.pipeline import DoesNotFit, choose, open_pipeline
from reference.data.prefetch import Prefetcher
from reference.data.staged import StagedLoader, staged_bytes

CPU = torch.device("cpu")


def assert_same_batches(made: Iterator[Batch], expected: Iterator[Batch]) -> int:
    """Bit for bit: every tensor, its dtype and shape, and the stated one-hot flag; returns the count."""
    made_list, expected_list = list(made), list(expected)
    assert len(made_list) == len(expected_list) > 0
    for step, (a, b) in enumerate(zip(made_list, expected_list, strict=True)):
        for name in ("dense", "sparse_values", "sparse_lengths", "labels"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y), f"step {step}: {name} differs"
        assert a.one_hot is not None and a.one_hot == b.one_hot == b.is_one_hot() == _lengths_say_one_hot(b)
    return len(made_list)


def _lengths_say_one_hot(batch: Batch) -> bool:
    return Batch(batch.dense, batch.sparse_values, batch.sparse_lengths, batch.labels).is_one_hot()


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    write_dataset(tmp_path, [1000, 37, 2000], eval_rows=301)  # three shards: batches cross their edges
    return Dataset.open(tmp_path)


@pytest.mark.parametrize(("batch_size", "rows", "seed", "world"), [
    (256, 3037, 1, 1),  # the whole split, a partial last batch
    (100, 1037, 5, 3),  # a fraction that ends in a short shuffle block, three ranks
    (64, 31, 2, 4),  # fewer rows than one block
    (7, 40, 9, 8),  # more ranks than rows in the last batch: empty slices
])
def test_staged_batches_are_the_host_loaders(dataset: Dataset, batch_size: int, rows: int, seed: int,
                                             world: int) -> None:
    loader = StagedLoader(dataset, rows, CPU)
    for rank in range(world):
        assert_same_batches(loader.train_batches(batch_size, rows, seed, rank, world),
                            dataset.train_batches(batch_size, rows, seed, rank, world))
        assert_same_batches(loader.eval_batches(64, rank, world), dataset.eval_batches(64, rank, world))


def test_a_staged_fraction_serves_every_smaller_fraction_and_seed(dataset: Dataset) -> None:
    loader = StagedLoader(dataset, 2000, CPU)
    for rows, seed in ((2000, 0), (1000, 0), (1000, 1), (500, 7)):
        assert_same_batches(loader.train_batches(128, rows, seed), dataset.train_batches(128, rows, seed))
    with pytest.raises(ValueError, match="rows must be in"):
        next(loader.train_batches(128, 2001, 0))


def test_staging_in_chunks_gives_the_same_rows(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = StagedLoader(dataset, 3037, CPU)
    monkeypatch.setattr(staged, "CHUNK_ROWS", 100)  # chunk edges inside and across shards
    chunked = StagedLoader(dataset, 3037, CPU)
    for split in ("train", "eval"):
        for name in ("dense", "ids", "labels"):
            assert torch.equal(getattr(getattr(whole, split), name), getattr(getattr(chunked, split), name))
    assert whole.bytes == staged_bytes(dataset, 3037) == (3037 + 301) * (13 * 4 + 3 * 4 + 4)


def test_rows_sorted_a_few_steps_at_a_time_are_the_host_loaders(dataset: Dataset,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staged, "STEPS_AHEAD", 3)  # groups of 3 steps, and a group cut short by the last batch
    loader = StagedLoader(dataset, 3037, CPU)
    for rank in range(3):
        assert assert_same_batches(loader.train_batches(128, 3037, 6, rank, 3),
                                   dataset.train_batches(128, 3037, 6, rank, 3)) == 24


@pytest.mark.parametrize("multi_hot", [False, True])
def test_staged_multi_hot_and_modulo_ids_are_the_host_loaders(tmp_path: Path, multi_hot: bool) -> None:
    dataset = npy_dataset(tmp_path, multi_hot, days=(300, 150, 101))
    assert dataset.manifest.sparse_modulo and dataset.one_hot is not multi_hot
    loader = StagedLoader(dataset, 450, CPU)
    for rank in range(2):
        assert_same_batches(loader.train_batches(64, 450, 3, rank, 2), dataset.train_batches(64, 450, 3, rank, 2))
        assert_same_batches(loader.eval_batches(32, rank, 2), dataset.eval_batches(32, rank, 2))


def test_prefetched_batches_are_the_wrapped_loaders(dataset: Dataset) -> None:
    ahead = Prefetcher(dataset, CPU, depth=2)
    assert assert_same_batches(ahead.train_batches(100, 3037, 4, 1, 2), dataset.train_batches(100, 3037, 4, 1, 2)) == 31
    assert_same_batches(ahead.eval_batches(50), dataset.eval_batches(50))
    host_staged = Prefetcher(StagedLoader(dataset, 3037, CPU), CPU)
    assert_same_batches(host_staged.train_batches(256, 3037, 8), dataset.train_batches(256, 3037, 8))


def test_prefetch_stops_its_thread_when_left_early_and_reports_errors(dataset: Dataset) -> None:
    ahead = Prefetcher(dataset, CPU, depth=1)
    batches = ahead.train_batches(10, 3037, 0)
    next(batches)
    batches.close()  # a run that stops early (divergence) leaves the pass: the producer must not hang
    with pytest.raises(ValueError, match="rows must be in"):
        next(ahead.train_batches(10, 5000, 0))  # raised in the thread, re-raised here


def test_choice_and_fit_rule() -> None:
    gib = 2**30
    assert choose("auto", cuda=False, need=gib) == ("host", "auto on the CPU")
    assert choose("device", cuda=False, need=gib)[0] == "device"
    assert choose("auto", cuda=True, need=gib, device_room=2 * gib, host_room=0)[0] == "device"
    kind, why = choose("auto", cuda=True, need=3 * gib, device_room=2 * gib, host_room=4 * gib)
    assert kind == "host-staged" and "do not fit the device" in why
    assert choose("auto", cuda=True, need=5 * gib, device_room=2 * gib, host_room=4 * gib)[0] == "host"
    with pytest.raises(DoesNotFit, match="--loader host"):
        choose("device", cuda=True, need=5 * gib, device_room=2 * gib, host_room=4 * gib)
    assert choose("host", cuda=True, need=gib, device_room=2 * gib)[0] == "host"
    with pytest.raises(ValueError, match="unknown loader"):
        choose("disk", cuda=False, need=0)  # type: ignore[arg-type]


def test_open_pipeline_on_the_cpu(dataset: Dataset) -> None:
    auto = open_pipeline("auto", dataset, 1000, CPU)
    assert auto.loader is dataset and auto.kind == "host" and auto.staged_bytes == 0
    device = open_pipeline("device", dataset, 1000, CPU)
    assert isinstance(device.loader, StagedLoader) and device.staged_bytes == staged_bytes(dataset, 1000)
    assert device.facts()["loader"] == "device"
    if not dali_available():
        with pytest.raises(ImportError, match="pip install nvidia-dali"):
            open_pipeline("dali", dataset, 1000, CPU)
    assert "pip install" in INSTALL_HINT


def test_staged_rows_are_those_of_the_block_order(dataset: Dataset) -> None:
    """The device computation of the pass order (BlockOrder.rows_on) is the host's, position by position."""
    from reference.data.loader import BlockOrder

    for rows in (31, 32, 33, 1037, 3037):
        order = BlockOrder(rows, seed=11)
        positions = np.arange(rows, dtype=np.int64)
        np.testing.assert_array_equal(order.rows_on(torch.from_numpy(positions)).numpy(), order.rows(positions))


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _on_cpu(batches: Iterator[Batch]) -> Iterator[Batch]:
    for batch in batches:
        assert batch.dense.is_cuda and batch.sparse_values.is_cuda and batch.sparse_lengths.is_cuda
        yield batch.to(CPU)


@cuda_only
@pytest.mark.parametrize("multi_hot", [False, True])
def test_staged_and_prefetched_on_cuda_are_the_host_loaders(tmp_path: Path, multi_hot: bool) -> None:
    dataset = npy_dataset(tmp_path, multi_hot, days=(300, 150, 101))
    cuda = torch.device("cuda")
    staged_on_gpu = StagedLoader(dataset, 450, cuda)
    for loader in (staged_on_gpu, Prefetcher(dataset, cuda), Prefetcher(StagedLoader(dataset, 450, CPU), cuda)):
        for rank in range(2):
            assert_same_batches(_on_cpu(loader.train_batches(64, 450, 3, rank, 2)),
                                dataset.train_batches(64, 450, 3, rank, 2))
            assert_same_batches(_on_cpu(loader.eval_batches(32, rank, 2)), dataset.eval_batches(32, rank, 2))
    auto = open_pipeline("auto", dataset, 450, cuda)
    assert auto.kind == "device" and isinstance(auto.loader, StagedLoader)
