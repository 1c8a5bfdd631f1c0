"""A submission folder being filled by sweeps: system file, workload copy, manifest, resumable runs.

A sweep is planned, executed and published. Plan: the main process (rank 0 of a multi-process
run, which tells the others) decides which runs are left: a run is finished when its result.json
is a valid record, and re-running the same command skips those. Execute: an executor
(harness.executors: this process by default, or a Ray cluster) trains the runs left, each in a
temporary folder of its worker, and hands back each run's log text. Publish: the main process
derives the record from that text (harness.record), the same way the checker does, and writes
mllog.txt and result.json into the run's folder together (put together in a hidden folder beside
it, then renamed into place), then rebuilds the manifest from what is on disk. So a run killed
half-way, or a worker lost, leaves nothing in the submission; a killed sweep loses nothing that
finished and never counts a run twice. One sweep writes a submission at a time (harness.lock);
files are written only when they change, so re-running a finished sweep on a read-only
submission succeeds without writing.

The submission keeps a copy of the workload file its runs came from (workloads/<id>.yaml), so that
`recscale check` can verify them point by point wherever the original file lives.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.check.catalogue import Workload, disagreement
from harness.distributed import Distributed
from harness.executors.inprocess import InProcessExecutor
from harness.executors.progress import SweepProgress
from harness.executors.task import Executor, RunReport, RunTask
from harness.lock import hold_submission
from harness.machine import capture
from harness.record import derive_result
from harness.runlog import read_own_log
from harness.runner import RunConfig, progress_disabled
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import atomic_write_json, atomic_write_text, utc_now
from recscale.layout import MLLOG_FILE, RESULT_FILE, RunKey, SubmissionLayout, read_result, safe_name
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


@dataclass(frozen=True)
class Verdict:
    """What the main process made of one run's report: its record, or why there is none."""

    result: RunResult | None = None
    error: str | None = None
    problems: tuple[Problem, ...] = ()


def run_sweep(workload: Path, root: Path, config: RunConfig, point_ids: list[str] | None = None,
              seeds: list[int] | None = None, dist: Distributed | None = None,
              announce: Callable[[str], None] = print, executor: Executor | None = None) -> SweepOutcome:
    """Run every selected point x seed of `workload` into the submission at `root`, on `executor`
    (this process and its torchrun peers by default): plan, execute, publish (the module's docstring).

    The main process holds the submission (harness.lock) for the whole sweep."""
    dist = dist or Distributed.single()
    executor = executor or InProcessExecutor(dist)
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
        copy_workload = functools.partial(keep_workload_copy, root, workload, spec, every_point)
        plan = dist.from_main(_plan(root, config, keys, by_id, copy_workload) if dist.is_main else None)
        if isinstance(plan, tuple):
            raise InputError(plan)
        tasks = []
        for number, (key, folder, done) in enumerate(zip(keys, folders, plan, strict=True), start=1):
            if done:
                outcome.skipped.append(folder)
                announce(f"[{number}/{len(keys)}] {key.point} seed {key.seed}: already finished, skipped")
            else:
                tasks.append(RunTask(key, by_id[key.point], config))
        progress = SweepProgress(len(tasks), announce, progress_disabled(config, dist) if tasks else True)
        # closing: a sweep stopped early (Ctrl-C, bad input) stops its executor at once (Ray cancels its tasks)
        with contextlib.closing(executor.run(tasks, progress.started)) as reports, progress:
            for report in reports:
                verdict = dist.from_main(_settle(root, config, report) if dist.is_main else Verdict())
                if verdict.problems:
                    raise InputError(verdict.problems)
                _count(outcome, verdict, layout.run_dir(report.task.key))
                progress.finished(report.task, report.where, _describe(verdict))
        if dist.is_main:
            write_manifest(root, config)
    return outcome


def _plan(root: Path, config: RunConfig, keys: list[RunKey], by_id: dict[str, Point],
          copy_workload: Callable[[], None]) -> list[bool] | tuple[Problem, ...]:
    """On the main process: which runs are finished already, or the problems that stop the sweep.

    The system file and the workload copy are written here, before the first run that writes (not
    for a sweep that has finished)."""
    layout = SubmissionLayout(root)
    try:
        check_manifest_matches(root, config)
        ensure_system(root, config)
        plan = [finished(layout.result_file(key), by_id[key.point]) for key in keys]
        if not all(plan):
            copy_workload()
    except InputError as err:
        return tuple(err.problems)
    return plan


def _settle(root: Path, config: RunConfig, report: RunReport) -> Verdict:
    """On the main process: publish a run that came back with its log; say why one did not."""
    if report.problems:
        return Verdict(problems=report.problems)
    if report.error is not None or report.log_text is None:
        return Verdict(error=report.error or "the run came back without its log")
    try:
        result = publish_run(SubmissionLayout(root), report.task.key, report.task.point, report.log_text)
    except (InputError, ValueError) as err:  # the log gives no record: the run failed, the sweep goes on
        return Verdict(error=f"its log gives no valid record: {err}")
    write_manifest(root, config)
    return Verdict(result=result)


def publish_run(layout: SubmissionLayout, key: RunKey, point: Point, log_text: str) -> RunResult:
    """Derive the record of a finished run from its log's text and write both into its folder at once.

    They are written into a hidden folder beside it, which is then renamed to run_<seed>: a process
    killed while publishing leaves no run folder without its record."""
    folder = layout.run_dir(key)
    result = derive_result(read_own_log(log_text, str(folder / MLLOG_FILE)), point)
    staging = layout.publishing_dir(key)
    shutil.rmtree(staging, ignore_errors=True)  # left by a process killed while publishing (we hold the lock)
    atomic_write_text(staging / MLLOG_FILE, log_text)
    atomic_write_json(staging / RESULT_FILE, result)
    if folder.exists():  # an unfinished run (a log without a record, RUN-3) is replaced by this one
        shutil.rmtree(folder)
    os.rename(staging, folder)
    return result


def _count(outcome: SweepOutcome, verdict: Verdict, folder: Path) -> None:
    if verdict.result is not None:
        outcome.ran.append(verdict.result)
    else:
        outcome.failed.append((folder, verdict.error or ""))


def _describe(verdict: Verdict) -> str:
    if verdict.result is None:
        error = (verdict.error or "").rstrip()
        return f"FAILED: {error.splitlines()[-1] if error else 'no reason given'}\n{error}"
    return describe(verdict.result)


def describe(result: RunResult) -> str:
    metric = result.quality.metric
    final = f"{getattr(result.final, metric):.4f}" if result.final else "n/a"
    if result.status == "success":
        head = f"target reached in {result.time_to_target_s:.1f} s ({result.samples_to_target:,} samples)"
    else:
        head = f"aborted ({result.abort_reason})"
    staging = f"; staging {result.staging_s:.1f} s (not timed)" if result.staging_s is not None else ""
    return f"{head}; final {metric} {final}; {result.train_samples_per_s:,.0f} samples/s{staging}"
