"""The bad-workload campaign of issue 14: ~700 malformed workload files against the CLI.

The mutants (bench/workload_mutants.py) go through `recscale validate` and `recscale points`, each
in a subprocess under a timeout and a memory limit (RLIMIT_AS). Counted: tracebacks, hangs
(timeouts), exits other than 0 (accepted) or 2 (refused), and refusals whose lines do not all
start with the file's name. Then `recscale run` (one point, seed 0, in a temporary folder) of every
"boundary" mutant (values at the limits validate accepts) and of a sample of the other accepted
mutants of the smoke workload whose spec differs from smoke's, counting crashes: tracebacks,
FAILED runs, timeouts, other exit codes. Accepted mutants are listed, to review for wrong passes.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_bad_workloads.py [--runs 20] [--jobs 2]

Exits 1 when any count that should be 0 is not. Mutants are deterministic (--seed). About 30
minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import yaml
from workload_mutants import REPO, SMOKE, WORKLOADS, Mutant, all_mutants

sys.path.insert(0, str(REPO))
from harness.cli import DEBUG_ENV
from harness.cli import main as cli_main
from recscale import load  # noqa: F401  (imported once here, not in every forked child)


@dataclass
class Outcome:
    mutant: Mutant
    command: str
    returncode: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float


# ------------------------------------------------------------------------------------ running


def limit_memory(gigabytes: float) -> Callable[[], None]:
    def apply() -> None:
        size = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    return apply


def run_cli(args: list[str], cwd: Path, timeout: float, memory_gb: float) -> tuple[int | None, str, str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", DEBUG_ENV: "1"}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, errors="replace", timeout=timeout, preexec_fn=limit_memory(memory_gb),
                              check=False)
        return done.returncode, done.stdout, done.stderr, time.monotonic() - started
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        return None, out, "", time.monotonic() - started


def _forked_child(args: list[str], cwd: Path, memory_gb: float, out: int, err: int) -> NoReturn:
    """The child of forked_cli: `recscale ARGS` as `python -m harness.cli` runs it, then exit."""
    code = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(cwd)
        os.environ[DEBUG_ENV] = "1"
        limit_memory(memory_gb)()
        code = cli_main(args)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # what the interpreter would print: counted as a traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def forked_cli(args: list[str], cwd: Path, timeout: float, memory_gb: float) -> tuple[int | None, str, str, float]:
    """run_cli in a child forked from this process, which has imported the CLI already: the same
    code, limits and outcome, without paying the interpreter's start-up per command."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _forked_child(args, cwd, memory_gb, out.fileno(), err.fileno())
        code: int | None = None
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        else:
            code = os.waitstatus_to_exitcode(done[1])
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(errors="replace"), err.read().decode(errors="replace"), seconds


def check_mutant(mutant: Mutant, index: int, folder: Path, args: argparse.Namespace) -> list[Outcome]:
    file = folder / f"m{index:04d}.yaml"
    file.write_bytes(mutant.content)
    outcomes = []
    for command in ("validate", "points"):
        call = run_cli if args.exec else forked_cli
        rc, out, err, seconds = call([command, str(file)], folder, args.timeout, args.memory_gb)
        outcomes.append(Outcome(mutant, command, rc, out, err, seconds))
    return outcomes


def classify(outcome: Outcome, file_prefix: str | None = None) -> str:
    text = outcome.stdout + outcome.stderr
    if outcome.returncode is None:
        return "hang"
    if "Traceback" in text:
        return "traceback"
    if " FAILED " in text:
        return "failed run"
    if outcome.returncode == 0:
        return "accepted"
    if outcome.returncode == 2:
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        if file_prefix is not None and (not lines or not all(line.startswith(file_prefix) for line in lines)):
            return "refused without file"
        return "refused"
    return f"exit {outcome.returncode}"


def first_point(outcome: Outcome) -> str | None:
    lines = [line for line in outcome.stdout.splitlines() if line and not line.startswith("#")]
    return lines[0].split("\t")[0] if lines else None


