"""Time `recscale check` on a 1,000-run submission (issue 6: under 10 s).

The submission is written by tests/submission_factory.py: the smoke workload with a 10 x 10 sweep
(data fraction x embedding dim) and 10 runs per point, every run evaluating 20 times (eval_every
0.05), so each log has about 110 events, as a real run of that cadence does. Reports the time of
check_submission (median of --repeat) and the share of it per concern from one cProfile run.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_check.py [--runs-per-point 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from submission_factory import make_submission  # noqa: E402

from harness.check import check_submission  # noqa: E402

FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
DIMS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def write_workload(folder: Path, runs_per_point: int) -> Path:
    """smoke.yaml with a 100-point sweep and `runs_per_point` runs, as workload `bench-check`."""
    spec = yaml.safe_load((REPO / "workloads" / "smoke.yaml").read_text())
    spec.update(id="bench-check", runs_per_point=runs_per_point)
    spec["training"]["eval_every"] = 0.05
    spec["sweep"] = {"data.fraction": FRACTIONS,
                     "size": {"model.embedding.dim": DIMS, "model.bottom_mlp": [[32, d] for d in DIMS]}}
    path = folder / "bench-check.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-per-point", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workloads = Path(tmp) / "workloads"
        workloads.mkdir()
        workload = write_workload(workloads, args.runs_per_point)
        root = Path(tmp) / "submission"
        tic = time.perf_counter()
        make_submission(root, workload)
        built = time.perf_counter() - tic
        files = sum(1 for p in root.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        times, report = [], None
        for _ in range(args.repeat):
            tic = time.perf_counter()
            report = check_submission(root, references=[], workloads=[workloads])
            times.append(time.perf_counter() - tic)
        assert report is not None
        print(f"submission: {report.runs} runs, {files} files, {size / 2**20:.1f} MiB (built in {built:.1f} s)")
        print(f"check_submission: median {statistics.median(times):.2f} s over {len(times)} "
              f"(min {min(times):.2f}, max {max(times):.2f}); passed={report.passed}, "
              f"{len(report.errors)} errors, {len(report.notes)} notes")
        profile = cProfile.Profile()
        profile.enable()
        check_submission(root, references=[], workloads=[workloads])
        profile.disable()
        stats = pstats.Stats(profile)
        total = stats.total_tt  # type: ignore[attr-defined]
        print(f"profile (cumulative seconds of {total:.2f} s under cProfile, per concern):")
        for name in ("scan", "check_document", "to_record", "parse", "check_presence", "collect_evaluations",
                     "check_identity", "check_record", "derive", "_spec_view", "check"):
            entries = [(fn, row) for fn, row in stats.stats.items()  # type: ignore[attr-defined]
                       if fn[2] == name and "harness/" in fn[0]]
            for fn, row in entries:
                print(f"  {Path(fn[0]).name}:{fn[2]:<22} {row[3]:6.2f} s")


if __name__ == "__main__":
    main()
