"""The bad-input and fault campaign of issue 14 (the parts the other two scripts do not cover), re-run:

1. corruptions: a valid submission (a real `recscale run` of tiny: 2 points x 2 seeds) damaged in
   one way each (bench/fault_corruptions.py: ~150 ways) and given to `recscale check` (must fail with
   one of the rules the case names; never pass), `score` (must refuse it by name) and `report` (must
   refuse it); controls change nothing a rule forbids and must pass all three. Then one `score` of all
   of them beside the valid one: the valid one and the controls scored, every other one named.
2. kills: `recscale run` of tiny SIGKILLed at a random moment (a third of the time its resume too),
   then resumed: no run lost or duplicated, finished runs not redone, the submission checks clean.
3. edges: `score` and `report` on odd inputs (bench/fault_edges.py).

Every command runs in its own process with a timeout (bench/fault_launch.py), and is counted as a
traceback (a Python traceback, exit 3 or a signal), a hang (no exit in time), a wrong pass, a wrong
refusal, a wrong rule, an unnamed refusal, or stray writes (anything changed under the case's
folder outside its --out: `check` may write nothing at all).

    .venv/bin/python bench/bench_fault_campaign.py [--phases corrupt kill edge] [--kills 31] [--exec]
        [--only NAME ...] [--base factory] [--keep DIR] [-v]

Bench data of other scripts: bench/bench_convert_inputs.py (data convert), bench/bench_bad_workloads.py
(workload validation). Exit status 1 when any failure count is not zero.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "bench")]

from fault_corruptions import CONTROLS, CORRUPTIONS, Corruption  # noqa: E402
from fault_edges import EDGES, Edge  # noqa: E402
from fault_launch import Child, Ran, changes, run, snapshot  # noqa: E402
from submission_factory import make_submission, workload_variant  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
SMOKE = REPO / "workloads" / "smoke.yaml"
FAST = ["--no-references", "--bootstrap", "50"]
PHASES = ("corrupt", "kill", "disk", "edge")
RUN_OPTIONS = ["--system", "box", "--submitter", "campaign-org", "--status", "research", "--backend", "torch",
               "--no-progress"]
FAILURES = ("traceback", "os error", "hang", "wrong pass", "wrong refusal", "wrong rule", "unnamed", "stray writes",
            "lost", "duplicated", "redone", "not clean")


@dataclass
class Tally:
    """Counts per phase and outcome, and a line for each failure."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    commands: int = 0

    def add(self, phase: str, outcome: str, case: str = "", detail: str = "") -> None:
        self.counts[(phase, outcome)] += 1
        if outcome in FAILURES:
            self.failures.append(f"{phase} {case}: {outcome}: {detail}")

    def failed(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome in FAILURES)


@dataclass
class Settings:
    work: Path
    timeout: float = 120.0
    exec_mode: bool = False
    verbose: bool = False


def launch(settings: Settings, tally: Tally, argv: list[str], cwd: Path, *, unprivileged: bool = False,
           timeout: float | None = None) -> Ran:
    tally.commands += 1
    ran = run(argv, cwd, timeout or settings.timeout, exec_mode=settings.exec_mode, unprivileged=unprivileged,
              env={"MPLCONFIGDIR": str(settings.work / "mpl")})
    if settings.verbose:
        print(f"  {' '.join(argv[:2])}: exit {ran.code} in {ran.seconds:.1f} s", flush=True)
    return ran


def rules_reported(text: str) -> set[str]:
    """The rule ids of the errors a `check` printed (lines "RULE-ID  file: what")."""
    return set(re.findall(r"^([A-Z]+-\d+)  ", text, flags=re.M))


# --------------------------------------------------------------------------------- the base


def make_base(settings: Settings, tally: Tally, kind: str) -> Path:
    """A valid submission: a real run of tiny (2 points x 2 seeds), or the factory's (seconds)."""
    base = settings.work / "base" / "valid"
    if kind == "factory":
        workload = workload_variant(SMOKE, settings.work / "base" / "campaign.yaml", id="campaign",
                                    runs_per_point=2, sweep={"data.fraction": [0.5, 1.0]})
        make_submission(base, workload)
    else:
        ran = launch(settings, tally, ["run", str(TINY), "--submission", str(base), "--data-root",
                                       str(settings.work / "data"), *RUN_OPTIONS], settings.work, timeout=900)
        assert ran.code == 0, ran.text
    ran = launch(settings, tally, ["check", str(base), "--no-references"], settings.work)
    assert ran.code == 0, f"the base submission must pass: {ran.text}"
    return base


# ------------------------------------------------------------------------------ corruptions


