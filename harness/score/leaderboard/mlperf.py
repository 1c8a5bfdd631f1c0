"""MLPerf Training results on the leaderboard: scores as MLPerf's result summarizer computes them, and
each run's learning curve fitted as a data-scaling curve.

Score (SCORE-6): every system of every submitter folder found, read by :mod:`harness.mlperf_results`
exactly as mlperf-logging reads it (parser, compliance checker of the round's ruleset, summarizer:
olympic mean of the counted runs' minutes x ``scaling.json``'s factor). A system the summarizer gives
no score -- or on which it would stop -- is listed with the reason; it never stops the other systems.
Learning curve: every ``eval_accuracy`` (AUC) at ``samples = epoch_num x train_samples`` (or its
``samples_count``); AUC is higher-is-better and tends to a ceiling, so the fitted loss is
``1 - AUC``: ``1 - AUC(s) = a * s^-b + c``. Within one pass a mid-pass evaluation has seen each of
its samples once, so the curve is the one-pass data-scaling curve of that run (with the caveat that
the learning-rate schedule, if any, is that of the full pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.mlperf_results.package import MLPerfPackage, MLPerfSystem, read_mlperf_package
from harness.mlperf_results.runs import MLPerfRun
from harness.mlperf_results.summarizer import score_system
from harness.score.fits.power_law import FitError, fit_power_law
from harness.score.fits.records import PowerLawSummary
from harness.score.fits.summary import summarize_fit
from harness.score.leaderboard.records import MLPerfRow, MLPerfRunRow, Stack
from recscale.errors import InputError, Problem

BENCHMARK = "dlrm_dcnv2"
RULE = ("mlperf-logging's result summarizer: runs that fail its compliance check are dropped (one may be; two "
        "or more: no score); olympic mean of the others' run_start->run_stop minutes (a dropped run counts as "
        "the slowest), times scaling.json's factor")


def find_packages(folder: Path, benchmark: str = BENCHMARK) -> list[Path]:
    """MLPerf submitter folders (holding results/) at `folder` or up to two levels below, sorted."""
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "", "no such folder of MLPerf results")])
    found = []
    for candidate in [folder, *sorted(folder.glob("*")), *sorted(folder.glob("*/*"))]:
        if candidate.is_dir() and (candidate / "results").is_dir() and any(candidate.glob(f"results/*/{benchmark}")):
            found.append(candidate)
    if not found:
        raise InputError([Problem(str(folder), "", f"no MLPerf submitter folder (results/<system>/{benchmark}/) "
                                                   "here or two levels below")])
    return found


def _stack(description: dict[str, object] | None) -> Stack:
    d = {k: str(v) for k, v in (description or {}).items() if isinstance(v, str | int | float)}
    accelerators = d.get("accelerators_per_node", "").strip()
    nodes = d.get("number_of_nodes", "")
    if accelerators not in ("", "0"):
        accelerator = f"{nodes}x{accelerators} {d.get('accelerator_model_name', '')}".strip()
    else:
        accelerator = f"CPU ({d['host_processor_model_name']})" if d.get("host_processor_model_name") else "CPU"
    return Stack(accelerator=accelerator, framework=d.get("framework", ""), embedding_backend="",
                 device="cuda" if accelerators not in ("", "0") else "cpu", nodes=nodes,
                 host_processor=d.get("host_processor_model_name", ""))


def _evals(run: MLPerfRun) -> list[tuple[float, float]]:
    """(samples seen, AUC) of each evaluation of a run with a known sample count and a numeric value."""
    return [(float(p.samples), float(p.value)) for p in run.evals
            if p.samples and isinstance(p.value, int | float) and not isinstance(p.value, bool)]


def learning_curve(runs: Sequence[MLPerfRun]) -> tuple[list[float], list[float]]:
    """(samples seen, 1 - AUC) of every evaluation of `runs` with a known sample count."""
    pairs = [pair for run in runs for pair in _evals(run)]
    return [s for s, _ in pairs], [1.0 - auc for _, auc in pairs]


def _fit(runs: Sequence[MLPerfRun], what: str, n_boot: int, seed: int, level: float
         ) -> tuple[PowerLawSummary | None, str | None]:
    xs, ys = learning_curve(runs)
    try:
        return summarize_fit(fit_power_law(xs, ys, n_boot=n_boot, seed=seed, level=level, what=what)), None
    except FitError as err:
        return None, str(err)


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _run_row(system: str, run: MLPerfRun, n_boot: int, seed: int, level: float) -> MLPerfRunRow:
    fit, error = _fit([run], f"{system} {run.file.name} learning curve", n_boot, seed, level)
    evals = _evals(run)
    return MLPerfRunRow(
        index=run.index, file=run.file.name, status=run.status, minutes=run.minutes, n_evals=len(run.evals),
        final_auc=evals[-1][1] if evals else None, eval_samples=[s for s, _ in evals],
        eval_auc=[auc for _, auc in evals], learning_curve=fit, learning_curve_error=error,
        counted=run.counted, dropped_reason=run.drop_reason)


def system_row(package: MLPerfPackage, system: MLPerfSystem, source: str, *, n_boot: int, seed: int,
               level: float) -> MLPerfRow:
    """One system's leaderboard row: the summarizer's score (or its reason for none) and the learning curves."""
    runs = system.runs
    score = score_system(package, system)
    description = system.description or {}
    org = next((r.submission.get("org") for r in runs if isinstance(r.submission.get("org"), str)), None)
    pooled, pooled_error = _fit(runs, f"{system.name} learning curve (all runs)", n_boot, seed, level)
    return MLPerfRow(
        rank=None, source=source, round=package.round or "",
        submitter=str(description.get("submitter") or org or package.root.name), system=system.name,
        system_name=str(description.get("system_name", system.name)), stack=_stack(description),
        n_runs=len(runs), n_converged=sum(r.counted for r in runs), score_minutes=score.score,
        olympic_mean_minutes=score.olympic_mean, scaling_factor=score.scaling_factor,
        no_score_reason=score.reason, notes=list(score.notes), rule=RULE, run_minutes=list(score.counted_minutes),
        train_samples=_as_int(runs[0].train_samples) if runs else None,
        global_batch_size=_as_int(runs[0].global_batch_size) if runs else None,
        learning_curve=pooled, learning_curve_error=pooled_error,
        runs=[_run_row(system.name, run, n_boot, seed, level) for run in runs],
    )


def mlperf_rows(folders: Sequence[Path], *, n_boot: int, seed: int, level: float, benchmark: str = BENCHMARK,
                round_text: str | None = None) -> list[MLPerfRow]:
    """Every system of every MLPerf submitter folder found under `folders`: scored ones ranked by score
    (minutes), then the ones without a score, each with the summarizer's reason."""
    rows: list[MLPerfRow] = []
    for folder in map(Path, folders):
        for package_root in find_packages(folder, benchmark):
            package = read_mlperf_package(package_root, benchmark, round_text)
            # the folder's own name and the path below it: the same wherever the results are kept
            source = str(Path(folder.resolve().name) / package_root.relative_to(folder))
            rows += [system_row(package, system, source, n_boot=n_boot, seed=seed, level=level)
                     for system in package.systems]
    scored = sorted((r for r in rows if r.score_minutes is not None),
                    key=lambda r: (r.score_minutes, r.source, r.system))
    rest = sorted((r for r in rows if r.score_minutes is None), key=lambda r: (r.source, r.system))
    for rank, row in enumerate(scored, start=1):
        row.rank = rank
    return scored + rest
