"""The optional DALI loader gives the default loader's batches (device_id=None: DALI on the CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reference.data.dali import INSTALL_HINT, DaliLoader, dali_available
from reference.data.loader import Dataset
from reference.data.npy import index_days

pytestmark = pytest.mark.skipif(not dali_available(), reason=f"optional extra: {INSTALL_HINT}")

CARDS, HOTS = [50, 7, 1000], [3, 1, 2]


def make_dataset(root: Path, multi_hot: bool) -> Dataset:
    rng = np.random.default_rng(0)
    src = root / "days"
    src.mkdir(parents=True)
    for day, n in enumerate([300, 101]):
        np.save(src / f"day_{day}_dense.npy", rng.integers(-2, 1000, (n, 13), dtype=np.int32))  # raw counts
        np.save(src / f"day_{day}_labels.npy", rng.integers(0, 2, (n, 1), dtype=np.int32))
        np.save(src / f"day_{day}_sparse.npy", rng.integers(0, 2**31, (n, 3), dtype=np.int32))
        np.savez(src / f"day_{day}_sparse_multi_hot.npz",
                 **{str(f): rng.integers(0, 10**6, (n, k), dtype=np.int32) for f, k in enumerate(HOTS)})
    index_days(src, root / "ds", [0], 1, CARDS, multi_hot=multi_hot, log=False)
    return Dataset.open(root / "ds")


def same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x.dense, y.dense)
        assert torch.equal(x.sparse_values, y.sparse_values) and torch.equal(x.sparse_lengths, y.sparse_lengths)
        assert torch.equal(x.labels, y.labels)


@pytest.mark.parametrize("multi_hot", [False, True])
def test_dali_batches_equal_the_default_loaders(tmp_path: Path, multi_hot: bool) -> None:
    dataset = make_dataset(tmp_path, multi_hot)
    dali = DaliLoader(dataset, device_id=None, num_threads=1)
    same(list(dali.train_batches(64, 300, seed=3, rank=1, world_size=2)),
         list(dataset.train_batches(64, 300, seed=3, rank=1, world_size=2)))
    same(list(dali.eval_batches(32)), list(dataset.eval_batches(32)))
