"""`recscale check`: validate a submission (or read a real MLPerf package) against RULES.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.check import CheckReport, check_mlperf_package, check_submission
from recscale.errors import InputError, Problem
from recscale.io import atomic_write_json


def _print_report(report: CheckReport, verbose: bool) -> None:
    for finding in report.findings:
        if finding.severity == "error" or verbose:
            print(finding.line())
    if report.mlperf is not None:
        for system in report.mlperf:
            minutes = ", ".join(f"r{r.index}: {r.minutes:.3f}" + ("" if r.counted else " (dropped)")
                                if r.minutes is not None else f"r{r.index}: -" for r in system.runs)
            counted = sum(r.counted for r in system.runs)
            if system.score_minutes is None or system.olympic_mean_minutes is None:
                score = f"no score: {system.no_score_reason}"
            else:
                score = (f"olympic mean {system.olympic_mean_minutes:.4f} min x scaling {system.scaling_factor:.6g} "
                         f"= score {system.score_minutes:.4f} min")
            print(f"{system.system}: {len(system.runs)} runs, {counted} counted; minutes {minutes}; {score}")
    if verbose and report.kind == "recscale":
        print(f"workloads:  {', '.join(report.workloads) or 'none'} (then the submission's copies)")
        print(f"references: {', '.join(report.references) or 'none'}")
    failed = report.failed_rules()
    notes = len(report.notes)
    note_text = f"; {notes} note(s)" + ("" if verbose or not notes else " (--verbose shows them)")
    if report.passed:
        print(f"PASS  {report.submission}: {report.runs} run(s), {len(report.rules)} rules checked{note_text}")
    else:
        print(f"FAIL  {report.submission}: {len(report.errors)} finding(s) breaking {len(failed)} rule(s) "
              f"({', '.join(failed)}){note_text}")


def cmd_check(args: argparse.Namespace) -> int:
    if args.mlperf:
        for flag, given in (("--references", args.references is not None or args.no_references),
                            ("--workloads", args.workloads is not None)):
            if given:
                raise InputError([Problem(flag, "", "applies to RecScale submissions, not to --mlperf packages")])
        report = check_mlperf_package(args.submission, args.benchmark, args.round)
    else:
        if args.round:
            raise InputError([Problem("--round", "", "the round applies to --mlperf packages")])
        report = check_submission(args.submission, **check_inputs(args))
    _print_report(report, args.verbose)
    if args.json:
        atomic_write_json(args.json, report)
    return 0 if report.passed else 1


def add_input_options(p: argparse.ArgumentParser) -> None:
    """--workloads and --references: what a submission is checked against (`check`, `report`, `score`)."""
    p.add_argument("--workloads", type=Path, nargs="+", action="extend", metavar="PATH",
                   help="workload files or folders to check the runs against, searched before the workloads "
                        "shipped with RecScale (default: ./workloads); a run of a workload none of them has is "
                        "checked against the submission's own copy (workloads/<id>.yaml)")
    references = p.add_mutually_exclusive_group()
    references.add_argument("--references", type=Path, nargs="+", action="extend", metavar="DIR",
                            help="reference submissions for the convergence band (default: "
                                 "./submissions/reference*/)")
    references.add_argument("--no-references", action="store_true",
                            help="no convergence band (every point noted CONV-3)")


def check_inputs(args: argparse.Namespace) -> dict[str, list[Path] | None]:
    """The keyword arguments of check_submission from the options of add_input_options."""
    return {"workloads": args.workloads, "references": [] if args.no_references else args.references}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check a submission against RULES.md (exit 0 pass, 1 broken rules, "
                       "2 unreadable)")
    p.add_argument("submission", type=Path, metavar="SUBMISSION_DIR",
                   help="the submission folder (with --mlperf: an MLPerf Training submitter folder)")
    p.add_argument("--json", type=Path, metavar="REPORT", help="also write the report (schemas/check_report)")
    add_input_options(p)
    p.add_argument("--mlperf", action="store_true", help="read SUBMISSION_DIR as an MLPerf Training package")
    p.add_argument("--benchmark", default="dlrm_dcnv2", help="MLPerf benchmark to read with --mlperf")
    p.add_argument("--round", metavar="ROUND", help="MLPerf round of the --mlperf package (v4.0), which picks "
                   "mlperf-logging's rules; default: the round a folder on its path is named after")
    p.add_argument("--verbose", "-v", action="store_true", help="also print the notes")
    p.set_defaults(func=cmd_check)
