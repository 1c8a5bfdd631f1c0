"""A submission folder being filled by sweeps: system file, workload copy, manifest, resumable runs.

Resuming: a run is finished when its result.json is a valid record; re-running the same command
skips those and redoes the others (a run killed half-way left at most an mllog.txt, which is
rewritten). Each result.json is written atomically, and the manifest is rebuilt from what is on
disk after every run, so a killed sweep loses nothing that finished and never counts a run twice.
One sweep writes a submission at a time (harness.lock); files are written only when they change,
so re-running a finished sweep on a read-only submission succeeds without writing.

The submission keeps a copy of the workload file its runs came from (workloads/<id>.yaml), so that
`recscale check` can verify them point by point wherever the original file lives.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.check.catalogue import Workload, disagreement
from harness.distributed import Distributed
from harness.lock import hold_submission
from harness.machine import capture
from harness.runner import RunConfig, train_run
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import atomic_write_json, atomic_write_text, utc_now
from recscale.layout import RunKey, SubmissionLayout, read_result, safe_name
from recscale.load import load_points
from recscale.records import RunResult, SubmissionManifest
from recscale.spec import WorkloadSpec
from recscale.sweep import Point
from recscale.system import SystemDescription


@dataclass
class SweepOutcome:
    ran: list[RunResult] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def ensure_system(root: Path, config: RunConfig, nodes: int = 1) -> SystemDescription:
    """The submission's description of this system: captured once, then kept (the user fills it in)."""
    path = SubmissionLayout(root).system_file(config.system)
    if not path.exists():
        system = capture(config.system, config.backend, config.device, nodes=nodes, status=config.status,
                         precision=config.precision)
        system.submitter, system.division = config.submitter, config.division
        atomic_write_json(path, system)
        return system
    try:
        system = SystemDescription.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as err:
        raise InputError([Problem(str(path), "", f"not a valid system description: {err}")]) from None
    described = {"embedding_backend": system.embedding_backend, "device": system.device, "precision": system.precision}
    asked = {"embedding_backend": config.backend, "device": config.device, "precision": config.precision}
    if differ := [name for name in described if described[name] != asked[name]]:
        raise InputError([Problem(
            str(path), ", ".join(differ),
            f"system {config.system!r} ran {system.embedding_backend} on {system.device} in {system.precision}; "
            f"this run asks for {config.backend} on {config.device} in {config.precision}: results of one system "
            "must come from one stack (give another --system name)",
        )])
    return system


def write_manifest(root: Path, config: RunConfig) -> SubmissionManifest:
    """The manifest of what is on disk, written when it differs from the one there (not only in time)."""
    layout = SubmissionLayout(root)
    manifest = SubmissionManifest(submitter=config.submitter, division=config.division,
                                  recscale_version=__version__, updated_at=utc_now(), runs=layout.collect_runs())
    try:
        existing = SubmissionManifest.model_validate_json(layout.manifest.read_bytes())
    except (OSError, ValidationError):
        existing = None
    if existing is not None and existing.model_copy(update={"updated_at": manifest.updated_at}) == manifest:
        return existing
    atomic_write_json(layout.manifest, manifest)
    return manifest


def keep_workload_copy(root: Path, workload: Path, spec: WorkloadSpec, points: list[Point]) -> None:
    """Copy the workload file into the submission (workloads/<id>.yaml) unless the copy there is this
    workload already; refuse when the submission holds another workload of the same id."""
    target = SubmissionLayout(root).workload_file(spec.id)
    mine = Workload.of(spec, points, str(workload))
    if target.exists():
        try:
            kept = Workload.of(*load_points(target), source=str(target))
        except InputError as err:
            raise InputError([Problem(str(target), "", f"the submission's copy of workload {spec.id} is not "
                                      f"valid ({err.problems[0].message}): move it away or use another "
                                      "--submission")]) from None
        if (why := disagreement(kept, mine)) is None:
            return
        raise InputError([Problem(str(workload), "", f"the submission already holds runs of another workload "
                                  f"{spec.id} ({target}: {why}): bump the workload's version and use another "
                                  "--submission folder, or move the old results away")])
    atomic_write_text(target, workload.read_text(encoding="utf-8"))


