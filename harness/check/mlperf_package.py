"""`recscale check --mlperf DIR`: a real MLPerf Training package read as mlperf-logging reads it (RULES.md
appendix, MLP-*).

The submitter folder is read by :mod:`harness.mlperf_results`: each result file as mlperf-logging's
parser reads it, each run through mlperf-logging's own compliance checker for the round's ruleset,
each system scored by the result summarizer's rules. The report gives per run the time, whether the
summarizer counts it and why not, per system the olympic mean, the scaling factor and the score (or
the summarizer's reason for none). As MLPerf's package checker does, one run per system that fails
is accepted under olympic scoring (a note); more, or anything that stops mlperf-logging, is an error.
"""

from __future__ import annotations

from pathlib import Path

from harness.check.findings import (
    MLPERF_RULES,
    CheckReport,
    Findings,
    MLPerfRunSummary,
    MLPerfSystemSummary,
    outcomes,
)
from harness.mlperf_results.package import MLPerfPackage, MLPerfSystem, read_mlperf_package
from harness.mlperf_results.runs import MLPerfRun
from harness.mlperf_results.summarizer import SystemScore, max_dropped_runs, required_runs, score_system
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import utc_now


def _rel(package: MLPerfPackage, path: Path) -> str:
    try:
        return str(path.relative_to(package.root))
    except ValueError:
        return str(path)


def _check_reading(run: MLPerfRun, file: str, tolerated: bool, out: Findings) -> None:
    """MLP-1 (lines mlperf-logging rejects or cannot read) and MLP-2 (its compliance check) for one run."""
    for problem in run.log.problems:
        where = f"line {problem.line}: " if problem.line else ""
        if problem.fatal or not tolerated:
            out.error("MLP-1", file, f"{where}{problem.message}")
        else:
            out.note("MLP-1", file, f"{where}{problem.message} (the run is dropped; one may be)")
    if run.counted or run.log.fatal is not None:
        return
    reason = run.drop_reason or ""
    if run.stops_summarizer or not tolerated:
        out.error("MLP-2", file, f"not counted by the result summarizer: {reason}")
    else:
        out.note("MLP-2", file, f"not counted by the result summarizer: {reason}; accepted under olympic "
                                "scoring (one run may fail)")


def _check_status(run: MLPerfRun, file: str, out: Findings) -> int | None:
    """MLP-3 (notes): status success exactly when an evaluation before run_stop reached the target, the last one.

    mlperf-logging never reads the status (a run counts by its compliance check), so a disagreement is
    noted, not an error. Returns the samples at the first evaluation that reached the target.
    """
    if run.target is None:
        out.note("MLP-3", file, "the benchmark's quality target is not known here: not checked")
        return None
    stop = run.log.first("run_stop")
    evals = [e for e in run.evals if stop is None or e.line < stop.line]
    hits = [i for i, e in enumerate(evals) if isinstance(e.value, int | float) and run.target.reached(float(e.value))]
    if run.status == "success":
        if not hits:
            out.note("MLP-3", file, f"status success, but no {run.target.key} reached {run.target.target}")
        elif hits[0] != len(evals) - 1:
            out.note("MLP-3", file, f"line {evals[hits[0]].line}: the target was reached here, yet the run went on "
                     "evaluating before run_stop")
    elif hits:
        out.note("MLP-3", file, f"line {evals[hits[0]].line}: the target was reached, yet the status is "
                 f"{run.status!r}")
    return evals[hits[0]].samples if hits else None


def _check_system(package: MLPerfPackage, system: MLPerfSystem, score: SystemScore, out: Findings) -> None:
    """MLP-4: description, result file count, scaling.json, stray files, and a score."""
    where = f"results/{system.name}/{package.benchmark}/"
    if system.description_problem:
        out.error("MLP-4", f"systems/{system.name}.json", system.description_problem)
    if system.scaling_problem:
        out.error("MLP-4", where + "scaling.json", system.scaling_problem)
    required = required_runs(package.benchmark)
    if required is not None and len(system.runs) != required:
        out.error("MLP-4", where, f"{len(system.runs)} result_*.txt files; MLPerf's package checker requires "
                                  f"{required} for {package.benchmark}")
    for name in system.stray_files:
        out.note("MLP-4", where + name, "not a result_*.txt file: the summarizer does not read it")
    if score.score is None:
        out.error("MLP-4", where, f"no score: {score.reason}")


def _summary(package: MLPerfPackage, system: MLPerfSystem, out: Findings) -> MLPerfSystemSummary:
    score = score_system(package, system)
    tolerated = score.dropped <= max_dropped_runs(package.benchmark)
    runs = []
    for run in system.runs:
        file = _rel(package, run.file)
        _check_reading(run, file, tolerated, out)
        samples = _check_status(run, file, out)
        runs.append(MLPerfRunSummary(
            system=system.name, index=run.index, file=file, minutes=run.minutes, status=run.status,
            reached_target=run.reached_target, evaluations=len(run.evals), samples_to_target=samples,
            counted=run.counted, dropped_reason=run.drop_reason))
    _check_system(package, system, score, out)
    return MLPerfSystemSummary(system=system.name, runs=runs, score_minutes=score.score,
                               olympic_mean_minutes=score.olympic_mean, scaling_factor=score.scaling_factor,
                               no_score_reason=score.reason)


def check_mlperf_package(root: Path, benchmark: str = "dlrm_dcnv2", round_text: str | None = None) -> CheckReport:
    """Check an MLPerf Training submitter folder (MLP-1..4); InputError if it has no results or no known round."""
    package = read_mlperf_package(Path(root), benchmark, round_text)
    if package.round_problem:
        raise InputError([Problem(str(root), "", package.round_problem)])
    out = Findings()
    summaries = [_summary(package, system, out) for system in package.systems]
    findings = sorted(out.items, key=lambda f: (f.severity != "error", f.file, f.rule))
    rule_outcomes = outcomes(findings, MLPERF_RULES)
    divisions = {r.submission.get("division") for r in package.runs}
    division = divisions.pop() if len(divisions) == 1 and divisions <= {"closed", "open"} else None
    return CheckReport(
        kind="mlperf", submission=str(root), recscale_version=__version__, checked_at=utc_now(),
        division=division, runs=len(package.runs), passed=all(r.passed for r in rule_outcomes), rules=rule_outcomes,
        findings=findings, mlperf=summaries,
    )