def corrupt_case(settings: Settings, tally: Tally, base: Path, case: Corruption) -> Path:
    """Apply one corruption to a copy of the base; check, score and report it; return the copy."""
    folder = settings.work / "corrupt" / case.name
    subs = folder / "subs"
    root = subs / case.name
    shutil.copytree(base, root, symlinks=True)
    (folder / "outside").mkdir()
    case.change(root)
    before = snapshot(folder, [folder / "out"])
    as_user = {"unprivileged": case.unprivileged}

    checked = launch(settings, tally, ["check", str(root), "--no-references"], folder, **as_user)
    rules = rules_reported(checked.out)
    if (failure := checked.failure()) is not None:
        tally.add("corrupt/check", failure, case.name, checked.err[-400:])
    elif case.control:
        tally.add("corrupt/check", "ok" if checked.code == 0 else "wrong refusal", case.name, checked.out[-400:])
    elif checked.code == 0:
        tally.add("corrupt/check", "wrong pass", case.name, checked.out[-300:])
    elif checked.code != 1 or not rules:
        tally.add("corrupt/check", "unnamed", case.name, f"exit {checked.code}: {checked.text[-300:]}")
    elif not rules & case.rules:
        tally.add("corrupt/check", "wrong rule", case.name, f"expected one of {sorted(case.rules)}, got "
                  f"{sorted(rules)}: {checked.out[:300]}")
    else:
        tally.add("corrupt/check", "ok")
    if stray := changes(before, snapshot(folder, [folder / "out"])):
        tally.add("corrupt/check", "stray writes", case.name, ", ".join(stray[:5]))

    for command, argv in (("score", ["score", str(subs), "--out", str(folder / "out" / "score"), *FAST]),
                          ("report", ["report", str(root), "--out", str(folder / "out" / "report"), *FAST])):
        ran = launch(settings, tally, argv, folder, **as_user)
        phase = f"corrupt/{command}"
        if (failure := ran.failure()) is not None:
            tally.add(phase, failure, case.name, ran.err[-400:])
        elif case.control:
            tally.add(phase, "ok" if ran.code == 0 else "wrong refusal", case.name, ran.text[-400:])
        elif ran.code == 0:
            tally.add(phase, "wrong pass", case.name, ran.text[-300:])
        elif case.name not in ran.err and str(root) not in ran.err:
            tally.add(phase, "unnamed", case.name, ran.err[-300:])
        else:
            tally.add(phase, "ok")
        if stray := changes(before, snapshot(folder, [folder / "out"])):
            tally.add(phase, "stray writes", case.name, ", ".join(stray[:5]))
    return root


def score_all(settings: Settings, tally: Tally, base: Path, roots: list[tuple[Corruption, Path]]) -> None:
    """One `score` of every corrupted submission beside the valid one (without root's permission
    override, so that permission changes count): the valid one and the controls scored, each other one
    named."""
    folder = settings.work / "batch"
    subs = folder / "subs"
    shutil.copytree(base, subs / "valid", symlinks=True)  # makes subs/
    for case, root in roots:
        root.rename(subs / case.name)  # moved, not copied: pipes and sockets cannot be copied
    before = snapshot(folder, [folder / "out"])
    ran = launch(settings, tally, ["score", str(subs), "--out", str(folder / "out"), *FAST], folder,
                 unprivileged=True, timeout=1800)
    if (failure := ran.failure()) is not None:
        tally.add("corrupt/score-all", failure, "all", ran.err[-400:])
        return
    scored = {line.split()[1] for line in ran.out.splitlines() if line.startswith("scored ")}
    named = ran.err
    for case, _ in roots:
        if case.control:
            tally.add("corrupt/score-all", "ok" if case.name in scored else "wrong refusal", case.name, "not scored")
        elif case.name in scored:
            tally.add("corrupt/score-all", "wrong pass", case.name, "scored")
        elif f"{case.name}:" in named or not (subs / case.name / "submission.json").exists():
            tally.add("corrupt/score-all", "ok")  # named, or no manifest at all: not a submission to name
        else:
            tally.add("corrupt/score-all", "unnamed", case.name, "neither scored nor named as skipped")
    tally.add("corrupt/score-all", "ok" if "valid" in scored and ran.code == 0 else "wrong refusal", "valid",
              ran.text[-400:])
    if stray := changes(before, snapshot(folder, [folder / "out"])):
        tally.add("corrupt/score-all", "stray writes", "all", ", ".join(stray[:5]))


# ------------------------------------------------------------------------------------- kills


