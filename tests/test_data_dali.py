"""The optional DALI loader gives the default loader's batches (device_id=None: DALI on the CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data_helpers import npy_dataset

from reference.data.dali import INSTALL_HINT, DaliLoader, dali_available

pytestmark = pytest.mark.skipif(not dali_available(), reason=f"optional extra: {INSTALL_HINT}")


def same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x.dense, y.dense)
        assert torch.equal(x.sparse_values, y.sparse_values) and torch.equal(x.sparse_lengths, y.sparse_lengths)
        assert torch.equal(x.labels, y.labels) and x.one_hot == y.one_hot


@pytest.mark.parametrize("multi_hot", [False, True])
def test_dali_batches_equal_the_default_loaders(tmp_path: Path, multi_hot: bool) -> None:
    dataset = npy_dataset(tmp_path, multi_hot)
    dali = DaliLoader(dataset, device_id=None, num_threads=1)
    same(list(dali.train_batches(64, 300, seed=3, rank=1, world_size=2)),
         list(dataset.train_batches(64, 300, seed=3, rank=1, world_size=2)))
    same(list(dali.eval_batches(32)), list(dataset.eval_batches(32)))