def run_sample(accepted: list[tuple[Path, Outcome]], args: argparse.Namespace, folder: Path) -> Counter:
    """`recscale run` of one point (seed 0) of every boundary mutant and of a sample of the others."""
    boundary = [item for item in accepted if item[1].mutant.name.startswith("boundary:")]
    others = [item for item in accepted if not item[1].mutant.name.startswith("boundary:")]
    sample = boundary + random.Random(args.seed).sample(others, min(args.runs, len(others)))
    print(f"\nrun: the {len(boundary)} boundary mutants and {len(sample) - len(boundary)} of the other "
          f"{len(others)} accepted smoke mutants whose spec differs from smoke's (timeout {args.run_timeout:g} s)",
          flush=True)
    counts: Counter = Counter()
    for number, (file, points) in enumerate(sample, start=1):
        point = first_point(points)
        command = ["run", str(file), "--submission", str(folder / f"sub{number}"), "--data-root", str(folder / "data"),
                   "--system", "campaign", "--backend", "torch", "--no-progress", "--points", str(point),
                   "--seeds", "0"]
        rc, out, err, seconds = run_cli(command, folder, args.run_timeout, args.run_memory_gb)
        kind = classify(Outcome(points.mutant, "run", rc, out, err, seconds))
        kind = {"accepted": "ran", "hang": "timeout"}.get(kind, kind)
        counts[kind] += 1
        print(f"  run {number:2d}/{len(sample)} {kind:10s} {seconds:5.1f} s  {points.mutant.name}", flush=True)
        if kind != "ran":
            print("    " + (out + err).strip().replace("\n", "\n    ")[-1500:], flush=True)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--exec", action="store_true", help="validate / points in a fresh interpreter each "
                        "(`python -m harness.cli`; about 20x slower) instead of a child forked after importing it")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per validate / points")
    parser.add_argument("--memory-gb", type=float, default=2.0, help="address-space limit of validate / points")
    parser.add_argument("--runs", type=int, default=20, help="accepted smoke mutants to run, besides the boundary ones")
    parser.add_argument("--run-timeout", type=float, default=240.0)
    parser.add_argument("--run-memory-gb", type=float, default=8.0)
    args = parser.parse_args()
    mutants = all_mutants(args.seed)
    print(f"{len(mutants)} mutants of {len(WORKLOADS)} workloads; validate + points each "
          f"(timeout {args.timeout:g} s, {args.memory_gb:g} GB)", flush=True)
    with tempfile.TemporaryDirectory(prefix="recscale-campaign-") as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        results = [check_mutant(mutant, index, folder, args) for index, mutant in enumerate(mutants)]
        counts: Counter = Counter()
        accepted_smoke: list[tuple[Path, Outcome]] = []
        accepted_names: list[str] = []
        original = yaml.safe_load((REPO / "workloads" / f"{SMOKE}.yaml").read_text())
        for index, (validate, points) in enumerate(results):
            file = folder / f"m{index:04d}.yaml"
            for outcome in (validate, points):
                kind = classify(outcome, str(file))
                counts[(outcome.command, kind)] += 1
                if kind not in ("accepted", "refused"):
                    print(f"  {kind}: {outcome.command} {outcome.mutant.name} ({outcome.mutant.workload})\n    "
                          + (outcome.stdout + outcome.stderr).strip()[-800:].replace("\n", "\n    "), flush=True)
            if classify(validate) == "accepted":
                accepted_names.append(f"{validate.mutant.workload}: {validate.mutant.name}")
            if (validate.mutant.workload == SMOKE and classify(points) == "accepted"
                    and yaml.safe_load(validate.mutant.content) != original):
                accepted_smoke.append((file, points))
        elapsed = time.monotonic() - started
        print(f"\naccepted ({len(accepted_names)}):\n  " + "\n  ".join(accepted_names))
        print(f"\nvalidate + points on {len(mutants)} mutants in {elapsed:.0f} s:")
        for (command, kind), n in sorted(counts.items()):
            print(f"  {command:8s} {kind:22s} {n:4d}")
        run_counts = run_sample(accepted_smoke, args, folder)
        print("  " + ", ".join(f"{kind}: {n}" for kind, n in sorted(run_counts.items())))
    bad = sum(n for (_, kind), n in counts.items() if kind not in ("accepted", "refused"))
    bad += sum(n for kind, n in run_counts.items() if kind not in ("ran", "refused"))
    print(f"\n{bad} outcome(s) that should be 0 (tracebacks, hangs, crashes, refusals without the file)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
