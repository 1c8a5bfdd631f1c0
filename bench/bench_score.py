"""Benchmark: scoring ~1,000 runs with bootstrap intervals (1,000 resamples per fit).

Builds submissions from known curves (tests/score_helpers.py) on the synthetic workload's 15
points, writes them to a temporary folder, then times `harness.score.leaderboard.score.score` end to end:
reading the records, every fit (5 axes per entry, bootstrap 1,000), the leaderboards, the plots
and the output files. The checker is not timed (it is replaced by a pass-through: it is the
checker's cost, benchmarked with it). Goal: under 10 s on 2 cores. The CPU time is printed beside
the wall time: on a shared machine it is the steadier figure.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_score.py [--entries 4] [--runs 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from score_helpers import Law, make_records, synthetic_points, system_description, write_submission  # noqa: E402

from harness.score.fits.records import FitSettings  # noqa: E402
from harness.score.leaderboard.score import score  # noqa: E402


def build(root: Path, entries: int, runs: int) -> int:
    """`entries` submissions of one system each, sharing ~`runs` runs; returns the number of runs written."""
    points = synthetic_points()
    seeds = max(1, math.ceil(runs / (entries * len(points))))
    total = 0
    for i in range(entries):
        system = f"sys-{i}"
        records = make_records(points, seeds=range(seeds), noise=0.003, system=system,
                               samples_per_s=20_000.0 * (i + 1), law=Law(b=12.0 + i))
        write_submission(root / f"org-{i}", records, [system_description(system)], submitter=f"org-{i}")
        total += len(records)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=4, help="systems (one scaling curve each)")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "subs"
        n_runs = build(root, args.entries, args.runs)
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            outcome = score(root, Path(tmp) / "out", checker=lambda path: (True, ""),
                            settings=FitSettings(n_boot=args.bootstrap))
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        fits = sum(len(axis.slices) for r in outcome.board.workload_fits for axis in r.axes)
    print(f"scored {n_runs} runs ({args.entries} curves, {fits} fits x {args.bootstrap} resamples, "
          f"{len(outcome.board.plots)} plot files): best {min(times):.2f} s, median "
          f"{sorted(times)[len(times) // 2]:.2f} s over {args.repeat}; CPU time (this process, all threads) "
          f"best {min(cpu):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
