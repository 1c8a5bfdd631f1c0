"""The rules concern: divisions, runs per point, seeds, systems and the manifest.

CLOSED-*/OPEN-* recompute each point from the run's workload (harness/check/catalogue.py: a given
workload file, else the submission's copy; recscale.load, the same code that made the points) and
compare; RUN-*, SYS-*, SUB-3/4/5 compare the records with each other. Only data from the submission
is read, through the schema concern.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from harness.check.agreement import same
from harness.check.catalogue import WorkloadCatalogue
from harness.check.files import Inventory, RunFolder, manifest_path_problem, show
from harness.check.findings import Findings
from harness.check.specview import SpecView
from harness.runlog import LogFacts
from recscale import logkeys as k
from recscale.hyperparams import PointFacts, point_values
from recscale.layout import RESULTS_DIR, SYSTEMS_DIR
from recscale.metrics import METRICS
from recscale.records import RunResult, SubmissionManifest
from recscale.sweep import Point
from recscale.system import REQUIRED_FIELDS, SystemDescription

OPEN_FIXED = ("data", "quality", "training.passes", "training.eval_every", "runs_per_point")  # OPEN-2


@dataclass
class RunCheck:
    """Everything the concerns learnt about one run folder."""

    folder: RunFolder
    result: RunResult | None = None
    result_sha256: str | None = None  # of the result.json bytes (SUB-3)
    facts: LogFacts | None = None
    point: Point | None = None  # the workload's point, when it exists
    spec: SpecView = field(default_factory=SpecView)
    spec_sha256: str | None = None  # of the recorded spec


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The dotted path of the first place two JSON values differ (None when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return where
            if (found := first_difference(a[key], b[key], where)) is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return path or "(top level)"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (found := first_difference(x, y, f"{path}.{i}" if path else str(i))) is not None:
                return found
        return None
    return None if same(a, b) and type(a) is type(b) else (path or "(top level)")


def _section(spec: Any, dotted: str) -> Any:
    node = spec
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return "<missing>"
        node = node[key]
    return node


def check_identity(run: RunCheck, manifest: SubmissionManifest | None, workloads: WorkloadCatalogue,
                   out: Findings) -> None:
    """SUB-4, SUB-5 and CLOSED-1..4 / OPEN-1..2 for one run with a valid result.json."""
    result, folder = run.result, run.folder
    assert result is not None
    file = show(folder.result or folder.rel)
    for name, recorded, named in (("system", result.system, folder.system),
                                  ("workload_id", result.workload_id, folder.workload),
                                  ("point_id", result.point_id, folder.point), ("seed", result.seed, folder.seed)):
        if recorded != named:
            out.error("SUB-4", file, f"{name} {recorded!r} but the folder says {named!r}")
    _check_submission_events(run, manifest, out)
    closed = result.division == "closed"
    found = workloads.lookup(result.workload_id, result.division, out)
    if isinstance(found, str):
        out.error("CLOSED-1" if closed else "OPEN-1", file, found)
        return
    if found.spec.version != result.workload_version:
        out.error("CLOSED-1" if closed else "OPEN-1", file, f"workload {result.workload_id} is at version "
                  f"{found.spec.version} in {found.source}, the run says {result.workload_version}")
        return
    point = found.points.get(result.point_id)
    if point is None:
        out.error("CLOSED-2" if closed else "OPEN-1", file, f"{result.point_id!r} is not a point of "
                  f"{result.workload_id} ({found.source}; `recscale points` lists them)")
        return
    run.point = point
    if closed and (where := first_difference(result.overrides, point.overrides)) is not None:
        out.error("CLOSED-2", file, f"overrides differ from the point's at {where}")
    if closed:
        _check_closed(run, point, file, out)
    else:
        _check_open(run, point, file, out)


def _check_submission_events(run: RunCheck, manifest: SubmissionManifest | None, out: Findings) -> None:
    """SUB-5: division and submitter of the result and the log are the manifest's."""
    result, facts = run.result, run.facts
    assert result is not None
    file = show(run.folder.result or run.folder.rel)
    if manifest is not None and result.division != manifest.division:
        out.error("SUB-5", file, f"division {result.division!r} in a {manifest.division!r} submission")
    if facts is None:
        return
    # The log's benchmark, division and platform are the record's (harness.check.agreement): its org is
    # the manifest's submitter.
    org = facts.once(k.SUBMISSION_ORG)
    if manifest is not None and org is not None and org.value != manifest.submitter:
        out.error("SUB-5", facts.file, f"{k.SUBMISSION_ORG} is {org.value!r}, expected {manifest.submitter!r}")