def check_manifest_matches(root: Path, config: RunConfig) -> None:
    """A submission has one submitter and one division; refuse to mix them."""
    path = SubmissionLayout(root).manifest
    if not path.exists():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError([Problem(str(path), "", f"cannot read the manifest: {err}")]) from None
    for key, wanted in (("submitter", config.submitter), ("division", config.division)):
        if existing.get(key) != wanted:
            raise InputError([Problem(str(path), key, f"this submission is {existing.get(key)!r}, the run asks "
                                      f"for {wanted!r}: use another --submission folder")])


def select(points: list[Point], wanted: list[str] | None, file: str) -> list[Point]:
    if not wanted:
        return points
    by_id = {p.point_id: p for p in points}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise InputError([Problem(file, "--points", f"no point {u!r}; the points are: {', '.join(by_id)}")
                          for u in unknown])
    return [by_id[w] for w in wanted]


def finished(path: Path, point: Point) -> bool:
    """True when `path` holds this point's finished run; refuses a run made from another spec."""
    result = read_result(path)
    if result is None:
        return False
    if result.spec_sha256 != point.spec_sha256:
        raise InputError([Problem(str(path), "spec_sha256", f"this run was made from another spec "
                                  f"({result.spec_sha256[:12]}, now {point.spec_sha256[:12]}): bump the "
                                  "workload version or move the old results away")])
    return True


def run_sweep(workload: Path, root: Path, config: RunConfig, point_ids: list[str] | None = None,
              seeds: list[int] | None = None, dist: Distributed | None = None,
              announce: Callable[[str], None] = print) -> SweepOutcome:
    """Run every selected point x seed of `workload` into the submission at `root`.

    The main process holds the submission (harness.lock) for the whole sweep."""
    dist = dist or Distributed.single()
    spec, every_point = load_points(workload)
    points = select(every_point, point_ids, str(workload))
    seeds = list(range(spec.runs_per_point)) if seeds is None else seeds
    layout = SubmissionLayout(root)
    safe_name(config.system, "system")  # every name that becomes a path is checked before anything is written
    keys = [RunKey(config.system, spec.id, point.point_id, seed) for point in points for seed in seeds]
    folders = [layout.run_dir(key) for key in keys]
    by_id = {point.point_id: point for point in points}
    outcome = SweepOutcome()
    with hold_submission(root) if dist.is_main else contextlib.nullcontext():
        check_manifest_matches(root, config)
        if dist.is_main:
            ensure_system(root, config)
        copied = False
        for number, (key, folder) in enumerate(zip(keys, folders, strict=True), start=1):
            point = by_id[key.point]
            label = f"[{number}/{len(keys)}] {key.point} seed {key.seed}"
            if finished(layout.result_file(key), point):
                outcome.skipped.append(folder)
                announce(f"{label}: already finished, skipped")
                continue
            if dist.is_main and not copied:  # before the first run that writes, not for a finished sweep
                keep_workload_copy(root, workload, spec, every_point)
                copied = True
            result = _train(point, key.seed, config, folder, dist, outcome, label, announce)
            if result is None:
                continue
            if dist.is_main:
                atomic_write_json(layout.result_file(key), result)
                write_manifest(root, config)
            outcome.ran.append(result)
            announce(f"{label}: {describe(result)}")
        if dist.is_main:
            write_manifest(root, config)
    return outcome


def _train(point: Point, seed: int, config: RunConfig, folder: Path, dist: Distributed, outcome: SweepOutcome,
           label: str, announce: Callable[[str], None]) -> RunResult | None:
    """Train one run; a failure is recorded in `outcome` (None) and the sweep goes on."""
    try:
        return train_run(point, seed, config, folder, dist)
    except (InputError, KeyboardInterrupt):
        raise
    except Exception as err:  # a broken run must not stop the sweep; its folder has no result
        outcome.failed.append((folder, f"{type(err).__name__}: {err}"))
        announce(f"{label}: FAILED {type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")
        return None


def describe(result: RunResult) -> str:
    metric = result.quality.metric
    final = f"{getattr(result.final, metric):.4f}" if result.final else "n/a"
    if result.status == "success":
        head = f"target reached in {result.time_to_target_s:.1f} s ({result.samples_to_target:,} samples)"
    else:
        head = f"aborted ({result.abort_reason})"
    staging = f"; staging {result.staging_s:.1f} s (not timed)" if result.staging_s is not None else ""
    return f"{head}; final {metric} {final}; {result.train_samples_per_s:,.0f} samples/s{staging}"
