"""Harness overhead: training samples/s through `train_run` vs the bare loop of the same model.

Both train the same point (same data, model, optimizer, seed) in the same process, alternating,
several times each; evaluation is excluded from the harness figure (RunResult.train_samples_per_s
is measured without evaluation time) and the point evaluates only once, at the end of the pass.
Goal (issue 5): the harness loses under 3%.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_harness.py [--workload W] [--point P]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from harness.runner import RunConfig, train_run
from recscale.load import load_points, resolve_workload
from reference.data.loader import open_dataset
from reference.model.parallel import build_trainable


def bare_loop(point, backend: str, data_root: Path, seed: int) -> float:
    """samples/s of the plainest loop over the same batches: no logging, no checks, no evaluation."""
    spec = point.spec
    dataset = open_dataset(spec, data_root)
    model, optimizer = build_trainable(spec, backend, torch.device("cpu"), seed)
    rows, batch_size = spec.data.train_rows, spec.training.batch_size
    tic = time.perf_counter()
    for batch in dataset.train_batches(batch_size, rows, seed * 1_000_003):
        loss = F.binary_cross_entropy_with_logits(model(batch), batch.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return rows / (time.perf_counter() - tic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="study-data")
    parser.add_argument("--point", default="data.fraction=0.125", help="a point id of the workload")
    parser.add_argument("--backend", default="torchrec", choices=["torchrec", "torch"])
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    args = parser.parse_args()
    torch.set_num_threads(2)

    _, points = load_points(resolve_workload(args.workload))
    point = next(p for p in points if p.point_id == args.point)
    # One evaluation, at the end: the overhead measured is the loop's, not evaluation's.
    point = replace(point, spec=point.spec.model_copy(update={
        "training": point.spec.training.model_copy(update={"eval_every": 1.0})}))
    config = RunConfig(submitter="bench", division="open", system="bench", backend=args.backend, device="cpu",
                       data_root=args.data_root, progress=False)
    bare, harness = [], []
    with tempfile.TemporaryDirectory() as tmp:
        bare_loop(point, args.backend, args.data_root, 0)  # warm-up: data generated, pages cached
        for repeat in range(args.repeat):  # alternate which goes first: neither gets the warmer cache
            if repeat % 2:
                harness.append(train_run(point, 0, config, Path(tmp) / f"run_{repeat}").train_samples_per_s)
            bare.append(bare_loop(point, args.backend, args.data_root, 0))
            if not repeat % 2:
                harness.append(train_run(point, 0, config, Path(tmp) / f"run_{repeat}").train_samples_per_s)
    b, h = statistics.median(bare), statistics.median(harness)
    print(f"point {args.workload}/{args.point} ({point.spec.data.train_rows:,} rows, backend {args.backend})")
    print(f"bare loop   samples/s: median {b:,.0f}  runs {[round(x) for x in bare]}")
    print(f"train_run   samples/s: median {h:,.0f}  runs {[round(x) for x in harness]}")
    print(f"harness overhead: {100 * (1 - h / b):+.1f}% (goal: under 3%)")


if __name__ == "__main__":
    main()
