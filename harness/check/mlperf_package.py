"""`recscale check --mlperf DIR`: what a real MLPerf Training package holds (RULES.md appendix, MLP-*).

Reads the submitter folder with harness.mlperf and reports per run the time, status, evaluations
and whether the benchmark's target was reached, per system the olympic mean (MLPerf's result
summarizer), and what breaks MLP-1..4. The official compliance checker of mlperf-logging stays
the authority for MLPerf's own rules; this is the part RecScale needs to compare against them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from mlperf_logging.benchmark_meta import get_result_file_counts

from harness.check.findings import (
    MLPERF_RULES,
    CheckReport,
    Findings,
    MLPerfRunSummary,
    MLPerfSystemSummary,
    outcomes,
)
from harness.mlperf import MLPerfPackage, MLPerfRun, read_mlperf_package
from recscale import __version__
from recscale.io import utc_now

ONCE = ("submission_benchmark", "submission_org", "submission_division", "submission_platform",
        "global_batch_size", "train_samples", "eval_samples", "init_stop", "run_start", "run_stop")


def _rel(package: MLPerfPackage, path: Path | str) -> str:
    try:
        return str(Path(path).relative_to(package.root))
    except ValueError:
        return str(path)


def _check_events(run: MLPerfRun, file: str, benchmark: str, out: Findings) -> None:
    """MLP-2: required events once each, in order; run_start before run_stop in time."""
    events = run.log.events
    positions: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        positions.setdefault(event.key, []).append(i)
    for key in ONCE:
        count = len(positions.get(key, []))
        if count != 1:
            out.error("MLP-2", file, f"{key} appears {count} times; once is required")
    if not positions.get("init_start"):
        out.error("MLP-2", file, "init_start is missing")
    if run.submission.get("benchmark") not in (None, benchmark):
        out.error("MLP-2", file, f"submission_benchmark is {run.submission.get('benchmark')!r}, not {benchmark!r}")
    first = {key: found[0] for key, found in positions.items()}
    order = [key for key in ("init_start", "init_stop", "run_start") if key in first]
    for a, b in itertools.pairwise(order):
        if first[a] > first[b]:
            out.error("MLP-2", file, f"line {events[first[b]].line}: {b} before {a}")
    key = run.target.key if run.target else "eval_accuracy"
    start, stop = first.get("run_start"), first.get("run_stop")
    for i in positions.get(key, []):
        if (start is not None and i < start) or (stop is not None and i > stop):
            out.error("MLP-2", file, f"line {events[i].line}: {key} outside run_start .. run_stop")
    if stop is not None and "status" not in events[stop].metadata:
        out.error("MLP-2", file, f"line {events[stop].line}: run_stop without metadata.status")
    if run.minutes is not None and run.minutes < 0:
        out.error("MLP-2", file, "run_stop is earlier than run_start")


def _check_target(run: MLPerfRun, file: str, out: Findings) -> int | None:
    """MLP-3: success exactly when an evaluation before run_stop reached the target, right after it.

    Returns the samples at the first evaluation that reached the target (None if none did).
    """
    if run.target is None:
        out.note("MLP-3", file, "the benchmark's quality target is not known here: not checked")
        return None
    stop = run.log.first("run_stop")
    evals = [e for e in run.evals if stop is None or e.line < stop.line]
    hits = [i for i, e in enumerate(evals) if isinstance(e.value, int | float) and run.target.reached(float(e.value))]
    if run.status == "success":
        if not hits:
            out.error("MLP-3", file, f"status success, but no {run.target.key} reached {run.target.target}")
        elif hits[0] != len(evals) - 1:
            out.error("MLP-3", file, f"line {evals[hits[0]].line}: the target was reached here, yet the run went on "
                      "evaluating before run_stop")
    elif hits:
        out.error("MLP-3", file, f"line {evals[hits[0]].line}: the target was reached, yet the status is "
                  f"{run.status!r}")
    return evals[hits[0]].samples if hits else None


def check_mlperf_package(root: Path, benchmark: str = "dlrm_dcnv2") -> CheckReport:
    """Read an MLPerf Training submitter folder and check MLP-1..4; InputError if it has no results."""
    package = read_mlperf_package(Path(root), benchmark, strict=False)
    out = Findings()
    for problem in package.problems:
        out.error("MLP-1", _rel(package, problem.file), f"{problem.path}: {problem.message}".lstrip(": "))
    required = get_result_file_counts("training").get(benchmark)
    summaries = []
    for system in sorted({r.system for r in package.runs}):
        runs = package.runs_of(system)
        run_summaries = []
        for run in runs:
            file = _rel(package, run.file)
            _check_events(run, file, benchmark, out)
            samples = _check_target(run, file, out)
            run_summaries.append(MLPerfRunSummary(
                system=system, index=run.index, file=file, minutes=run.minutes, status=run.status,
                reached_target=run.reached_target, evaluations=len(run.evals), samples_to_target=samples))
        where = f"results/{system}/{benchmark}/"
        if system not in package.systems:
            out.error("MLP-4", f"systems/{system}.json", "missing: every system is described")
        if required is not None and len(runs) != required:
            out.error("MLP-4", where, f"{len(runs)} runs; MLPerf requires {required} for {benchmark}")
        score = package.score_minutes(system)
        if score is None:
            out.error("MLP-4", where, "no score: more than one run did not converge, or too few runs")
        summaries.append(MLPerfSystemSummary(system=system, runs=run_summaries, score_minutes=score))
    findings = sorted(out.items, key=lambda f: (f.severity != "error", f.file, f.rule))
    rule_outcomes = outcomes(findings, MLPERF_RULES)
    divisions = {r.submission.get("division") for r in package.runs}
    division = divisions.pop() if len(divisions) == 1 and divisions <= {"closed", "open"} else None
    return CheckReport(
        kind="mlperf", submission=str(root), recscale_version=__version__, checked_at=utc_now(),
        division=division, runs=len(package.runs), passed=all(r.passed for r in rule_outcomes), rules=rule_outcomes,
        findings=findings, mlperf=summaries,
    )
