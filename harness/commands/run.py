"""Run commands: `recscale run` (a sweep into a submission folder) and `recscale demo`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
from collections.abc import Callable
from pathlib import Path

from harness.check import check_submission
from harness.distributed import Distributed
from harness.executors.inprocess import InProcessExecutor
from harness.executors.ray_cluster import RayExecutor, RayOptions
from harness.executors.task import Executor
from harness.runner import RunConfig
from harness.submission import run_sweep
from recscale.errors import InputError, Problem
from recscale.io import folder_to_write
from recscale.layout import RESULTS_DIR, safe_name
from recscale.load import resolve_workload
from recscale.system import PRECISIONS
from reference.data.dali import INSTALL_HINT, dali_available
from reference.data.pipeline import LOADER_CHOICES
from reference.model.parallel import require_shardable

DEMO_SUBMISSION = Path("runs") / "demo"


def default_backend() -> str:
    """torchrec where fbgemm is installed (the fast path), else the pure-PyTorch backend."""
    has = importlib.util.find_spec
    return "torchrec" if has("torchrec") and (has("fbgemm_gpu")) else "torch"


def default_system(device: str, backend: str, precision: str = "fp32") -> str:
    """<host>_<device>_<backend>, and _<precision> unless fp32: one system is one stack (SYS-2)."""
    host = "".join(c if c.isalnum() or c in "-_." else "-" for c in platform.node()).lstrip(".-") or "local"
    return f"{host}_{device}_{backend}" + ("" if precision == "fp32" else f"_{precision}")


def system_name(text: str) -> str:
    """--system: one safe path component (it names a folder and a file of the submission)."""
    try:
        return safe_name(text, "--system")
    except InputError as err:
        raise argparse.ArgumentTypeError(err.problems[0].message) from None


def seed(text: str) -> int:
    """--seeds: non-negative integers (each names a run_<seed> folder)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seeds are non-negative integers (got {value})")
    return value


def config_from(args: argparse.Namespace) -> RunConfig:
    backend = args.backend or default_backend()
    # --loader / --precision (the data pipeline and the numerics of the stack)
    if args.loader == "dali" and not dali_available():
        raise InputError([Problem("--loader", "dali", INSTALL_HINT)])
    return RunConfig(
        submitter=args.submitter, division=args.division,
        system=args.system or default_system(args.device, backend, args.precision), backend=backend,
        device=args.device, data_root=args.data_root, status=args.status,
        progress=False if args.no_progress else None, precision=args.precision, loader=args.loader,
        cuda_graphs=not args.no_cuda_graphs,
    )


