"""Sweeps on Ray vs in this process: wall time, scheduling overhead per run, runs lost to killed workers.

Three figures (issue 13), measured in one go on a local Ray cluster of this machine's CPUs:

- speed: a CPU sweep of small runs (the smoke workload, 4 points x --seeds: 8 runs, its training
  rows times each of --scales) with one single-thread run per CPU on Ray, against the in-process
  executor with torch on all CPUs. First as a user runs them: two `recscale run` commands (fresh
  processes: imports, and Ray's local cluster started and stopped, included), with a control (the
  in-process command on one thread); then both executors in this process, torch imported and the
  cluster up. Data sets are generated before anything is timed. Goal: ray / in-process <= 0.75.
- overhead: runs that do almost nothing (a few hundred rows), one at a time (--max-concurrent 1)
  on the warm cluster, against the same runs in this process: (ray - in-process) / runs is what
  scheduling, shipping and publishing add to each run. Goal: under 1 s.
- kills: --kill-trials sweeps of 4 runs (tiny, 131k rows each) on the warm cluster; in each, the
  worker of a running run is killed (SIGKILL) at a random moment. Afterwards no run is missing, none
  is there twice (manifest), and `recscale check` passes. Goal: 0 lost, 0 duplicated, 10/10 pass.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_sweep.py [--part speed overhead kills]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path

import ray
import torch

from harness.check import check_submission
from harness.executors.ray_cluster import RayExecutor, RayOptions
from harness.executors.task import RunReport, RunTask, StartHook, Where
from harness.runner import RunConfig
from harness.submission import run_sweep
from recscale.layout import MANIFEST_FILE, SubmissionLayout
from recscale.load import load_points, resolve_workload
from recscale.records import SubmissionManifest
from reference.data.loader import open_dataset

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from submission_factory import workload_variant  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
CPUS = os.cpu_count() or 1


def config(data_root: Path, backend: str) -> RunConfig:
    return RunConfig(submitter="bench", division="closed", system="bench", backend=backend, device="cpu",
                     data_root=data_root, status="research", progress=False)


def sweep_seconds(workload: Path, sub: Path, run_config: RunConfig, seeds: list[int],
                  executor: RayExecutor | None = None) -> float:
    tic = time.perf_counter()
    outcome = run_sweep(workload, sub, run_config, seeds=seeds, announce=lambda _: None, executor=executor)
    seconds = time.perf_counter() - tic
    assert not outcome.failed and not outcome.skipped, outcome.failed
    return seconds


def in_process_seconds(workload: Path, sub: Path, run_config: RunConfig, seeds: list[int], threads: int) -> float:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return sweep_seconds(workload, sub, run_config, seeds)
    finally:
        torch.set_num_threads(before)


def prepare_data(workload: Path, data_root: Path) -> None:
    for point in load_points(workload)[1]:
        open_dataset(point.spec, data_root)


def command_seconds(workload: Path, sub: Path, run_config: RunConfig, seeds: list[int], threads: int,
                    *flags: str) -> float:
    """Wall time of `recscale run` as a user runs it: a fresh process (imports included; with
    --executor ray the local cluster it starts and stops too), torch on `threads` threads."""
    command = [sys.executable, "-m", "harness.cli", "run", str(workload), "--submission", str(sub),
               "--system", run_config.system, "--submitter", run_config.submitter, "--status", run_config.status,
               "--backend", run_config.backend, "--data-root", str(run_config.data_root), "--no-progress",
               "--seeds", *map(str, seeds), *flags]
    tic = time.perf_counter()
    subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": str(threads)}, check=True, capture_output=True)
    return time.perf_counter() - tic


def speed(tmp: Path, args: argparse.Namespace, scale: int) -> None:
    smoke = resolve_workload("smoke")
    rows = load_points(smoke)[0].data.train_samples * scale
    workload = workload_variant(smoke, tmp / f"smoke-x{scale}.yaml", data__train_samples=rows)
    run_config = config(tmp / "data", args.backend)
    prepare_data(workload, run_config.data_root)
    runs = len(load_points(workload)[1]) * len(args.seeds)
    name = f"x{scale}"
    local = command_seconds(workload, tmp / f"{name}-local", run_config, args.seeds, CPUS)
    cold = command_seconds(workload, tmp / f"{name}-ray", run_config, args.seeds, 1, "--executor", "ray")
    # A control: on a machine busy with other work, torch's threads wait for each other's cores, and
    # the in-process sweep on all the threads can be slower than on one.
    single = command_seconds(workload, tmp / f"{name}-local-1", run_config, args.seeds, 1)
    print(f"speed, {runs} smoke runs of {rows:,} rows ({args.backend}), `recscale run` commands: in-process "
          f"({CPUS} threads) {local:.1f} s, ray ({CPUS} single-thread workers) {cold:.1f} s: ratio "
          f"{cold / local:.2f}; control: in-process on 1 thread {single:.1f} s (ray / that {cold / single:.2f})")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=CPUS, include_dashboard=False, logging_level="WARNING")
    local = in_process_seconds(workload, tmp / f"{name}-api-local", run_config, args.seeds, CPUS)
    warm = sweep_seconds(workload, tmp / f"{name}-api-ray", run_config, args.seeds,
                         RayExecutor(RayOptions(cpus_per_run=1)))
    print(f"  in one process, cluster up and torch imported: in-process ({CPUS} threads) {local:.1f} s, "
          f"ray {warm:.1f} s: ratio {warm / local:.2f}")


def overhead(tmp: Path, args: argparse.Namespace) -> None:
    workload = workload_variant(TINY, tmp / "empty.yaml", runs_per_point=1, data__train_samples=512,
                                data__eval_samples=256, training__batch_size=256, training__eval_batch_size=256)
    run_config = config(tmp / "data", "torch")
    prepare_data(workload, run_config.data_root)
    seeds = list(range(args.empty_runs // 2))
    runs = 2 * len(seeds)
    local = in_process_seconds(workload, tmp / "empty-local", run_config, seeds, 1)
    on_ray = sweep_seconds(workload, tmp / "empty-ray", run_config, seeds,
                           RayExecutor(RayOptions(cpus_per_run=1, max_concurrent=1)))
    print(f"overhead: {runs} near-empty runs one at a time: in-process {local:.2f} s ({local / runs:.3f} s/run), "
          f"ray {on_ray:.2f} s ({on_ray / runs:.3f} s/run): {(on_ray - local) / runs:.3f} s per run added")


class RandomKill:
    """Kills the worker of a running run at a random moment of the sweep (SIGKILL)."""

    def __init__(self, inner: RayExecutor, within_s: float, rng: random.Random):
        self.inner, self.within_s, self.rng = inner, within_s, rng
        self.running: dict[object, Where] = {}
        self.killed: list[tuple[RunTask, Where]] = []

    def run(self, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]:
        def watch(task: RunTask, where: Where) -> None:
            self.running[task.key] = where
            started(task, where)

        timer = threading.Timer(self.rng.uniform(0, self.within_s), self._kill, args=(tasks,))
        timer.start()
        try:
            for report in self.inner.run(tasks, watch):
                self.running.pop(report.task.key, None)
                yield report
        finally:
            timer.cancel()

    def _kill(self, tasks: list[RunTask]) -> None:
        deadline = time.monotonic() + 60
        while not self.running and time.monotonic() < deadline:  # between runs: the next one that starts
            time.sleep(0.01)
        if self.running:
            key, where = self.rng.choice(list(self.running.items()))
            os.kill(where.pid, signal.SIGKILL)
            self.killed.append((next(t for t in tasks if t.key == key), where))


def kills(tmp: Path, args: argparse.Namespace) -> None:
    workload = workload_variant(TINY, tmp / "kill.yaml", data__train_samples=131072)
    run_config = config(tmp / "data", "torch")
    prepare_data(workload, run_config.data_root)
    expected = len(load_points(workload)[1]) * 2
    rng = random.Random(args.seed)
    plain = min(sweep_seconds(workload, tmp / f"kill-plain-{i}", run_config, [0, 1],
                              RayExecutor(RayOptions(cpus_per_run=1))) for i in range(2))
    lost = duplicated = passed = trials = 0
    for attempt in range(2 * args.kill_trials):
        if trials == args.kill_trials:
            break
        sub = tmp / f"kill-{attempt}"
        killer = RandomKill(RayExecutor(RayOptions(cpus_per_run=1, retries=2)), 0.8 * plain, rng)
        tic = time.perf_counter()
        run_sweep(workload, sub, run_config, seeds=[0, 1], announce=lambda _: None, executor=killer)
        seconds = time.perf_counter() - tic
        if not killer.killed:  # the sweep was done before the moment drawn: not a trial
            print(f"  attempt {attempt + 1}: the sweep finished before the kill ({seconds:.1f} s); not counted")
            continue
        trials += 1
        manifest = SubmissionManifest.model_validate_json((sub / MANIFEST_FILE).read_bytes())
        listed = [(run.point, run.seed) for run in manifest.runs]
        on_disk = {(result.point_id, result.seed) for _, result in SubmissionLayout(sub).finished_runs()}
        assert set(listed) == on_disk, (listed, on_disk)
        lost += expected - len(on_disk)
        duplicated += len(listed) - len(set(listed))
        verdict = check_submission(sub)
        passed += verdict.passed
        victim = ", ".join(f"{task.label} (pid {where.pid})" for task, where in killer.killed)
        print(f"  trial {trials}: killed {victim}; {len(on_disk)}/{expected} runs, {seconds:.1f} s, check "
              f"{'passes' if verdict.passed else 'FAILS ' + ','.join(verdict.failed_rules())}")
    print(f"kills: {trials} trials (sweep of {expected} runs, {plain:.1f} s without a kill): "
          f"{lost} runs lost, {duplicated} duplicated, check passed {passed}/{trials}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", nargs="+", choices=["speed", "overhead", "kills"],
                        default=["speed", "overhead", "kills"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1], help="seeds of the smoke sweep (speed)")
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 3],
                        help="speed: the smoke sweep with its training rows times these")
    parser.add_argument("--backend", default="torchrec", choices=["torchrec", "torch"])
    parser.add_argument("--empty-runs", type=int, default=16)
    parser.add_argument("--kill-trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13, help="seed of the kill moments")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"{CPUS} CPUs, load average {os.getloadavg()[0]:.1f}")
    try:
        for scale in args.scales if "speed" in args.part else []:
            speed(tmp, args, scale)
        if not ray.is_initialized():
            ray.init(address="local", num_cpus=CPUS, include_dashboard=False, logging_level="WARNING")
        if "overhead" in args.part:
            overhead(tmp, args)
        if "kills" in args.part:
            kills(tmp, args)
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
