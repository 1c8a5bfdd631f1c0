"""`recscale score`: checked submissions (and MLPerf results) -> leaderboard.json, .md, index.html, plots.

Every submission under the root is checked; one that fails, cannot be read, or holds a record
with a non-finite number is listed with the reason and the rest are scored: no single submission
stops the others (RULES.md SCORE-7). Output is reproducible (SCORE-8): fixed bootstrap seed,
sorted keys, numbers rounded to what they mean, no timestamps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.score.fits.records import DEFAULT_FIT, FitSettings
from harness.score.inputs import (
    DEFAULT_INPUTS,
    CheckInputs,
    Submission,
    check_verdict,
    find_submissions,
    load_submission,
    manifest_header,
    submission_name,
)
from harness.score.leaderboard.closed import closed_boards
from harness.score.leaderboard.mlperf import mlperf_rows
from harness.score.leaderboard.open import build_entries, open_boards, workload_fits_of
from harness.score.leaderboard.records import Leaderboard, SubmissionStatus
from harness.score.render.files import canonical_json, remove_stale_plots, write_texts
from harness.score.render.html import html_page
from harness.score.render.leaderboard import markdown
from harness.score.render.plots import write_leaderboard_plots
from recscale import __version__
from recscale.errors import InputError, Problem

# The scoring rules (RULES.md "Scoring"), repeated in every leaderboard so it states how it was made.
RULES = [
    "SCORE-1: a point's time to target aggregates its runs as MLPerf does: with 3 or more runs, drop the "
    "fastest and the slowest and average the rest, a run that missed the target counting as the slowest "
    "(two or more misses: not reached); with 1 or 2 runs, every run must reach the target and the score is "
    "their mean.",
    "SCORE-2: closed division: systems are ranked by the time to complete the sweep, the sum over the "
    "workload's points of the pass time aggregated by SCORE-1's rule over all runs; a system lacking a "
    "point's runs is listed, not ranked.",
    "SCORE-3: fits: L(x) = a x^-b + c (a >= 0, 1e-6 <= b <= 4, c >= 0), least squares on relative residuals; "
    "L = the metric's loss (NE, log loss, 1 - AUC); y = mean final quality of a point's runs; a fit with b on a "
    "bound or an unconverged optimiser is reported, not quoted as a law; 95% percentile intervals from the "
    "bootstrap resamples of the points, withheld as ill-conditioned when an end moves by more than 0.1% of "
    "the width under a 1e-10 perturbation of the losses; extrapolation check: refit without the largest 20% "
    "of the x values (at least one), report (predicted - observed) / observed.",
    "SCORE-4: open division: each (submission, system, workload) is ranked by the quality its data-scaling "
    "law (at its largest model) predicts at the data budget (the full training set x 10^budget_decades); "
    "the compute-efficient frontier's prediction at the compute budget is shown beside it.",
    "SCORE-5: joint fit L(N, D) = E + A/N^alpha + B/D^beta by Chinchilla's approach 3 (Huber, delta 1e-3, on "
    "log L; L-BFGS-B from the best of a grid of starts); needs 5 points and 3 distinct N and D; an unconverged "
    "fit or an exponent on a bound of [0, 10] is reported, not quoted as a law.",
    "SCORE-6: MLPerf results as mlperf-logging's result summarizer scores them: runs failing its compliance "
    "check dropped (two or more: no score), olympic mean of the others' run_start->run_stop minutes times "
    "scaling.json's factor; a system without a score is listed with the reason; learning curves 1 - AUC vs "
    "samples seen fitted as in SCORE-3.",
    "SCORE-7: only submissions that pass `recscale check` are scored; the others, and any whose records cannot "
    "be read or hold a non-finite number, are listed with the reason, and the rest are scored.",
    "SCORE-8: the output is reproducible: fixed seed, sorted keys, no timestamps, fitted values to 6 significant "
    "digits and interval ends outward to 0.1-1% of their width; the same machine writes the same bytes, another "
    "machine the same structure and the same numbers within 1e-4 (values) and 2% of the width (intervals).",
]

Checker = Callable[[Path], tuple[bool, str]]


@dataclass
class ScoreOutcome:
    board: Leaderboard
    skipped: list[SubmissionStatus] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def _refused(path: Path, root: Path, reason: str) -> SubmissionStatus:
    submitter, division, n_runs = manifest_header(path)
    return SubmissionStatus(path=submission_name(path, root), submitter=submitter, division=division, scored=False,
                            reason=reason, n_runs=n_runs)


def admit(path: Path, root: Path, checker: Checker) -> tuple[SubmissionStatus, Submission | None]:
    """Check one submission and read it when it passed: its status, and the submission to score (or None)."""
    try:
        passed, reason = checker(path)
    except InputError as err:
        return _refused(path, root, f"the checker could not read it: {err}"), None
    if not passed:
        return _refused(path, root, reason or "check failed"), None
    try:
        sub = load_submission(path, root)
    except InputError as err:
        return _refused(path, root, f"passed the check but cannot be scored: {err}"), None
    status = SubmissionStatus(path=sub.name, submitter=sub.manifest.submitter, division=sub.manifest.division,
                              scored=True, reason="", n_runs=len(sub.manifest.runs))
    return status, sub


def gather(root: Path, checker: Checker) -> tuple[list[Submission], list[SubmissionStatus]]:
    """Check every submission under `root`; read the ones that pass."""
    paths = find_submissions(root)
    if not paths:
        raise InputError([Problem(str(root), "", "no submission here (a folder holding submission.json)")])
    scored, statuses = [], []
    for path in paths:
        status, sub = admit(path, root, checker)
        statuses.append(status)
        if sub is not None:
            scored.append(sub)
    return scored, statuses


def build_leaderboard(submissions: Sequence[Submission], statuses: Sequence[SubmissionStatus], *,
                      mlperf: Sequence[Path] = (), settings: FitSettings = DEFAULT_FIT, budget_decades: float = 1.0,
                      inputs: CheckInputs = DEFAULT_INPUTS, mlperf_round: str | None = None) -> Leaderboard:
    entries = build_entries(submissions, settings)
    return Leaderboard(
        recscale_version=__version__, settings=settings, budget_decades=budget_decades, rules=RULES,
        submissions=list(statuses), closed=closed_boards(submissions, inputs),
        open=open_boards(entries, budget_decades), workload_fits=workload_fits_of(entries),
        mlperf=mlperf_rows(mlperf, n_boot=settings.n_boot, seed=settings.seed, level=settings.level,
                           round_text=mlperf_round) if mlperf else [],
        plots=[],
    )


def write_outputs(board: Leaderboard, out: Path) -> list[Path]:
    """Plots (stale ones removed), leaderboard.json, leaderboard.md and index.html under `out`."""
    plots = out / "plots"
    names = write_leaderboard_plots(board, plots)
    board.plots = [f"plots/{name}" for name in names]
    remove_stale_plots(plots, names)
    text, published = canonical_json(board, "leaderboard")
    written = write_texts(out, {"leaderboard.json": text, "leaderboard.md": markdown(published),
                                "index.html": html_page(published)})
    return written + [out / p for p in board.plots]


def score(root: Path | None, out: Path, *, mlperf: Sequence[Path] = (), checker: Checker | None = None,
          inputs: CheckInputs = DEFAULT_INPUTS, settings: FitSettings = DEFAULT_FIT,
          budget_decades: float = 1.0, mlperf_round: str | None = None) -> ScoreOutcome:
    """Score the submissions under `root` (those the checker passes) and MLPerf folders; write to `out`.

    `checker`: (passed, why not) of a submission; default `recscale check` with `inputs`.
    """
    check = checker or functools.partial(check_verdict, inputs=inputs)
    submissions, statuses = gather(root, check) if root is not None else ([], [])
    if root is not None and not submissions and not mlperf:
        raise InputError([Problem(str(root), "", "no submission could be scored: " + "; ".join(
            f"{s.path}: {s.reason}" for s in statuses))])
    board = build_leaderboard(submissions, statuses, mlperf=mlperf, settings=settings, budget_decades=budget_decades,
                              inputs=inputs, mlperf_round=mlperf_round)
    written = write_outputs(board, out)
    return ScoreOutcome(board, [s for s in statuses if not s.scored], written)