def processes_fit(config: RunConfig) -> None:
    """Several processes (torchrun) need a backend that shards its tables: refused before anything starts."""
    try:
        require_shardable(config.backend, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError as err:
        raise InputError([Problem("--backend", "", str(err))]) from None


def cmd_run(args: argparse.Namespace) -> int:
    folder_to_write(args.data_root, "--data-root")
    config = config_from(args)
    processes_fit(config)
    dist = Distributed.from_env(config.device)
    try:
        executor = executor_from(args, config, dist)
        outcome = run_sweep(resolve_workload(args.workload), args.submission, config, args.points, args.seeds,
                            dist, announce=print if dist.is_main else (lambda _: None), executor=executor)
    finally:
        dist.close()
    if dist.is_main:
        print(f"{len(outcome.ran)} ran, {len(outcome.skipped)} already finished, {len(outcome.failed)} failed; "
              f"results in {args.submission / RESULTS_DIR / config.system}")
    return 1 if outcome.failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The smoke workload end to end: run (resumable), then check the submission it made."""
    args.workload, args.submission = "smoke", args.out
    args.status = args.status or "research"  # a demo is a research run by definition
    code = cmd_run(args)
    report = check_submission(args.out)
    verdict = "passes" if report.passed else f"FAILS ({', '.join(report.failed_rules())})"
    print(f"\nThe demo submission is in {args.out}/ and {verdict} `recscale check`. Next:\n"
          f"  recscale check {args.out}\n"
          f"  recscale score {args.out.parent} --out {args.out.parent / 'leaderboard'}")
    return code or (0 if report.passed else 1)


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system", type=system_name, help="system name (default: <host>_<device>_<backend>, and "
                   "_<precision> unless fp32)")
    p.add_argument("--submitter", default="recscale-user", help="organisation submitting the results")
    p.add_argument("--division", choices=["closed", "open"], default="closed")
    p.add_argument("--status", default="", choices=["", "available", "preview", "research", "onprem", "cloud"],
                   help="MLPerf availability of the system (left empty: fill it in systems/<name>.json)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--backend", choices=["torchrec", "torch"], help="embedding backend (default: torchrec "
                   "when fbgemm is installed, else torch)")
    p.add_argument("--data-root", type=Path, default=Path("data"), help="where synthetic data is generated")
    # --loader / --precision: the data pipeline and the numerics of the stack
    p.add_argument("--loader", choices=LOADER_CHOICES, default="auto", help="where batches are made, same batches "
                   "either way: device (data staged in device memory), host (read from the shards each batch), "
                   "dali (NVIDIA DALI, an optional extra); auto: device on CUDA when the data fits, else host")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="numeric precision, part of the stack "
                   "(RULES.md SYS-3): fp32; tf32 (TF32 matmuls on CUDA); bf16 (autocast of the dense parts; "
                   "tables and optimizer state stay fp32)")
    p.add_argument("--no-cuda-graphs", action="store_true", help="on CUDA with one process, run the dense part "
                   "eagerly instead of replaying it as CUDA graphs (the same numbers; for comparison and debugging)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


# ---- the executor: where the runs train (harness/executors)

RAY_FLAGS = {"address": "--address", "gpus_per_run": "--gpus-per-run", "cpus_per_run": "--cpus-per-run",
             "max_concurrent": "--max-concurrent", "retries": "--retries"}


def number(kind: type, least: float, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a `kind` number at least (or above) `least`."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of type {kind.__name__}") from None
        if value < least or (above and value == least):
            raise argparse.ArgumentTypeError(f"{value} is not {'above' if above else 'at least'} {least:g}")
        return value
    return parse


def executor_from(args: argparse.Namespace, config: RunConfig, dist: Distributed) -> Executor:
    """The executor the flags ask for; InputError for flags that do not go together."""
    given = [flag for name, flag in RAY_FLAGS.items() if getattr(args, name) is not None]
    if args.executor != "ray":
        if given:
            raise InputError([Problem(flag, "", "goes with --executor ray") for flag in given])
        return InProcessExecutor(dist)
    if dist.world_size > 1:
        raise InputError([Problem("--executor", "ray", "Ray starts the processes of each run itself: start the "
                                  "sweep with `recscale run`, not torchrun (--gpus-per-run N: N processes per run)")])
    options = RayOptions(
        address=args.address,
        gpus_per_run=args.gpus_per_run if args.gpus_per_run is not None else float(config.device == "cuda"),
        cpus_per_run=args.cpus_per_run if args.cpus_per_run is not None else 1.0,
        max_concurrent=args.max_concurrent, retries=args.retries if args.retries is not None else 2)
    if problems := options.problems(config.device):
        raise InputError(problems)
    return RayExecutor(options)


def add_executor_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("executor", "where the runs train: in this process one after another "
                                 "(default), or each run a Ray task on a local or remote Ray cluster")
    group.add_argument("--executor", choices=["inprocess", "ray"], default="inprocess")
    group.add_argument("--address", help="Ray: the cluster to join: auto (the one started on this machine with "
                       "`ray start`) or HOST:PORT of its head (default: a local cluster for this command)")
    group.add_argument("--gpus-per-run", type=number(float, 0), metavar="G", help="Ray: GPUs per run (default: "
                       "1 with --device cuda, else 0); G > 1: one process per GPU; below 1: runs share a GPU")
    group.add_argument("--cpus-per-run", type=number(float, 0, above=True), metavar="C",
                       help="Ray: CPUs per run, which are also its torch threads (default 1)")
    group.add_argument("--max-concurrent", type=number(int, 1), metavar="K",
                       help="Ray: at most K runs at once (default: as many as the cluster holds)")
    group.add_argument("--retries", type=number(int, 0), metavar="N",
                       help="Ray: how often a run whose worker died is run again before it counts as failed "
                       "(default 2)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a workload's points x seeds into a submission folder (resumable; one "
                       "`recscale run` writes a submission at a time)")
    p.add_argument("workload", help="workload id (./workloads, then the built-in ones) or file; the submission "
                   "keeps a copy of the file (workloads/<id>.yaml)")
    p.add_argument("--submission", type=Path, required=True, help="the submission folder to fill")
    p.add_argument("--points", nargs="+", metavar="POINT", help="only these point ids (see `recscale points`)")
    p.add_argument("--seeds", nargs="+", type=seed, metavar="SEED", help="seeds (default: 0..runs_per_point-1)")
    add_run_options(p)
    add_executor_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the smoke workload end to end on this machine")
    p.add_argument("--out", type=Path, default=DEMO_SUBMISSION, help="submission folder (default: runs/demo)")
    add_run_options(p)
    add_executor_options(p)
    p.set_defaults(func=cmd_demo, points=None, seeds=None)
