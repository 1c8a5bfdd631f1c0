"""Already-preprocessed Criteo days: torchrec's `day_N_{dense,sparse,labels}.npy` and MLPerf's multi-hot
`day_N_sparse_multi_hot.npz`, used in place (no copy) through a manifest that lists them.

Layouts (torchrec/datasets/criteo.py BinaryCriteoUtils.tsv_to_npys; mlcommons/training
recommendation_v2/torchrec_dlrm scripts/materialize_synthetic_multihot_dataset.py):
- day_N_dense.npy   [rows, 13] float32, already log-transformed (or int32 raw counts)
- day_N_sparse.npy  [rows, 26] int32/int64 ids (raw hashes or contiguous ids), taken modulo the
                    feature's cardinality when loaded, as torchrec does with `hashes`
- day_N_labels.npy  [rows, 1] int32
- day_N_sparse_multi_hot.npz   np.savez of arrays "0".."25", feature f [rows, k_f] int32
The last day is split into halves as in torchrec/MLPerf: the first (rounded up) is "val", the
second "test".
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import utc_now
from recscale.sources import SourceName
from reference.data.manifest import (
    ConversionInfo,
    DatasetManifest,
    InputFile,
    Shard,
    Split,
    describe_array,
    record_verified,
    write_manifest,
)

Half = Literal["first", "second", "all"]


def _day_files(src: Path, day: int, multi_hot: bool) -> tuple[Path, Path, Path]:
    sparse = f"day_{day}_sparse_multi_hot.npz" if multi_hot else f"day_{day}_sparse.npy"
    files = (src / f"day_{day}_dense.npy", src / sparse, src / f"day_{day}_labels.npy")
    missing = [Problem(str(f), "", "no such file (expected torchrec's day_N_{dense,sparse,labels}.npy layout)")
               for f in files if not f.is_file()]
    if missing:
        raise InputError(missing)
    return files


def _shard(out: Path, src: Path, day: int, multi_hot: bool, half: Half, log: bool) -> Shard:
    files = _day_files(src, day, multi_hot)
    if log:
        print(f"  day {day}: checksumming {sum(f.stat().st_size for f in files) / 1e9:.2f} GB")
    dense, sparse, labels = (describe_array(out, f.resolve()) for f in files)
    rows = {dense.shape[0], sparse.shape[0], labels.shape[0]}
    if len(rows) != 1:
        raise InputError([Problem(str(src), f"day_{day}", f"dense, sparse and labels have different row counts "
                                  f"({dense.shape[0]}, {sparse.shape[0]}, {labels.shape[0]})")])
    total = rows.pop()
    first_half = -(-total // 2)
    offset, used = {"all": (0, total), "first": (0, first_half), "second": (first_half, total - first_half)}[half]
    return Shard(name=f"day_{day}", offset=offset, rows=used, dense=dense, sparse=sparse, labels=labels)


def index_days(src: Path, out: Path, train_days: list[int], eval_day: int, cardinalities: list[int],
               source: SourceName = "npy", multi_hot: bool = False, eval_half: Half = "first",
               log: bool = True) -> DatasetManifest:
    """Write a manifest in `out` over the preprocessed days in `src` (files stay where they are)."""
    if not src.is_dir():
        raise InputError([Problem(str(src), "", "no such folder")])
    out.mkdir(parents=True, exist_ok=True)
    if (out / "manifest.json").exists():
        raise InputError([Problem(str(out), "", "already holds a data set manifest; choose another --out")])
    if eval_day in train_days:
        raise InputError([Problem("--eval-day", "", f"day {eval_day} is also a training day")])
    train = [_shard(out, src, d, multi_hot, "all", log) for d in train_days]
    evaluation = _shard(out, src, eval_day, multi_hot, eval_half, log)
    shards = [*train, evaluation]
    columns = {s.sparse.shape[1] if s.sparse.members is None else len(s.sparse.members) for s in shards}
    dense_cols = {s.dense.shape[1] for s in shards}
    problems = []
    if columns != {len(cardinalities)}:
        problems.append(Problem(str(src), "sparse", f"files hold {sorted(columns)} categorical features, "
                                f"--cardinalities lists {len(cardinalities)}"))
    if len(dense_cols) != 1:
        problems.append(Problem(str(src), "dense", f"days disagree on dense columns: {sorted(dense_cols)}"))
    if problems:
        raise InputError(problems)
    hot_sizes = None
    if multi_hot:
        hot_sizes = [m.shape[1] for m in evaluation.sparse.members or []]
        if any([m.shape[1] for m in s.sparse.members or []] != hot_sizes for s in shards):
            raise InputError([Problem(str(src), "sparse", "days disagree on the multi-hot sizes")])
    dense_kind = np.dtype(evaluation.dense.dtype).kind
    inputs = [InputFile(path=str((out / f.path).resolve()), bytes=f.bytes)
              for s in shards for f in (s.dense, s.sparse, s.labels)]
    manifest = DatasetManifest(
        source=source, created_at=utc_now(), recscale_version=__version__, num_dense=dense_cols.pop(),
        cardinalities=cardinalities, multi_hot_sizes=hot_sizes,
        dense_transform="none" if dense_kind == "f" else "log1p", sparse_modulo=True,
        train=Split(rows=sum(s.rows for s in train), shards=train),
        eval=Split(rows=evaluation.rows, shards=[evaluation]),
        conversion=ConversionInfo(inputs=inputs, lines=0, skipped_lines=0, id_mapping="as_stored",
                                  split=f"days {train_days} train, the {eval_half} half of day {eval_day} eval"),
    )
    record_verified(out, manifest.array_files())
    write_manifest(out, manifest)
    return manifest