def results_of(sub: Path) -> dict[str, str]:
    """run folder -> sha256 of its result.json, for every finished run."""
    return {str(p.parent.relative_to(sub)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(sub.glob("results/*/*/*/run_*/result.json"))}


def kill_case(settings: Settings, tally: Tally, number: int, full_s: float, rng: random.Random) -> int:
    """One sweep killed at a random moment (a third of the time its first resume too), then resumed
    to the end and verified; returns the number of processes killed while they ran."""
    folder = settings.work / "kill" / f"{number:02d}"
    sub = folder / "sub"
    data = settings.work / "data" if number % 5 else folder / "data"  # every fifth: killed while making data
    folder.mkdir(parents=True)
    argv = ["run", str(TINY), "--submission", str(sub), "--data-root", str(data), *RUN_OPTIONS]
    before = snapshot(folder)
    kills = 0
    for attempt in range(2 if number % 3 == 0 else 1):
        child = Child(argv, folder, exec_mode=settings.exec_mode,
                      env={"RECSCALE_DEBUG": "1", "MPLCONFIGDIR": str(settings.work / "mpl")})
        tally.commands += 1
        if child.wait(rng.uniform(0.05, full_s * (1.0 if attempt == 0 else 0.6))):
            ran = child.result()  # finished before the kill: still a resume to verify
        else:
            child.kill()
            kills += 1
            ran = child.result()
        if ran.code is not None and (failure := ran.failure()) is not None:
            tally.add("kill", failure, f"{number}", ran.err[-400:])
    finished = results_of(sub)
    tally.add("kill/moment", f"{len(finished)} of 4 runs finished" if kills else "no kill: the sweep ended first")
    resumed = launch(settings, tally, argv, folder, timeout=900)
    if (failure := resumed.failure()) is not None or resumed.code != 0:
        tally.add("kill", failure or "not clean", f"{number}", resumed.text[-400:])
        return kills
    after = results_of(sub)
    expected = 4
    manifest = json.loads((sub / "submission.json").read_text())
    paths = [entry["path"] for entry in manifest["runs"]]
    lost = expected - len(after)
    duplicated = len(paths) - len(set(paths)) + max(0, len(after) - expected) + max(0, len(paths) - expected)
    redone = sum(after.get(path) != sha for path, sha in finished.items())
    skipped = resumed.out.count("already finished, skipped")
    for outcome, bad in (("lost", lost > 0), ("duplicated", duplicated > 0),
                         ("redone", redone > 0 or skipped != len(finished))):
        tally.add("kill", outcome if bad else "ok", f"{number}", f"{lost} lost, {duplicated} duplicated, "
                  f"{redone} redone, {skipped} skipped of {len(finished)} finished")
    checked = launch(settings, tally, ["check", str(sub), "--no-references"], folder)
    tally.add("kill", "ok" if checked.code == 0 else "not clean", f"{number}", checked.text[-400:])
    if stray := [c for c in changes(before, snapshot(folder, [sub, data])) if not c[1:].startswith(("sub", "data"))]:
        tally.add("kill", "stray writes", f"{number}", ", ".join(stray[:5]))
    return kills


def kill_phase(settings: Settings, tally: Tally, target: int) -> int:
    rng = random.Random(14)
    reference = settings.work / "kill" / "reference"
    reference.mkdir(parents=True)
    for attempt in range(2):  # the first makes the data; the second says how long a sweep takes
        started = time.perf_counter()
        ran = launch(settings, tally, ["run", str(TINY), "--submission", str(reference / f"sub{attempt}"),
                                       "--data-root", str(settings.work / "data"), *RUN_OPTIONS], reference,
                     timeout=900)
        assert ran.code == 0, ran.text
    full_s = time.perf_counter() - started
    kills, number = 0, 0
    while kills < target:
        number += 1
        kills += kill_case(settings, tally, number, full_s, rng)
    return kills


# -------------------------------------------------------------------------------- disk full


DISK_LIMITS = (2000, 4000, 6000, 9000)  # bytes a file may grow to: the first run's log (~9.5 kB) outgrows each


def disk_case(settings: Settings, tally: Tally, limit: int) -> None:
    """A sweep on a "disk" where no file may pass `limit` bytes (RLIMIT_FSIZE): the run whose log
    cannot be written stops the sweep with one line (exit 3), no logging tracebacks, no result; the
    same command without the limit redoes it and the submission checks clean."""
    folder = settings.work / "disk" / str(limit)
    folder.mkdir(parents=True)
    sub = folder / "sub"
    argv = ["run", str(TINY), "--submission", str(sub), "--data-root", str(settings.work / "data"), *RUN_OPTIONS]
    child = Child(argv, folder, exec_mode=settings.exec_mode, file_size_limit=limit,
                  env={"RECSCALE_DEBUG": "0", "MPLCONFIGDIR": str(settings.work / "mpl")})
    tally.commands += 1
    full = child.result() if child.wait(settings.timeout) else (child.kill(), child.result())[1]
    lines = [line for line in full.err.splitlines() if line.strip()]
    if full.code is None:
        tally.add("disk", "hang", str(limit), full.err[-300:])
    elif full.code != 3 or len(lines) != 1 or "cannot write the run log" not in lines[0] or "Traceback" in full.err:
        tally.add("disk", "traceback" if "Traceback" in full.err else "unnamed", str(limit),
                  f"exit {full.code}: {full.err[-500:]}")
    elif any(p.parent.joinpath("result.json").exists() for p in sub.glob("results/*/*/*/run_*/mllog.txt")
             if p.stat().st_size >= limit):
        tally.add("disk", "wrong pass", str(limit), "a run whose log was cut short has a result.json")
    else:
        tally.add("disk", "ok")
    resumed = launch(settings, tally, argv, folder, timeout=900)
    checked = launch(settings, tally, ["check", str(sub), "--no-references"], folder)
    clean = resumed.code == 0 and checked.code == 0 and len(results_of(sub)) == 4
    tally.add("disk", "ok" if clean else "not clean", str(limit), resumed.text[-300:] + checked.text[-300:])


# ------------------------------------------------------------------------------------- edges


def edge_case(settings: Settings, tally: Tally, edge: Edge) -> None:
    folder = settings.work / "edge" / edge.name
    folder.mkdir(parents=True)
    argv = edge.build(folder)
    allowed = [folder / w for w in edge.writes]
    before = snapshot(folder, allowed)
    ran = launch(settings, tally, argv, folder, unprivileged=edge.unprivileged)
    if (failure := ran.failure()) is not None:
        tally.add("edge", failure, edge.name, ran.err[-400:])
    elif ran.code not in edge.codes:
        tally.add("edge", "wrong refusal" if ran.code else "wrong pass", edge.name,
                  f"exit {ran.code}, expected {sorted(edge.codes)}: {ran.text[-400:]}")
    elif missing := [s for s in edge.says if s not in ran.text]:
        tally.add("edge", "unnamed", edge.name, f"output lacks {missing}: {ran.text[-400:]}")
    else:
        tally.add("edge", "ok")
    if stray := changes(before, snapshot(folder, allowed)):
        tally.add("edge", "stray writes", edge.name, ", ".join(stray[:5]))


# ------------------------------------------------------------------------------------- main


def report_figures(tally: Tally, kills: int, seconds: float) -> None:
    phases = sorted({phase for phase, _ in tally.counts})
    print(f"\n{tally.commands} commands in {seconds / 60:.1f} min; {kills} SIGKILLs")
    for phase in phases:
        row = {outcome: n for (p, outcome), n in tally.counts.items() if p == phase}
        total = sum(row.values())
        print(f"  {phase:20s} {total:4d} checked: " + ", ".join(f"{k} {v}" for k, v in sorted(row.items())))
    totals = Counter({outcome: 0 for outcome in FAILURES})
    for (_, outcome), n in tally.counts.items():
        if outcome in FAILURES:
            totals[outcome] += n
    print("failures: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for line in tally.failures:
        print(f"  FAIL {line}")


def selected(cases: Iterable[Corruption], only: list[str] | None) -> list[Corruption]:
    return [c for c in cases if not only or any(o in c.name for o in only)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    parser.add_argument("--kills", type=int, default=31, help="SIGKILLs of running sweeps (31)")
    parser.add_argument("--exec", action="store_true", help="a fresh interpreter per command (slower)")
    parser.add_argument("--base", choices=["run", "factory"], default="run",
                        help="the valid submission: a real run of tiny (default) or the test factory's")
    parser.add_argument("--only", nargs="+", help="only the cases whose name holds one of these")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per command before it is a hang")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="recscale-campaign-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "mpl").mkdir(exist_ok=True)
    settings = Settings(work, args.timeout, args.exec, args.verbose)
    tally, started, kills = Tally(), time.perf_counter(), 0
    try:
        if "corrupt" in args.phases:
            base = make_base(settings, tally, args.base)
            cases = selected(CORRUPTIONS + CONTROLS, args.only)
            controls = sum(case.control for case in cases)
            print(f"corruptions: {len(cases) - controls} and {controls} controls on {base}", flush=True)
            roots = [(case, corrupt_case(settings, tally, base, case)) for case in cases]
            score_all(settings, tally, base, roots)
        if "kill" in args.phases:
            kills = kill_phase(settings, tally, args.kills)
        if "disk" in args.phases:
            if not (work / "data").exists():  # the data the runs read: made once, outside any limit
                launch(settings, tally, ["run", str(TINY), "--submission", str(work / "disk" / "warm"), "--data-root",
                                         str(work / "data"), "--points", "data.fraction=0.5", "--seeds", "0",
                                         *RUN_OPTIONS], work, timeout=900)
            for limit in DISK_LIMITS:
                disk_case(settings, tally, limit)
        if "edge" in args.phases:
            for edge in EDGES:
                if not args.only or any(o in edge.name for o in args.only):
                    edge_case(settings, tally, edge)
    finally:
        report_figures(tally, kills, time.perf_counter() - started)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if tally.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