def _check_closed(run: RunCheck, point: Point, file: str, out: Findings) -> None:
    """CLOSED-3 (spec and hash) and CLOSED-4 (logged hyper-parameters)."""
    result = run.result
    assert result is not None
    if run.spec_sha256 != point.spec_sha256 or result.spec_sha256 != point.spec_sha256:
        where = first_difference(result.spec, point.spec_json)
        detail = f"differs at {where}" if where else "spec_sha256 is not the point's"
        out.error("CLOSED-3", file, f"the run's spec is not the point's resolved spec: {detail}")
    if run.facts is None:
        return
    for key, wanted in point_values(point.spec, PointFacts(point.point_id, point.spec_sha256)).items():
        if (event := run.facts.once(key)) is not None and not same(event.value, wanted):
            out.error("CLOSED-4", run.facts.file, f"{key} is {event.value!r}, the point's spec says {wanted!r}")


def _check_open(run: RunCheck, point: Point, file: str, out: Findings) -> None:
    """OPEN-2: the data, evaluation, quality and amount of training are the point's."""
    assert run.result is not None
    for section in OPEN_FIXED:
        mine, theirs = _section(run.result.spec, section), _section(point.spec_json, section)
        if (where := first_difference(mine, theirs)) is not None:
            out.error("OPEN-2", file, f"{section} differs from the point's (at {where}); the open division may "
                      "not change it")


def check_runs_per_point(runs: list[RunCheck], out: Findings) -> None:
    """RUN-1 and RUN-2 over all runs: counts per (system, workload, point), distinct seeds."""
    groups: dict[tuple[str, str, str], list[RunCheck]] = defaultdict(list)
    for run in runs:
        groups[(run.folder.system, run.folder.workload, run.folder.point)].append(run)
    for (system, workload, point_id), members in sorted(groups.items()):
        where = show(f"{RESULTS_DIR}/{system}/{workload}/{point_id}/")
        required = next((r.point.spec.runs_per_point for r in members if r.point is not None), None)
        if required is not None and len(members) != required:
            out.error("RUN-1", where, f"{len(members)} run(s); the point requires runs_per_point = {required}")
        seeds = [r.result.seed for r in members if r.result is not None]
        duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
        if duplicates:
            out.error("RUN-2", where, f"seed(s) {duplicates} used by more than one run")


Curve = tuple[tuple[int, tuple[float | None, ...]], ...]


def learning_curve(result: RunResult) -> Curve | None:
    """What a run learnt: each evaluation's samples and every metric, exactly as recorded; None when
    there is nothing to compare (no evaluation, or no finite metric: a run that diverged at once)."""
    curve = tuple((p.samples, tuple(getattr(p, name) for name in METRICS)) for p in result.curve)
    return curve if any(v is not None for _, values in curve for v in values) else None


def check_distinct_runs(runs: list[RunCheck], out: Findings) -> None:
    """RUN-2: runs of one point (one spec) with different seeds did not learn bit for bit the same.

    The seed initialises the model and orders the data, so two seeds give different curves; equal
    curves under two seeds are one run reported twice (a copy relabelled). The same seed twice may
    legitimately give the same curve (a deterministic stack on two systems): that is not compared
    here, and one seed twice on one system is already an error above. Times are not compared: runs
    made in parallel may start in the same second.
    """
    seen: dict[tuple[str, str, str, Curve], RunCheck] = {}
    for run in sorted(runs, key=lambda r: r.folder.rel):
        result = run.result
        if result is None or (curve := learning_curve(result)) is None:
            continue
        key = (result.workload_id, result.point_id, result.spec_sha256, curve)
        first = seen.setdefault(key, run)
        if first is not run and first.result is not None and first.result.seed != result.seed:
            out.error("RUN-2", show(run.folder.result or run.folder.rel), f"the same learning curve as "
                      f"{show(first.folder.rel)} (every evaluation's metrics equal to the last digit) under "
                      f"another seed: one run reported twice; different seeds train different models")


