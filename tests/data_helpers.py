"""Small data sets on disk for the loader tests (host loader, staged, prefetch, DALI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recscale.io import utc_now
from reference.data.loader import Dataset
from reference.data.manifest import DatasetManifest, Shard, Split, describe_array, write_manifest
from reference.data.npy import index_days

CARDS = [7, 100, 3]
NPY_CARDS, NPY_HOTS = [50, 7, 1000], [3, 1, 2]


def write_dataset(root: Path, shard_rows: list[int], eval_rows: int) -> DatasetManifest:
    """A data set whose training row r (over all shards) has dense[:, 0] == r; eval row i has 1e6 + i."""
    def shard(split: str, name: str, first: int, rows: int) -> Shard:
        number = np.arange(first, first + rows)
        dense = np.zeros((rows, 13), np.int32)
        dense[:, 0], dense[:, 1] = number, -5
        sparse = np.stack([number % c for c in CARDS], axis=1).astype(np.int32)
        labels = (number % 2).astype(np.int32)[:, None]
        files = []
        for role, array in (("dense", dense), ("sparse", sparse), ("labels", labels)):
            path = root / split / f"{name}_{role}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, array)
            files.append(describe_array(root, path))
        return Shard(name=name, rows=rows, dense=files[0], sparse=files[1], labels=files[2])

    starts = np.r_[0, np.cumsum(shard_rows)]
    train = [shard("train", f"day_{i}", int(starts[i]), n) for i, n in enumerate(shard_rows)]
    evaluation = shard("eval", "day_9", 1_000_000, eval_rows)
    manifest = DatasetManifest(source="npy", created_at=utc_now(), recscale_version="test", num_dense=13,
                               cardinalities=CARDS, dense_transform="log1p",
                               train=Split(rows=int(starts[-1]), shards=train),
                               eval=Split(rows=eval_rows, shards=[evaluation]))
    write_manifest(root, manifest)
    return manifest


def npy_dataset(root: Path, multi_hot: bool, days: tuple[int, ...] = (300, 101)) -> Dataset:
    """torchrec-style days (raw counts, ids up to 2^31 taken modulo NPY_CARDS; multi-hot NPY_HOTS ids per
    feature when asked), the last day the eval set."""
    rng = np.random.default_rng(0)
    src = root / "days"
    src.mkdir(parents=True)
    for day, n in enumerate(days):
        np.save(src / f"day_{day}_dense.npy", rng.integers(-2, 1000, (n, 13), dtype=np.int32))  # raw counts
        np.save(src / f"day_{day}_labels.npy", rng.integers(0, 2, (n, 1), dtype=np.int32))
        np.save(src / f"day_{day}_sparse.npy", rng.integers(0, 2**31, (n, 3), dtype=np.int32))
        np.savez(src / f"day_{day}_sparse_multi_hot.npz",
                 **{str(f): rng.integers(0, 10**6, (n, k), dtype=np.int32) for f, k in enumerate(NPY_HOTS)})
    index_days(src, root / "ds", list(range(len(days) - 1)), len(days) - 1, NPY_CARDS, multi_hot=multi_hot,
               log=False)
    return Dataset.open(root / "ds")
