"""Data pipeline throughput (issues 4, 15): the generator (old numpy vs counter-based torch, CPU and
GPU), the loader against a plain numpy read, the converter.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_data.py [--train 2000000] [--tsv-lines 200000]
    .venv/bin/python bench/bench_data.py --device cuda [--rows 134217728]     # the GPU generator table

1. Generator, study-data shape (criteo_kaggle capped at 100k, seed 7, rank 8): rows/s of the rows
   alone, one core (process CPU time, so other load on the machine counts less) and `--workers`
   forked processes (wall time), GENERATOR_VERSION 1 (bench/numpy_generator_v1.py, blocks of 32768
   rows) beside the counter-based torch generator, interleaved in one run; then end to end with
   generate_synthetic (teacher, rows written to memory maps, sha256 of every file, Bayes metrics).
   Goal: the torch generator no slower per core than the numpy one.
2. Loader, warm page cache, one thread: one training pass (shuffled, batch 2048 and 16384) and one eval pass,
   against a plain numpy read of the same bytes (np.array of memmap slices of the three arrays, batch
   by batch). Goal: within 2x of that ceiling and >= 10x the training step's 25-50k rows/s.
3. Kaggle converter: a train.txt of `--tsv-lines` lines written from the generator (ids as 8-hex
   hashes), converted with --ids vocabulary (two passes) and --ids hash (one pass). Rows/s of input.

--device cuda: the study-data-gpu shape (1M-row vocabularies): the teacher's build on the CPU, its
tables' copy to the GPU, then rows/s generating `--rows` rows on the GPU in pieces of 2^24 (ids,
counts, labels and probabilities left on the device, as a device-resident loader would) for a few
CHUNK_ROWS, and the first 2^20 rows compared with the CPU's (differences counted). Goal: well above
10M rows/s (512M rows in under a minute).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

import reference.metrics  # noqa: F401  (imported up front, as in a run: its import is not generation time)
from recscale.load import load_workload
from recscale.spec import DataSpec
from reference.data import synthetic
from reference.data.convert import convert
from reference.data.criteo import format_lines
from reference.data.generate import generate_synthetic
from reference.data.loader import Dataset
from reference.data.synthetic import TRAIN_STREAM, SyntheticConfig, build_teacher

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_generator_v1  # bench/ is not a package: the frozen old generator beside this file

REPO = Path(__file__).resolve().parent.parent
STEP_RATE = (25_000, 50_000)  # the training step's rows/s on 2 cores (measured with bench/bench_model.py)
OLD_BLOCK = numpy_generator_v1.BLOCK_ROWS
_forked: dict[str, Callable[[int], object]] = {}  # the generators a forked worker inherits


def rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds / 1e6:6.2f} M rows/s"


def study_data(name: str) -> DataSpec:
    return load_workload(REPO / "workloads" / f"{name}.yaml").data


def _run_forked(name: str, block: int) -> None:
    torch.set_num_threads(1)
    _forked[name](block)


def _one_core(make: Callable[[int], object], blocks: range) -> float:
    """Process CPU seconds for make(block) over blocks, in this process, one thread."""
    tic = time.process_time()
    for block in blocks:
        make(block)
    return time.process_time() - tic


def _forked_wall(name: str, blocks: range, workers: int) -> float:
    """Wall seconds for make(block) over blocks in `workers` forked processes."""
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        list(pool.map(_run_forked, [name] * len(blocks), range(len(blocks))))  # warm: fork, first touch
        tic = time.perf_counter()
        list(pool.map(_run_forked, [name] * len(blocks), blocks))
        return time.perf_counter() - tic


def bench_generator_cpu(workers: int, reps: int = 4, blocks: int = 8) -> None:
    """Old (numpy, v1) against new (torch, counter-based) on the study-data shape: rows only."""
    data = study_data("study-data")
    torch.set_num_threads(1)
    old = numpy_generator_v1.build_teacher(numpy_generator_v1.SyntheticConfig.from_data_spec(data))
    old.table  # noqa: B018 (built before timing and forking)
    new = build_teacher(SyntheticConfig.from_data_spec(data))
    new.on("cpu")
    _forked["old"] = lambda block: old.rows(numpy_generator_v1.TRAIN_STREAM, block, OLD_BLOCK)
    _forked["new"] = lambda block: new.generate(TRAIN_STREAM, block * OLD_BLOCK, OLD_BLOCK)
    core: dict[str, float] = {}
    for rep in range(reps):  # interleaved, best of reps: the machine's other load hits both alike
        for name in ("old", "new"):
            seconds = _one_core(_forked[name], range(rep * blocks, (rep + 1) * blocks))
            core[name] = min(core.get(name, float("inf")), seconds)
    wall = {name: _forked_wall(name, range(blocks * workers), workers) for name in ("old", "new")}
    rows = blocks * OLD_BLOCK
    print(f"generator   study-data shape (F={len(new.config.cardinalities)}, {sum(new.config.cardinalities):,} ids), "
          f"rows only:")
    for name, label in (("old", "numpy v1 (PCG64 blocks)"), ("new", "torch counter-based")):
        print(f"  {label:26s} one core {rate(rows, core[name])} (CPU time) | {workers} processes "
              f"{rate(rows * workers, wall[name])} (wall)")
    print(f"  new / old: one core {core['old'] / core['new']:.2f}x, "
          f"{workers} processes {wall['old'] / wall['new']:.2f}x")


def bench_generator(data: DataSpec, out: Path, workers: int) -> None:
    phases: dict[str, float] = {}
    manifest = generate_synthetic(data, out, workers, timings=phases)
    total = sum(phases.values())
    rows = manifest.train.rows + manifest.eval.rows
    print(f"generator   end to end, {workers} workers: rows phase {rate(rows, phases['rows'])} | "
          f"total {rate(rows, total)} "
          f"({rows:,} rows in {total:.1f} s: teacher {phases['teacher']:.2f} s, rows {phases['rows']:.2f} s, "
          f"sha256 + Bayes metrics {phases['finish']:.2f} s; Bayes eval NE "
          f"{manifest.synthetic.bayes.ne:.4f})")  # type: ignore[union-attr]


def bench_generator_device(rows: int, device: str = "cuda", workload: str = "study-data-gpu") -> None:
    """The study-data-gpu shape on a device: build, copy, rows/s per CHUNK_ROWS, agreement with the CPU."""
    data = study_data(workload)
    cuda = device == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    tic = time.perf_counter()
    teacher = build_teacher(SyntheticConfig.from_data_spec(data))
    teacher.on("cpu")
    built = time.perf_counter() - tic
    tic = time.perf_counter()
    tables = teacher.on(device)
    sync()
    copied = time.perf_counter() - tic
    table_bytes = sum(t.numel() * t.element_size() for t in (tables.table, tables.zipf.cdf, tables.zipf.permutation,
                                                              tables.zipf.guide, tables.zipf.single))
    name = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"# {name}, torch {torch.__version__}; {workload} shape: {len(data.feature_cardinalities)} features, "
          f"{sum(data.feature_cardinalities):,} ids")
    print(f"teacher built on the CPU in {built:.1f} s (bias {teacher.bias:.6f}); tables "
          f"{table_bytes / 1e9:.2f} GB copied to {device} in {copied:.2f} s")
    piece = min(rows, 1 << 24)
    print(f"{'CHUNK_ROWS':>12} {'rows':>13} {'seconds':>8} {'M rows/s':>9} {'512M rows in':>13} {'peak GB':>8}")
    for chunk in (1 << 20, 1 << 21, 1 << 22):
        synthetic.CHUNK_ROWS[device] = chunk
        teacher.generate(TRAIN_STREAM, 0, min(piece, chunk), device)  # warm-up: kernels, allocator
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        tic = time.perf_counter()
        for start in range(0, rows, piece):
            teacher.generate(TRAIN_STREAM, start, min(piece, rows - start), device)
        sync()
        seconds = time.perf_counter() - tic
        peak = torch.cuda.max_memory_allocated() / 1e9 if cuda else float("nan")
        print(f"{chunk:>12,} {rows:>13,} {seconds:>8.2f} {rows / seconds / 1e6:>9.1f} "
              f"{512 * 2**20 / (rows / seconds):>11.1f} s {peak:>8.1f}")
    count = min(rows, 1 << 20)
    cpu, other = teacher.generate(TRAIN_STREAM, 0, count, "cpu"), teacher.generate(TRAIN_STREAM, 0, count, device)
    differ = {name: int((getattr(cpu, name) != getattr(other, name).cpu()).sum())
              for name in ("sparse", "dense", "labels")}
    worst = ((other.probs.cpu() - cpu.probs).abs() / cpu.probs).max().item()
    print(f"CPU vs {device}, first {count:,} rows: differing ids {differ['sparse']}, counts {differ['dense']}, "
          f"labels {differ['labels']}; largest relative probability difference {worst:.1e}")


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
    rows = teacher.generate(TRAIN_STREAM, 0, lines, missing=True)
    sparse = rows.sparse.numpy().astype(np.int64)
    features = np.arange(sparse.shape[1], dtype=np.int64)
    hashes = (sparse * 2654435761 + features * 40503 + 12345) & 0xFFFFFFFF
    with path.open("wb") as handle:
        handle.write(format_lines(rows.labels.numpy(), rows.dense.numpy(), rows.missing.numpy(), hashes))  # type: ignore[union-attr]


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
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: only the GPU generator table (study-data-gpu shape)")
    parser.add_argument("--rows", type=int, default=1 << 27, help="rows generated per CHUNK_ROWS on the GPU")
    args = parser.parse_args()
    if args.device == "cuda":
        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device visible to torch")
        bench_generator_device(args.rows)
        return
    spec = load_workload(REPO / "workloads" / "dlrm-synthetic-scaling.yaml")
    data = DataSpec.model_validate({**spec.data.model_dump(), "train_samples": args.train})
    print(f"# {os.cpu_count()} CPUs, torch {torch.__version__}, numpy {np.__version__}; "
          f"data: {spec.id} ({args.train:,} + {data.eval_samples:,} rows)")
    bench_generator_cpu(args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_generator(data, root / "synthetic", args.workers)
        bench_loader(root / "synthetic")
        for workers in sorted({1, args.workers}):
            bench_converter(data, root / f"convert-{workers}", args.tsv_lines, workers)


if __name__ == "__main__":
    main()
