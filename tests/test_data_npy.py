"""Preprocessed days in torchrec's day_N_{dense,sparse,labels}.npy layout and MLPerf's multi-hot .npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from recscale.errors import InputError
from reference.data.loader import Dataset
from reference.data.npy import index_days

HOTS = [3, 1, 2]
CARDS = [50, 7, 1000]


def write_days(src: Path, rows: list[int], multi_hot: bool, compressed: bool = False) -> None:
    """torchrec's tsv_to_npys layout (dense float32 log-transformed, sparse int64 raw ids, labels int32
    [N, 1]); with multi_hot, MLPerf's np.savez of arrays "0".."F-1", feature f [N, k_f] int32."""
    rng = np.random.default_rng(0)
    src.mkdir(parents=True, exist_ok=True)
    for day, n in enumerate(rows):
        np.save(src / f"day_{day}_dense.npy", np.log(rng.integers(0, 100, (n, 13)) + 3, dtype=np.float32))
        np.save(src / f"day_{day}_labels.npy", (np.arange(n) % 2 == 0).astype(np.int32)[:, None] * (day + 1) % 2)
        np.save(src / f"day_{day}_sparse.npy", rng.integers(0, 2**32, (n, len(CARDS)), dtype=np.int64))
        if multi_hot:
            arrays = {str(f): rng.integers(0, 10**6, (n, k), dtype=np.int32) for f, k in enumerate(HOTS)}
            (np.savez_compressed if compressed else np.savez)(src / f"day_{day}_sparse_multi_hot.npz", **arrays)


def test_torchrec_days_are_read_in_place(tmp_path: Path) -> None:
    src = tmp_path / "days"
    write_days(src, [40, 30, 21], multi_hot=False)
    manifest = index_days(src, tmp_path / "ds", train_days=[0, 1], eval_day=2, cardinalities=CARDS, log=False)
    assert manifest.train.rows == 70 and manifest.eval.rows == 11  # the first half, rounded up ("val")
    assert manifest.dense_transform == "none" and manifest.sparse_modulo
    dataset = Dataset.open(tmp_path / "ds")
    batch = next(dataset.eval_batches(100))
    np.testing.assert_array_equal(batch.dense.numpy(), np.load(src / "day_2_dense.npy")[:11])  # already transformed
    raw = np.load(src / "day_2_sparse.npy")[:11]
    np.testing.assert_array_equal(batch.one_hot_ids().numpy(), (raw % np.array(CARDS)).T)
    seen = np.concatenate([b.dense.numpy() for b in dataset.train_batches(16, 70, seed=1)])
    days = np.concatenate([np.load(src / "day_0_dense.npy"), np.load(src / "day_1_dense.npy")])
    np.testing.assert_array_equal(np.unique(seen, axis=0), np.unique(days, axis=0))
    second = index_days(src, tmp_path / "test", [0], 2, CARDS, eval_half="second", log=False)
    assert second.eval.rows == 10 and second.eval.shards[0].offset == 11


def test_mlperf_multi_hot_days(tmp_path: Path) -> None:
    src = tmp_path / "days"
    write_days(src, [20, 9], multi_hot=True)
    manifest = index_days(src, tmp_path / "ds", [0], 1, CARDS, source="criteo_1tb", multi_hot=True, log=False)
    assert manifest.multi_hot_sizes == HOTS and manifest.eval.rows == 5
    dataset = Dataset.open(tmp_path / "ds")
    batch = next(dataset.eval_batches(4, rank=1, world_size=2))  # eval rows 2, 3
    members = np.load(src / "day_1_sparse_multi_hot.npz")
    expected = np.concatenate([members[str(f)][2:4].reshape(-1) % c for f, c in enumerate(CARDS)])
    np.testing.assert_array_equal(batch.sparse_values.numpy(), expected)  # feature-major, k_f ids per example
    np.testing.assert_array_equal(batch.sparse_lengths.numpy(), [[3, 3], [1, 1], [2, 2]])
    assert not batch.is_one_hot()
    assert sum(b.sparse_values.numel() for b in dataset.train_batches(8, 20, seed=0)) == 20 * sum(HOTS)


def test_bad_inputs(tmp_path: Path) -> None:
    src = tmp_path / "days"
    write_days(src, [10, 10], multi_hot=True, compressed=True)
    with pytest.raises(InputError, match="compressed"):
        index_days(src, tmp_path / "a", [0], 1, CARDS, multi_hot=True, log=False)
    with pytest.raises(InputError, match=r"day_5_dense\.npy"):
        index_days(src, tmp_path / "b", [5], 1, CARDS, log=False)
    with pytest.raises(InputError, match=r"files hold \[3\] categorical features, --cardinalities lists 2"):
        index_days(src, tmp_path / "c", [0], 1, [10, 10], log=False)
    assert main(["data", "convert", "torchrec-npy", str(src), "--out", str(tmp_path / "d"), "--train-days", "0",
                 "--eval-day", "1", "--cardinalities", "50,7,1000"]) == 0
    assert main(["data", "convert", "torchrec-npy", str(src), "--out", str(tmp_path / "e"), "--train-days", "x",
                 "--cardinalities", "50,7,1000"]) == 2
