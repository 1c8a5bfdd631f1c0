"""Run commands: `recscale run` (a sweep into a submission folder) and `recscale demo`."""

from __future__ import annotations

import argparse
import importlib.util
import platform
from pathlib import Path

from harness.check import check_submission
from harness.distributed import Distributed
from harness.runner import RunConfig
from harness.submission import run_sweep
from recscale.errors import InputError, Problem
from recscale.layout import RESULTS_DIR, safe_name
from recscale.load import resolve_workload
from recscale.system import PRECISIONS
from reference.data.dali import INSTALL_HINT, dali_available
from reference.data.pipeline import LOADER_CHOICES

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
    )


def cmd_run(args: argparse.Namespace) -> int:
    config = config_from(args)
    dist = Distributed.from_env(config.device)
    try:
        outcome = run_sweep(resolve_workload(args.workload), args.submission, config, args.points, args.seeds,
                            dist, announce=print if dist.is_main else (lambda _: None))
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
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a workload's points x seeds into a submission folder (resumable; one "
                       "`recscale run` writes a submission at a time)")
    p.add_argument("workload", help="workload id (./workloads, then the built-in ones) or file; the submission "
                   "keeps a copy of the file (workloads/<id>.yaml)")
    p.add_argument("--submission", type=Path, required=True, help="the submission folder to fill")
    p.add_argument("--points", nargs="+", metavar="POINT", help="only these point ids (see `recscale points`)")
    p.add_argument("--seeds", nargs="+", type=seed, metavar="SEED", help="seeds (default: 0..runs_per_point-1)")
    add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the smoke workload end to end on this machine")
    p.add_argument("--out", type=Path, default=DEMO_SUBMISSION, help="submission folder (default: runs/demo)")
    add_run_options(p)
    p.set_defaults(func=cmd_demo, points=None, seeds=None)
