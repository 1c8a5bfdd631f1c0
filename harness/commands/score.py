"""`recscale score`: leaderboards from checked submissions and MLPerf Training results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.check import add_input_options
from harness.score.fits.records import DEFAULT_BOOT, DEFAULT_LEVEL, FitSettings
from harness.score.inputs import CheckInputs
from harness.score.leaderboard.score import score
from recscale.errors import InputError, Problem
from recscale.io import folder_to_write


def count_arg(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def level_arg(text: str) -> float:
    value = float(text)
    if not 0.5 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"a confidence level in [0.5, 1), got {value}")
    return value


def add_fit_options(p: argparse.ArgumentParser) -> None:
    """The bootstrap options every command that fits scaling laws takes."""
    p.add_argument("--bootstrap", type=count_arg, default=DEFAULT_BOOT,
                   help=f"bootstrap resamples per fit ({DEFAULT_BOOT})")
    p.add_argument("--seed", type=count_arg, default=0, help="bootstrap seed (0)")
    p.add_argument("--level", type=level_arg, default=DEFAULT_LEVEL,
                   help=f"confidence level of the intervals ({DEFAULT_LEVEL})")


def fit_settings(args: argparse.Namespace) -> FitSettings:
    return FitSettings(n_boot=args.bootstrap, seed=args.seed, level=args.level)


def check_inputs(args: argparse.Namespace) -> CheckInputs:
    """The checker's inputs from the command line; every path given must exist."""
    problems = [Problem(str(path), "--workloads", "no such workload file or folder")
                for path in args.workloads or [] if not path.exists()]
    problems += [Problem(str(path), "--references", "no such reference submission folder")
                 for path in args.references or [] if not path.is_dir()]
    if problems:
        raise InputError(problems)
    return CheckInputs(workloads=args.workloads, references=[] if args.no_references else args.references)


def cmd_score(args: argparse.Namespace) -> int:
    if args.root is None and not args.mlperf:
        raise InputError([Problem("recscale score", "", "give a submissions folder, --mlperf DIR, or both")])
    if args.root is not None and not args.root.is_dir():
        raise InputError([Problem(str(args.root), "", "no such folder")])
    out = folder_to_write(args.out or Path("leaderboard"), "--out")
    if args.mlperf_round and not args.mlperf:
        raise InputError([Problem("--mlperf-round", "", "give the MLPerf results with --mlperf DIR")])
    outcome = score(args.root, out, mlperf=args.mlperf or [], inputs=check_inputs(args), settings=fit_settings(args),
                    budget_decades=args.budget_decades, mlperf_round=args.mlperf_round)
    board = outcome.board
    for status in board.submissions:
        if status.scored:
            print(f"scored   {status.path}  ({status.submitter}, {status.division}, {status.n_runs} runs)")
    for status in outcome.skipped:
        print(f"skipped  {status.path}: {status.reason}", file=sys.stderr)
    for closed in board.closed:
        for row in closed.rows:
            if row.rank:
                print(f"closed   {closed.workload_id}  #{row.rank} {row.system} ({row.submission}): "
                      f"sweep {row.sweep_time_s:,.1f} s")
    for open_board in board.open:
        for row in open_board.rows:
            if row.rank and row.at_data_budget:
                print(f"open     {open_board.workload_id}  #{row.rank} {row.submission} · {row.system}: "
                      f"{open_board.metric} {row.at_data_budget.quality:.4f} at {open_board.data_budget:.3g} samples")
    for row in board.mlperf:
        if row.score_minutes is None:
            print(f"mlperf   {row.round or '-'} {row.system}: no score: {row.no_score_reason} "
                  f"({row.n_converged}/{row.n_runs} runs)", file=sys.stderr)
        else:
            print(f"mlperf   {row.round or '-'} {row.system}: {row.score_minutes:.4f} min "
                  f"({row.n_converged}/{row.n_runs} runs)")
    print(f"wrote {out / 'leaderboard.json'}, {out / 'leaderboard.md'}, {out / 'index.html'} "
          f"and {len(board.plots)} plot files under {out / 'plots'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="leaderboards (JSON, Markdown, HTML, plots) from checked submissions",
                       description="Score every submission under SUBMISSIONS_ROOT that passes `recscale check` "
                                   "(the others, and any that cannot be read, are listed with the reason) and/or "
                                   "MLPerf Training dlrm_dcnv2 results (--mlperf), and write the leaderboard to --out.")
    p.add_argument("root", nargs="?", type=Path, metavar="SUBMISSIONS_ROOT",
                   help="a submission folder, or a folder of them (each holds submission.json)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: ./leaderboard)")
    p.add_argument("--mlperf", type=Path, action="append", metavar="DIR",
                   help="MLPerf Training results: a submitter folder (results/, systems/) or a folder of them; "
                        "repeat for several")
    p.add_argument("--mlperf-round", metavar="ROUND",
                   help="MLPerf round of every --mlperf folder (v4.0), which picks mlperf-logging's rules; "
                        "default: the round a folder on each path is named after (training_results_v4.0)")
    add_input_options(p)
    add_fit_options(p)
    p.add_argument("--budget-decades", type=float, default=1.0,
                   help="open division budgets: the full training set and the largest compute seen, x 10^this (1)")
    p.set_defaults(func=cmd_score)
