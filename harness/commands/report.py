"""`recscale report`: the scaling study of one submission (README.md, report.json, plots)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.check import add_input_options
from harness.commands.score import add_fit_options, check_inputs, fit_settings
from harness.score.inputs import CheckInputs, check, read_submission
from harness.score.render.study import write_report
from harness.score.study.build import build_report
from recscale.errors import InputError, Problem
from recscale.io import folder_to_write


def _refuse(submission: Path, inputs: CheckInputs) -> int | None:
    """Run the checker; on failure print why and return the exit code 1."""
    report = check(submission, inputs)
    if report.passed:
        return None
    errors = report.errors
    print(f"FAIL  {submission}: the submission breaks rule(s) {', '.join(report.failed_rules())}; "
          "no report written (`recscale check` shows every finding; --no-check reports anyway)", file=sys.stderr)
    for finding in errors[:5]:
        print(f"  {finding.line()}", file=sys.stderr)
    if len(errors) > 5:
        print(f"  ... and {len(errors) - 5} more", file=sys.stderr)
    return 1


def cmd_report(args: argparse.Namespace) -> int:
    submission: Path = args.submission
    if not submission.is_dir():
        raise InputError([Problem(str(submission), "", "no such submission folder")])
    out = folder_to_write(args.out, "--out")
    if out.resolve().is_relative_to(submission.resolve()):
        print(f"note: {out} is inside the submission; `recscale check` may then flag it as an unknown folder "
              "(SUB-1)", file=sys.stderr)
    if not args.no_check and (code := _refuse(submission, check_inputs(args))) is not None:
        return code
    records = read_submission(submission, strict=not args.no_check)
    for skipped in records.skipped:
        print(f"skipped  {skipped}: not a usable run record (unfinished run, or a non-finite number)",
              file=sys.stderr)
    report, studies = build_report(records, checked=not args.no_check, settings=fit_settings(args))
    written = write_report(report, studies, out)
    for group in report.groups:
        print(f"== {group.label} ({group.n_runs} runs; {', '.join(group.workloads)})")
        for line in group.summary:
            print(f"  - {line}")
        for line in group.notes:
            print(f"  ! {line}")
    print(f"wrote {out / 'README.md'}, {out / 'report.json'} and {len(written) - 2} plot files under {out / 'plots'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="the scaling study of one submission: per-axis fits, summary, plots",
                       description="Check SUBMISSION_DIR (refusing, exit 1, when it breaks a rule) and write its "
                                   "scaling study to --out: README.md (summary and tables), report.json "
                                   "(schemas/report.schema.json) and plots/.")
    p.add_argument("submission", type=Path, metavar="SUBMISSION_DIR", help="the submission folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (created; its plots are replaced)")
    add_input_options(p)
    add_fit_options(p)
    p.add_argument("--no-check", action="store_true",
                   help="report without running the checker (e.g. a submission still being written); the report "
                        "says it was not checked, and unreadable run records are skipped")
    p.set_defaults(func=cmd_report)
