"""MLPerf Training results on the leaderboard: scores as MLPerf's summarizer computes them, and
each run's learning curve fitted as a data-scaling curve.

Score (SCORE-6): minutes from run_start to run_stop of each run, the olympic mean over a system's
runs with the summarizer's handling of runs that did not converge (``harness.mlperf``, which
follows ``_compute_strong_score_standalone`` of mlperf-logging 4.1). Learning curve: every
``eval_accuracy`` (AUC) at ``samples = epoch_num x train_samples`` (or its ``samples_count``); AUC is
higher-is-better and tends to a ceiling, so the fitted loss is ``1 - AUC``:
``1 - AUC(s) = a * s^-b + c``. Within one pass a mid-pass evaluation has seen each of its samples
once, so the curve is the one-pass data-scaling curve of that run (with the caveat that the
learning-rate schedule, if any, is that of the full pass).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from harness.mlperf import MLPerfPackage, MLPerfRun, read_mlperf_package
from harness.score.fits.power_law import FitError, fit_power_law
from harness.score.fits.records import PowerLawSummary
from harness.score.fits.summary import summarize_fit
from harness.score.leaderboard.records import MLPerfRow, MLPerfRunRow, Stack
from recscale.errors import InputError, Problem

BENCHMARK = "dlrm_dcnv2"
_ROUND = re.compile(r"(?:^|[_-])(v\d+(?:\.\d+)+)$")


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


def round_of(path: Path) -> str:
    """The MLPerf round a path names (``training_results_v4.0`` -> ``v4.0``), or ''."""
    for part in reversed(path.parts):
        match = _ROUND.search(part)
        if match:
            return match.group(1)
    return ""


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


def system_rows(package: MLPerfPackage, source: str, *, n_boot: int, seed: int, level: float) -> list[MLPerfRow]:
    rows = []
    for system in sorted({r.system for r in package.runs}):
        runs = sorted(package.runs_of(system), key=lambda r: r.index)
        description = package.systems.get(system)
        run_rows = []
        for run in runs:
            fit, error = _fit([run], f"{system} result_{run.index} learning curve", n_boot, seed, level)
            evals = _evals(run)
            run_rows.append(MLPerfRunRow(
                index=run.index, file=run.file.name, status=run.status, minutes=run.minutes, n_evals=len(run.evals),
                final_auc=evals[-1][1] if evals else None, eval_samples=[s for s, _ in evals],
                eval_auc=[auc for _, auc in evals], learning_curve=fit, learning_curve_error=error))
        pooled, pooled_error = _fit(runs, f"{system} learning curve (all runs)", n_boot, seed, level)
        first = runs[0]
        rows.append(MLPerfRow(
            rank=None, source=source, round=round_of(package.root), submitter=str((description or {}).get(
                "submitter", first.submission.get("org", package.root.name))),
            system=system, system_name=str((description or {}).get("system_name", system)), stack=_stack(description),
            n_runs=len(runs), n_converged=sum(r.converged for r in runs), score_minutes=package.score_minutes(system),
            rule="olympic mean of run_start->run_stop minutes: drop the fastest and the slowest (a run that did "
                 "not converge counts as the slowest; two or more: no score)",
            run_minutes=sorted(r.minutes for r in runs if r.converged and r.minutes is not None),
            train_samples=_as_int(first.train_samples), global_batch_size=_as_int(first.global_batch_size),
            learning_curve=pooled, learning_curve_error=pooled_error, runs=run_rows,
        ))
    return rows


def mlperf_rows(folders: Sequence[Path], *, n_boot: int, seed: int, level: float,
                benchmark: str = BENCHMARK) -> list[MLPerfRow]:
    """Every system of every MLPerf submitter folder found under `folders`, ranked by score (minutes)."""
    rows: list[MLPerfRow] = []
    for folder in map(Path, folders):
        for package_root in find_packages(folder, benchmark):
            package = read_mlperf_package(package_root, benchmark)
            # the folder's own name and the path below it: the same wherever the results are kept
            source = str(Path(folder.resolve().name) / package_root.relative_to(folder))
            rows += system_rows(package, source, n_boot=n_boot, seed=seed, level=level)
    scored = sorted((r for r in rows if r.score_minutes is not None),
                    key=lambda r: (r.score_minutes, r.source, r.system))
    rest = sorted((r for r in rows if r.score_minutes is None), key=lambda r: (r.source, r.system))
    for rank, row in enumerate(scored, start=1):
        row.rank = rank
    return scored + rest