def check_systems(inventory: Inventory, systems: dict[str, SystemDescription | None], runs: list[RunCheck],
                  manifest: SubmissionManifest | None, out: Findings) -> None:
    """SYS-1 (described, required fields filled) and SYS-2 (one stack per system: backend, device, precision)."""
    used = sorted({r.folder.system for r in runs})
    for name in used:
        rel = inventory.systems.get(name)
        if rel is None:
            out.error("SYS-1", f"{SYSTEMS_DIR}/{show(name)}.json", "missing: every system named by a run is described")
            continue
        system = systems.get(name)
        if system is None:
            continue  # unreadable or invalid: the schema concern said why (SUB-2)
        empty = [f for f in REQUIRED_FIELDS if not str(getattr(system, f)).strip()]
        if empty:
            out.error("SYS-1", show(rel), f"required fields not filled: {', '.join(empty)}")
        if manifest is not None:
            for field_name in ("submitter", "division"):
                if getattr(system, field_name) and getattr(system, field_name) != getattr(manifest, field_name):
                    out.error("SYS-2", show(rel), f"{field_name} {getattr(system, field_name)!r} but the submission "
                              f"is {getattr(manifest, field_name)!r}")
        for run in runs:
            if run.folder.system == name and run.result is not None:
                harness = run.result.harness
                if (harness.backend, harness.device, harness.precision) != (
                        system.embedding_backend, system.device, system.precision):
                    out.error("SYS-2", show(run.folder.result or run.folder.rel), f"ran {harness.backend} on "
                              f"{harness.device} in {harness.precision}, but system {name} is "
                              f"{system.embedding_backend} on {system.device} in {system.precision}")
    for name in sorted(set(inventory.systems) - set(used)):
        out.note("SYS-1", show(inventory.systems[name]), "a system description no run uses")


def check_manifest(inventory: Inventory, manifest: SubmissionManifest | None, runs: list[RunCheck],
                   out: Findings) -> None:
    """SUB-3 (and FILE-1 for its paths): the manifest lists exactly the runs on disk."""
    if manifest is None or inventory.manifest is None:
        return
    file = inventory.manifest
    by_path = {r.folder.rel: r for r in runs}
    listed: set[str] = set()
    for i, entry in enumerate(manifest.runs):
        if (problem := manifest_path_problem(entry.path)) is not None:
            out.error("FILE-1", file, f"runs[{i}].path {entry.path!r} leads outside the submission: {problem}")
            continue
        if entry.path in listed:
            out.error("SUB-3", file, f"runs[{i}].path {entry.path!r} is listed twice")
            continue
        listed.add(entry.path)
        run = by_path.get(entry.path)
        if run is None:
            out.error("SUB-3", file, f"runs[{i}].path {entry.path!r} is not a run folder of the submission")
            continue
        if run.result is None:
            continue  # its result.json is missing or invalid: reported where it is
        recorded = (run.result.system, run.result.workload_id, run.result.point_id, run.result.seed, run.result.status)
        if (entry.system, entry.workload, entry.point, entry.seed, entry.status) != recorded:
            out.error("SUB-3", file, f"runs[{i}] says {entry.system}/{entry.workload}/{entry.point}/seed {entry.seed} "
                      f"{entry.status}, its result.json says {'/'.join(map(str, recorded[:3]))}/seed {recorded[3]} "
                      f"{recorded[4]}")
        if entry.result_sha256 != run.result_sha256:
            out.error("SUB-3", file, f"runs[{i}].result_sha256 is not the sha256 of {entry.path}/result.json")
    for rel in sorted(r for r in set(by_path) - listed if by_path[r].folder.result is not None):
        out.error("SUB-3", file, f"the run folder {show(rel)} is not listed")
