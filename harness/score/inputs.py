"""What the scorer reads: the checker's inputs, the submissions under a folder, their run records.

`score` and `report` check a submission before they read it (RULES.md SCORE-7) through
:func:`check`, the scorer's one call of the checker, with the workloads and reference
submissions given on the command line (defaults: the repository's). A submission is read through
:class:`recscale.layout.SubmissionLayout` from its manifest's run keys, never from the manifest's
path strings, and only once it passed the check. A record with a non-finite number where the
scorer reads numbers is refused, never written into a leaderboard as ``inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.check import CheckReport, check_submission
from recscale.errors import InputError, Problem
from recscale.layout import MANIFEST_FILE, RESULT_FILE, RunKey, SubmissionLayout
from recscale.load import default_workload_paths, load_points, workload_files, workload_search_path
from recscale.records import RunResult, SubmissionManifest
from recscale.system import SystemDescription

M = TypeVar("M", bound=BaseModel)
# RunResult fields the scorer does not read as numbers: the learning curve (a diverged run may end
# in NaN there) and the final metrics (non-finite ones mark a diverged run, left out of the means).
_NOT_READ_AS_NUMBERS = {"curve", "final"}


# ------------------------------------------------------------------------------------ checker


@dataclass(frozen=True)
class CheckInputs:
    """The workloads and reference submissions a check uses (None: the checker's defaults, ./workloads
    then the shipped workloads, and ./submissions/reference*/; references [] means none)."""

    workloads: list[Path] | None = None
    references: list[Path] | None = None

    def workload_paths(self) -> list[Path]:
        """Where workload files are looked for, in order (as the checker does)."""
        return default_workload_paths() if self.workloads is None else workload_search_path(self.workloads)


DEFAULT_INPUTS = CheckInputs()


def check(path: Path, inputs: CheckInputs) -> CheckReport:
    """`recscale check` of the submission at `path` with `inputs`: the one place the scorer calls the checker."""
    return check_submission(path, workloads=inputs.workloads, references=inputs.references)


def check_verdict(path: Path, inputs: CheckInputs) -> tuple[bool, str]:
    """(passed, why not) of `recscale check` on a submission, for the leaderboard's list of submissions."""
    report = check(path, inputs)
    if report.passed:
        return True, ""
    errors = report.errors
    first = f": {errors[0].line()}" if errors else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return False, f"check failed ({', '.join(report.failed_rules())}){first}{more}"


def sweep_points(workload_id: str, version: int, inputs: CheckInputs, seen: set[str]) -> list[str]:
    """The points of a workload's sweep: from its file among the inputs' workloads when one has this id
    and version, else the points seen in the records."""
    for file in workload_files(list(inputs.workload_paths())):
        try:
            spec, points = load_points(file)
        except InputError:
            continue
        if spec.id == workload_id and spec.version == version:
            return sorted(p.point_id for p in points)
    return sorted(seen)


# -------------------------------------------------------------------------------- submissions


@dataclass
class Submission:
    """A submission folder read for scoring: its manifest, system descriptions and run records."""

    path: Path
    name: str  # relative to the scored root: the row label
    manifest: SubmissionManifest
    systems: dict[str, SystemDescription] = field(default_factory=dict)
    records: list[RunResult] = field(default_factory=list)


def find_submissions(root: Path) -> list[Path]:
    """Every folder holding a submission.json: `root` itself, or folders below it (sorted)."""
    if (root / MANIFEST_FILE).is_file():
        return [root]
    found = [p.parent for p in root.rglob(MANIFEST_FILE)
             if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(found)


def submission_name(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path != root else path.name


def read_model(path: Path, model: type[M], what: str) -> M:
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        raise InputError([Problem(str(path), where, f"not a valid {what}: {first['msg']}")]) from None
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read the {what}: {err.strerror or err}")]) from None
    except ValueError as err:  # a path the OS refuses, e.g. one with a NUL byte
        raise InputError([Problem(repr(str(path)), "", f"cannot read the {what}: {err}")]) from None


def non_finite_field(record: RunResult) -> str | None:
    """The dotted path of the first non-finite number the scorer would read from `record`, or None."""

    def walk(value: object, where: str) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where} = {value}"
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            found = walk(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None

    return walk(record.model_dump(exclude=_NOT_READ_AS_NUMBERS), "")


def read_record(file: Path) -> RunResult:
    """A run record the scorer can use; InputError naming the file when it is unreadable or non-finite."""
    record = read_model(file, RunResult, "run record")
    if bad := non_finite_field(record):
        raise InputError([Problem(str(file), bad.split(" = ")[0], f"not a finite number ({bad}): not scored")])
    return record


def load_submission(path: Path, root: Path) -> Submission:
    """Read a checked submission: the manifest's runs (by their keys, sorted), their systems."""
    manifest = read_model(path / MANIFEST_FILE, SubmissionManifest, "submission manifest")
    submission = Submission(path, submission_name(path, root), manifest)
    layout = SubmissionLayout(path)
    for run in sorted(manifest.runs, key=lambda r: (r.system, r.workload, r.point, r.seed)):
        submission.records.append(read_record(layout.result_file(RunKey(run.system, run.workload, run.point,
                                                                         run.seed))))
    for system in sorted({r.system for r in submission.records}):
        file = layout.system_file(system)
        if file.is_file():
            submission.systems[system] = read_model(file, SystemDescription, "system description")
    return submission


def manifest_header(path: Path) -> tuple[str, str, int]:
    """(submitter, division, number of runs) of a submission's manifest, blank when it cannot be read.

    For a submission that failed the check: only its manifest is read, none of the files it names.
    """
    try:
        manifest = read_model(path / MANIFEST_FILE, SubmissionManifest, "submission manifest")
    except InputError:
        return "", "", 0
    return manifest.submitter, manifest.division, len(manifest.runs)


# ------------------------------------------------------------------------------ study records


@dataclass
class SubmissionRecords:
    """Every run record of one submission, for `recscale report`."""

    name: str
    submitter: str
    division: str
    records: list[RunResult]
    skipped: list[str] = field(default_factory=list)


def read_submission(path: Path, *, strict: bool = True) -> SubmissionRecords:
    """Every run record on disk under `path` (results/<system>/<workload>/<point>/run_<seed>/result.json).

    `strict`: an unreadable or non-finite record, or an unreadable manifest, is an InputError;
    otherwise it is skipped and listed (a submission still being written has unfinished runs).
    """
    if not path.is_dir():
        raise InputError([Problem(str(path), "", "no such submission folder")])
    submitter = division = ""
    try:
        manifest = read_model(path / MANIFEST_FILE, SubmissionManifest, "submission manifest")
        submitter, division = manifest.submitter, manifest.division
    except InputError:
        if strict:
            raise
    records, skipped = [], []
    for file in SubmissionLayout(path).result_files():
        try:
            records.append(read_record(file))
        except InputError:
            if strict:
                raise
            skipped.append(str(file.relative_to(path)))
    if not records:
        raise InputError([Problem(str(path), "results/", f"no run records (results/<system>/<workload>/<point>/"
                                  f"run_<seed>/{RESULT_FILE}) in this submission: nothing to report")])
    return SubmissionRecords(path.resolve().name, submitter, division, records, skipped)
