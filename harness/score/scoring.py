"""`recscale score`: checked submissions (and MLPerf results) -> leaderboard.json, .md, index.html, plots.

Output is deterministic: fixed bootstrap seed, sorted keys, floats rounded to 10 significant
digits (so a different BLAS cannot flip the last bits), no timestamps; a re-run over the same
inputs writes the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from harness.score.leaderboard import (
    Submission,
    build_entries,
    closed_boards,
    find_submissions,
    load_submission,
    open_boards,
    reports_of,
)
from harness.score.models import Leaderboard, Settings, SubmissionStatus
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import atomic_write_text

SIGNIFICANT_DIGITS = 10

# The scoring rules (RULES.md "Scoring"), repeated in every leaderboard so it states how it was made.
RULES = [
    "SCORE-1: a point's time to target aggregates its runs as MLPerf does: with 3 or more runs, drop the "
    "fastest and the slowest and average the rest, a run that missed the target counting as the slowest "
    "(two or more misses: not reached); with 1 or 2 runs, every run must reach the target and the score is "
    "their mean.",
    "SCORE-2: closed division: systems are ranked by the time to complete the sweep, the sum over the "
    "workload's points of the pass time aggregated by SCORE-1's rule over all runs; a system lacking a "
    "point's runs is listed, not ranked.",
    "SCORE-3: fits: L(x) = a x^-b + c (a >= 0, 0 < b <= 4, c >= 0), least squares on relative residuals; L = NE "
    "or log loss, or 1 - AUC; y = mean final quality of a point's runs; 95% percentile intervals from the "
    "bootstrap resamples of the points; extrapolation check: refit without the largest 20% of the x values "
    "(at least one), report (predicted - observed) / observed.",
    "SCORE-4: open division: each (submission, system, workload) is ranked by the quality its data-scaling "
    "curve (at its largest model) predicts at the data budget (the full training set x 10^budget_decades); "
    "the compute-efficient frontier's prediction at the compute budget is shown beside it.",
    "SCORE-5: joint fit L(N, D) = E + A/N^alpha + B/D^beta by Chinchilla's approach 3 (Huber, delta 1e-3, on "
    "log L; L-BFGS-B from the best of a grid of starts); needs 5 points and 3 distinct N and D.",
    "SCORE-6: MLPerf results as mlperf-logging's result summarizer scores them: runs failing its compliance "
    "check dropped (two or more: no score), olympic mean of the others' run_start->run_stop minutes times "
    "scaling.json's factor; a system without a score is listed with the reason; learning curves 1 - AUC vs "
    "samples seen fitted as in SCORE-3.",
    "SCORE-7: only submissions that pass `recscale check` are scored; the others are listed with the reason.",
    "SCORE-8: the output is reproducible: fixed seed, sorted keys, no timestamps; a re-run writes the same bytes.",
]

Checker = Callable[[Path], tuple[bool, str]]


def default_checker(path: Path) -> tuple[bool, str]:
    """Run `recscale check` on a submission: (passed, why not)."""
    from harness.check import check_submission

    report = check_submission(path)
    if report.passed:
        return True, ""
    errors = report.errors
    first = f": {errors[0].line()}" if errors else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return False, f"check failed ({', '.join(report.failed_rules())}){first}{more}"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def leaderboard_json(board: Leaderboard) -> str:
    """The canonical text of leaderboard.json, validated against its JSON schema."""
    from harness.schemas import schema_of

    data = _rounded(board.model_dump(mode="json"))
    jsonschema.validate(data, schema_of("leaderboard"))
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


@dataclass
class ScoreOutcome:
    board: Leaderboard
    skipped: list[SubmissionStatus] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def _status(sub: Submission | None, path: Path, root: Path, scored: bool, reason: str) -> SubmissionStatus:
    name = str(path.relative_to(root)) if path != root else path.name
    return SubmissionStatus(path=name, submitter=sub.manifest.submitter if sub else "",
                            division=sub.manifest.division if sub else "", scored=scored, reason=reason,
                            n_runs=len(sub.manifest.runs) if sub else 0)


def gather(root: Path, checker: Checker) -> tuple[list[Submission], list[SubmissionStatus]]:
    """Check every submission under `root`; load the ones that pass."""
    paths = find_submissions(root)
    if not paths:
        raise InputError([Problem(str(root), "", "no submission here (a folder holding submission.json)")])
    scored, statuses = [], []
    for path in paths:
        passed, reason = checker(path)
        sub = None
        try:
            sub = load_submission(path, root)
        except InputError as err:
            if passed:
                raise
            reason = reason or str(err)
        statuses.append(_status(sub, path, root, passed, reason))
        if passed and sub is not None:
            scored.append(sub)
    return scored, statuses


def build_leaderboard(submissions: Sequence[Submission], statuses: Sequence[SubmissionStatus], *,
                      mlperf: Sequence[Path] = (), n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                      budget_decades: float = 1.0, mlperf_round: str | None = None) -> Leaderboard:
    from harness.score.mlperf_scores import mlperf_rows

    entries = build_entries(submissions, n_boot=n_boot, seed=seed, level=level)
    return Leaderboard(
        recscale_version=__version__,
        settings=Settings(n_boot=n_boot, seed=seed, level=level, budget_decades=budget_decades, rules=RULES),
        submissions=list(statuses), closed=closed_boards(submissions), open=open_boards(entries, budget_decades),
        reports=reports_of(entries),
        mlperf=mlperf_rows(mlperf, n_boot=n_boot, seed=seed, level=level, round_text=mlperf_round) if mlperf else [],
        plots=[],
    )


def write_outputs(board: Leaderboard, out: Path) -> list[Path]:
    """Plots (stale ones removed), leaderboard.json, leaderboard.md and index.html under `out`."""
    from harness.score.html import html_page
    from harness.score.plots import write_plots
    from harness.score.render import markdown

    plots = out / "plots"
    board.plots = [f"plots/{name}" for name in write_plots(board, plots)]
    keep = {Path(p).name for p in board.plots}
    for stale in plots.iterdir():
        if stale.is_file() and stale.suffix in (".png", ".svg") and stale.name not in keep:
            stale.unlink()
    files = {"leaderboard.json": leaderboard_json(board), "leaderboard.md": markdown(board),
             "index.html": html_page(board)}
    for name, text in files.items():
        atomic_write_text(out / name, text)
    return [out / name for name in files] + [out / p for p in board.plots]


def score(root: Path | None, out: Path, *, mlperf: Sequence[Path] = (), checker: Checker = default_checker,
          n_boot: int = 1000, seed: int = 0, level: float = 0.95, budget_decades: float = 1.0,
          mlperf_round: str | None = None) -> ScoreOutcome:
    """Score the submissions under `root` (those the checker passes) and MLPerf folders; write to `out`."""
    submissions, statuses = gather(root, checker) if root is not None else ([], [])
    if root is not None and not submissions and not mlperf:
        raise InputError([Problem(str(root), "", "no submission passed the checker: " + "; ".join(
            f"{s.path}: {s.reason}" for s in statuses))])
    board = build_leaderboard(submissions, statuses, mlperf=mlperf, n_boot=n_boot, seed=seed, level=level,
                              budget_decades=budget_decades, mlperf_round=mlperf_round)
    written = write_outputs(board, out)
    return ScoreOutcome(board, [s for s in statuses if not s.scored], written)
