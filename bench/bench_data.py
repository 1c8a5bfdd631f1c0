"""Data pipeline throughput (issue 4): the generator, the loader against a plain numpy read, the converter.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_data.py [--train 2000000] [--tsv-lines 200000]

1. Generator: the dlrm-synthetic-scaling workload's data (train + eval rows) with `--workers`
   processes, end to end (teacher, rows, sha256 of every file, Bayes metrics of the eval set), and the
   rows alone on one core (Teacher.rows in this process). Goal: >= 1M rows/s on 2 cores.
2. Loader, warm page cache, one thread: one training pass (shuffled, batch 2048 and 16384) and one eval pass,
   against a plain numpy read of the same bytes (np.array of memmap slices of the three arrays, batch
   by batch). Goal: within 2x of that ceiling and >= 10x the training step's 25-50k rows/s.
3. Kaggle converter: a train.txt of `--tsv-lines` lines written from the generator (ids as 8-hex
   hashes), converted with --ids vocabulary (two passes) and --ids hash (one pass). Rows/s of input.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import reference.metrics  # noqa: F401  (imported up front, as in a run: its import is not generation time)
from recscale.load import load_workload
from recscale.spec import DataSpec
from reference.data.convert import convert
from reference.data.criteo import format_lines
from reference.data.generate import generate_synthetic
from reference.data.loader import Dataset
from reference.data.synthetic import BLOCK_ROWS, TRAIN_STREAM, SyntheticConfig, build_teacher

REPO = Path(__file__).resolve().parent.parent
STEP_RATE = (25_000, 50_000)  # the training step's rows/s on 2 cores (measured with bench/bench_model.py)


def rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds / 1e6:6.2f} M rows/s"


def bench_generator(data: DataSpec, out: Path, workers: int) -> None:
    phases: dict[str, float] = {}
    manifest = generate_synthetic(data, out, workers, timings=phases)
    total = sum(phases.values())
    rows = manifest.train.rows + manifest.eval.rows
    print(f"generator   rows phase, {workers} workers: {rate(rows, phases['rows'])} | end to end {rate(rows, total)} "
          f"({rows:,} rows in {total:.1f} s: teacher {phases['teacher']:.2f} s, rows {phases['rows']:.2f} s, "
          f"sha256 + Bayes metrics {phases['finish']:.2f} s; Bayes eval NE "
          f"{manifest.synthetic.bayes.ne:.4f})")  # type: ignore[union-attr]
    torch.set_num_threads(1)  # as in a worker
    teacher = build_teacher(SyntheticConfig.from_data_spec(data))
    teacher.rows(TRAIN_STREAM, 0, BLOCK_ROWS)  # warm-up
    tic = time.perf_counter()
    blocks = 12
    for block in range(blocks):
        teacher.rows(TRAIN_STREAM, block, BLOCK_ROWS)
    print(f"generator   rows only, one core:    {rate(blocks * BLOCK_ROWS, time.perf_counter() - tic)}")


def numpy_ceiling(root: Path, rows: int, batch: int) -> float:
    """Seconds for a plain numpy read of the training arrays' bytes, batch by batch."""
    arrays = [np.load(root / f"train/day_0_{part}.npy", mmap_mode="r") for part in ("dense", "sparse", "labels")]
    tic = time.perf_counter()
    for start in range(0, rows, batch):
        for array in arrays:
            np.array(array[start:start + batch])
    return time.perf_counter() - tic


def bench_loader(root: Path) -> None:
    # One torch thread: the loader runs between training steps and its ops are small; with two OpenMP
    # threads on a shared 2-core machine, the spinning pool thread makes every figure noise.
    torch.set_num_threads(1)
    dataset = Dataset.open(root, checksums="none")
    rows = dataset.train_rows
    row_bytes = sum(np.load(root / f"train/day_0_{p}.npy", mmap_mode="r")[0].nbytes
                    for p in ("dense", "sparse", "labels"))
    numpy_ceiling(root, rows, 1 << 16)  # warm the page cache
    for batch in (2048, 16384):
        ceiling = min(numpy_ceiling(root, rows, batch) for _ in range(2))
        tic = time.perf_counter()
        for _ in dataset.train_arrays(batch, rows, seed=1):
            pass
        gathered = time.perf_counter() - tic
        tic = time.perf_counter()
        for _ in dataset.train_batches(batch, rows, seed=1):
            pass
        loaded = time.perf_counter() - tic
        tic = time.perf_counter()
        for _ in dataset.eval_batches(batch):
            pass
        evaluated = time.perf_counter() - tic
        print(f"loader      batch {batch:5d}: numpy read {rate(rows, ceiling)} "
              f"({rows * row_bytes / ceiling / 1e9:.2f} GB/s) | shuffled gather {rate(rows, gathered)} "
              f"| train batches {rate(rows, loaded)} ({rows * row_bytes / loaded / 1e9:.2f} GB/s, "
              f"{loaded / ceiling:.1f}x the read's time, "
              f"{rows / loaded / STEP_RATE[1]:.0f}-{rows / loaded / STEP_RATE[0]:.0f}x the step) "
              f"| eval batches {rate(dataset.eval_rows, evaluated)}")


def write_tsv(data: DataSpec, path: Path, lines: int) -> None:
    """`lines` generated rows as a Criteo train.txt, ids written as distinct 8-hex-digit hashes."""
    teacher = build_teacher(SyntheticConfig.from_data_spec(data))
    with path.open("wb") as handle:
        for block in range(-(-lines // BLOCK_ROWS)):
            rows = teacher.rows(TRAIN_STREAM, block, min(BLOCK_ROWS, lines - block * BLOCK_ROWS))
            features = np.arange(rows.sparse.shape[1], dtype=np.int64)
            hashes = (rows.sparse.astype(np.int64) * 2654435761 + features * 40503 + 12345) & 0xFFFFFFFF
            handle.write(format_lines(rows.labels[:, 0], rows.dense, rows.missing, hashes))


def bench_converter(data: DataSpec, folder: Path, lines: int, workers: int) -> None:
    folder.mkdir()
    path = folder / "train.txt"
    write_tsv(data, path, lines)
    size = path.stat().st_size
    for ids, cap in (("vocabulary", None), ("hash", 1 << 20)):
        tic = time.perf_counter()
        convert("criteo_kaggle", [path], folder / f"out-{ids}", ids=ids, cap=cap,  # type: ignore[arg-type]
                log=False, workers=workers)
        seconds = time.perf_counter() - tic
        print(f"converter   --ids {ids:10s}, {workers} workers: {rate(lines, seconds)}  "
              f"({size / seconds / 1e6:.0f} MB/s of text, {lines:,} lines in {seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=2_000_000, help="training rows generated")
    parser.add_argument("--tsv-lines", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    spec = load_workload(REPO / "workloads" / "dlrm-synthetic-scaling.yaml")
    data = DataSpec.model_validate({**spec.data.model_dump(), "train_samples": args.train})
    print(f"# {os.cpu_count()} CPUs, torch {torch.__version__}, numpy {np.__version__}; "
          f"data: {spec.id} ({args.train:,} + {data.eval_samples:,} rows)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_generator(data, root / "synthetic", args.workers)
        bench_loader(root / "synthetic")
        for workers in sorted({1, args.workers}):
            bench_converter(data, root / f"convert-{workers}", args.tsv_lines, workers)


if __name__ == "__main__":
    main()
