"""Checking a whole submission: the concerns in order, one report.

files (what is there, read safely) -> schema (every JSON file) -> the workloads (given ones, the
submission's copies) -> per run: logs, identity and division rules, timing, agreement of
result.json with its log -> across runs: runs per point, systems, manifest -> convergence against
the reference results.

Every input besides the submission is an argument: the workloads and the reference submissions
(with defaults found from the current directory, see :func:`check_submission`); the JSON schemas
are the ones shipped with the package (recscale.resources).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import harness.check.agreement as agreement
import harness.check.convergence as convergence
import harness.check.logs as logs
import harness.check.rules as rules
import harness.check.timing as timing
from harness.check.catalogue import GivenWorkloads, WorkloadCatalogue
from harness.check.files import Inventory, RunFolder, scan, show
from harness.check.findings import RULES, CheckReport, Findings, outcomes
from harness.check.rules import RunCheck
from harness.check.schema import check_document, load_record, read_bytes, to_record
from harness.check.specview import SpecView, parse_spec, view_of
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import utc_now
from recscale.load import default_workload_paths, workload_search_path
from recscale.records import RunResult, SubmissionManifest
from recscale.sweep import spec_sha256
from recscale.system import SystemDescription


def _load_run(inventory: Inventory, folder: RunFolder, out: Findings) -> RunCheck:
    """The run's result.json (schema-valid record) and its parsed log with LOG-1/LOG-2 checked.

    A folder without result.json is an unfinished run (RUN-3, reported by the files concern): its
    log is cut short by nature, so it is not checked event by event.
    """
    run = RunCheck(folder)
    if folder.result is None:
        return run
    if folder.result is not None and (data := read_bytes(inventory, folder.result, out)) is not None:
        run.result_sha256 = hashlib.sha256(data).hexdigest()
        run.result = to_record(check_document(data, folder.result, "result", out), folder.result, RunResult, out)
    if folder.mllog is not None and (data := read_bytes(inventory, folder.mllog, out)) is not None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            out.error("LOG-1", show(folder.mllog), f"not UTF-8 text (byte {err.start})")
        else:
            run.facts = logs.parse(text, show(folder.mllog), out)
            logs.check_presence(run.facts, out)
    return run


def _spec_view(run: RunCheck, cache: dict[str, SpecView]) -> SpecView:
    """The view of the run's recorded spec (cached by its hash: the runs of a point share it)."""
    assert run.result is not None and run.spec_sha256 is not None
    key = f"{run.spec_sha256}/{run.result.point_id}"
    if key not in cache:
        fallback = run.point.spec if run.point is not None else None
        cache[key] = view_of(parse_spec(run.result.spec), fallback)
    return cache[key]


def _check_run(run: RunCheck, manifest: SubmissionManifest | None, workloads: WorkloadCatalogue,
               views: dict[str, SpecView], out: Findings) -> None:
    if run.result is not None:
        run.spec_sha256 = spec_sha256(run.result.spec)
        rules.check_identity(run, manifest, workloads, out)
        run.spec = _spec_view(run, views)
    facts = run.facts
    if facts is not None:
        logs.collect_evaluations(facts, run.spec, out)
        timing.check_monotonic(facts, out)
        timing.check_init(facts, out)
        timing.check_stop(facts, run.spec, out)
        timing.check_cadence(facts, run.spec, out)
    if run.result is not None and facts is not None:
        file = show(run.folder.result or run.folder.rel)
        agreement.check_record(run.result, facts, run.spec, run.spec_sha256 or "", file, out)


def check_submission(root: Path, *, workloads: Sequence[Path] | None = None,
                     references: Sequence[Path] | None = None) -> CheckReport:
    """Check the submission folder `root` against RULES.md; InputError when it is not a folder, or
    when a workload or reference path given does not exist (or a workload file named is invalid).

    workloads: workload files and folders to check the runs against, searched in order before the
        workloads shipped with RecScale (a file is found by its id, a folder's file by its name
        <id>.yaml); default: ./workloads when it exists. A run whose workload none of them has is
        checked against the submission's own copy, workloads/<id>.yaml (a note says so).
    references: reference submissions for the convergence band (CONV-2); default: the folders
        ./submissions/reference*/; [] for none (every point is then noted CONV-3).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError([Problem(str(root), "", "no such submission folder")])
    search = default_workload_paths() if workloads is None else workload_search_path(_existing(workloads))
    catalogue = WorkloadCatalogue(GivenWorkloads(search))
    reference_roots = convergence.reference_roots(references, root)
    reference_runs = convergence.load_references(reference_roots)
    out = Findings()
    inventory = scan(root, out)
    manifest = (load_record(inventory, inventory.manifest, "submission", SubmissionManifest, out)
                if inventory.manifest else None)
    systems: dict[str, SystemDescription | None] = {
        name: load_record(inventory, rel, "system", SystemDescription, out) for name, rel in inventory.systems.items()
    }
    catalogue.read_copies(inventory, out)
    views: dict[str, SpecView] = {}
    runs = []
    for folder in inventory.runs.values():
        run = _load_run(inventory, folder, out)
        _check_run(run, manifest, catalogue, views, out)
        run.facts = None  # the events are not needed any more; 1,000 runs of them add up
        runs.append(run)
    rules.check_runs_per_point(runs, out)
    rules.check_distinct_runs(runs, out)
    rules.check_systems(inventory, systems, runs, manifest, out)
    rules.check_manifest(inventory, manifest, runs, out)
    _note_unused_copies(inventory, runs, out)
    convergence.check(runs, reference_runs, out)
    findings = sorted(out.items, key=lambda f: (f.severity != "error", f.file, f.rule))
    rule_outcomes = outcomes(findings, RULES)
    return CheckReport(
        submission=str(root), recscale_version=__version__, checked_at=utc_now(),
        division=manifest.division if manifest else None, workloads=[str(p) for p in search],
        references=[str(p) for p in reference_roots], runs=len(inventory.runs),
        passed=all(r.passed for r in rule_outcomes), rules=rule_outcomes, findings=findings,
    )


def _existing(paths: Sequence[Path]) -> list[Path]:
    """The paths given, all of which must exist (a typo must not silently check against the defaults)."""
    missing = [Problem(str(p), "", "no such workload file or folder") for p in paths if not Path(p).exists()]
    if missing:
        raise InputError(missing)
    return [Path(p) for p in paths]


def _note_unused_copies(inventory: Inventory, runs: list[RunCheck], out: Findings) -> None:
    used = {run.folder.workload for run in runs}
    for name, rel in sorted(inventory.workloads.items()):
        if name not in used:
            out.note("SUB-6", show(rel), f"a copy of workload {name} that no run uses")
