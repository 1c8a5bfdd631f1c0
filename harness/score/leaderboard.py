"""Leaderboards from checked submissions: closed (time to target across stacks) and open (scaling curves).

Closed division (RULES.md SCORE-1..3): per workload point and system, the runs' times to target
are aggregated as MLPerf's result summarizer does, with a rule for the small run counts a
scaling sweep uses. A sweep's small-data points may never reach the target (that is what a
scaling sweep shows), so systems are ranked by the time to complete the whole sweep: the sum over
its points of the aggregated time of the whole pass (which every point must run to record its
final quality). Open division (SCORE-4): each (submission, system) has a data-scaling curve fitted to
its points; it is ranked by the quality that curve predicts at a data budget common to the
workload, with bootstrap intervals; the compute-scaling prediction is shown beside it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.mlperf import olympic_mean
from harness.score.fit import PowerLawFit
from harness.score.models import (
    ClosedBoard,
    ClosedRow,
    OpenBoard,
    OpenRow,
    PointTime,
    Prediction,
    SliceFit,
    Stack,
    WorkloadReport,
)
from harness.score.report import LOSS_DEFINITION, Study, build_study, from_loss, summarize_fit, to_loss
from recscale.errors import InputError, Problem
from recscale.layout import MANIFEST_FILE, RESULT_FILE, SubmissionLayout
from recscale.records import RunResult, SubmissionManifest
from recscale.system import SystemDescription

OLYMPIC_MIN_RUNS = 3  # with fewer runs nothing is dropped (SCORE-1)
M = TypeVar("M", bound=BaseModel)


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


def _read_model(path: Path, model: type[M], what: str) -> M:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read the {what}: {err.strerror or err}")]) from None
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        raise InputError([Problem(str(path), where, f"not a valid {what}: {first['msg']}")]) from None


def load_submission(path: Path, root: Path) -> Submission:
    """Read a (checked) submission: the manifest's runs, in manifest order sorted by path."""
    manifest = _read_model(path / MANIFEST_FILE, SubmissionManifest, "submission manifest")
    name = str(path.relative_to(root)) if path != root else path.name
    submission = Submission(path, name, manifest)
    for run in sorted(manifest.runs, key=lambda r: r.path):
        submission.records.append(_read_model(path / run.path / RESULT_FILE, RunResult, "run record"))
    for system in sorted({r.system for r in submission.records}):
        file = SubmissionLayout(path).system_file(system)
        if file.is_file():
            submission.systems[system] = _read_model(file, SystemDescription, "system description")
    return submission


def stack_of(description: SystemDescription | None) -> Stack:
    """The stack columns of a row, from a system description ("" where it is not described)."""
    if description is None:
        return Stack(accelerator="", framework="", embedding_backend="", device="", nodes="", host_processor="")
    accelerators = description.accelerators_per_node.strip()
    if accelerators not in ("", "0"):
        accelerator = f"{description.number_of_nodes}x{accelerators} {description.accelerator_model_name}".strip()
    else:
        cpu = description.host_processor_model_name
        accelerator = f"CPU ({cpu})" if cpu else "CPU"
    return Stack(accelerator=accelerator, framework=description.framework,
                 embedding_backend=description.embedding_backend, device=description.device,
                 nodes=description.number_of_nodes, host_processor=description.host_processor_model_name)


# -------------------------------------------------------------------------------- aggregation


def aggregate_times(times: Sequence[float], n_runs: int) -> tuple[float | None, str, str]:
    """Score of one point from the successful runs' times (seconds) and the number of runs (SCORE-1).

    n_runs >= 3: MLPerf's olympic mean (drop the fastest and the slowest, mean of the rest); a run
    that missed the target stands for the slowest one, and with two or more misses there is no
    score. n_runs 1 or 2: every run must reach the target; the mean of them, nothing dropped.
    Returns (score or None, rule, note).
    """
    failed = n_runs - len(times)
    if n_runs <= 0 or failed < 0:
        raise ValueError(f"{len(times)} successful times for {n_runs} runs")
    if n_runs < OLYMPIC_MIN_RUNS:
        if failed:
            return None, "mean", f"{failed} of {n_runs} run(s) did not reach the target"
        return math.fsum(times) / len(times), "mean", ""
    if failed > 1:
        return None, "olympic", f"{failed} of {n_runs} runs did not reach the target (at most 1 may miss)"
    note = "1 run did not reach the target: it counts as the slowest" if failed else ""
    return olympic_mean(list(times), n_drop=1, already_dropped=failed), "olympic", note


def _sweep_points(workload_id: str, version: int, seen: set[str]) -> list[str]:
    """The points of a workload's sweep: its file (./workloads, the built-in ones) when it has this version,
    else those seen."""
    from recscale.load import default_workload_paths, load_points, workload_files

    for file in workload_files(default_workload_paths()):
        try:
            spec, points = load_points(file)
        except InputError:
            continue
        if spec.id == workload_id and spec.version == version:
            return sorted(p.point_id for p in points)
    return sorted(seen)


def _point_times(records: Sequence[RunResult], point_id: str) -> PointTime:
    runs = [r for r in records if r.point_id == point_id]
    if not runs:
        return PointTime(point_id=point_id, n_runs=0, n_success=0, time_to_target_s=None, times_s=[],
                         pass_time_s=None, rule="", note="no runs of this point")
    times = sorted(r.time_to_target_s for r in runs if r.status == "success" and r.time_to_target_s is not None)
    score, rule, note = aggregate_times(times, len(runs))
    passes = [r.pass_time_s for r in runs]
    return PointTime(point_id=point_id, n_runs=len(runs), n_success=len(times), time_to_target_s=score,
                     times_s=times, pass_time_s=aggregate_times(passes, len(passes))[0], rule=rule, note=note)


def _ranked(rows: list[ClosedRow], key: str) -> list[ClosedRow]:
    """Rows with a value of `key` ranked ascending (ties share the order of their names), others last."""
    scored = sorted((r for r in rows if getattr(r, key) is not None), key=lambda r: (getattr(r, key), r.submission,
                                                                                       r.system))
    rest = sorted((r for r in rows if getattr(r, key) is None), key=lambda r: (r.submission, r.system))
    for rank, row in enumerate(scored, start=1):
        row.rank = rank
    return scored + rest


def closed_boards(submissions: Sequence[Submission]) -> list[ClosedBoard]:
    """One board per closed-division workload: per point and system the aggregated time to target."""
    groups: dict[tuple[str, int], list[tuple[Submission, str, list[RunResult]]]] = defaultdict(list)
    for sub in submissions:
        if sub.manifest.division != "closed":
            continue
        by_key: dict[tuple[str, int, str], list[RunResult]] = defaultdict(list)
        for record in sub.records:
            by_key[(record.workload_id, record.workload_version, record.system)].append(record)
        for (workload, version, system), records in sorted(by_key.items()):
            groups[(workload, version)].append((sub, system, records))
    boards = []
    for (workload, version), entries in sorted(groups.items()):
        seen = {r.point_id for _, _, records in entries for r in records}
        points = _sweep_points(workload, version, seen)
        rows = []
        for sub, system, records in entries:
            required = max(int(r.spec.get("runs_per_point", 1)) for r in records)
            per_point = [_point_times(records, p) for p in points]
            complete = [p for p in per_point if p.n_runs >= required and p.pass_time_s is not None]
            missing = len(points) - len(complete)
            rows.append(ClosedRow(
                rank=None, submission=sub.name, submitter=sub.manifest.submitter, system=system,
                stack=stack_of(sub.systems.get(system)), points_total=len(points), points_complete=len(complete),
                points_reached=sum(p.time_to_target_s is not None for p in per_point),
                sweep_time_s=None if missing else math.fsum(p.pass_time_s for p in complete),  # type: ignore[misc]
                per_point=per_point,
                note=f"not ranked: {missing} of {len(points)} points lack their {required} run(s)" if missing else "",
            ))
        quality = entries[0][2][0].quality
        boards.append(ClosedBoard(workload_id=workload, workload_version=version, metric=quality.metric,
                                  target=quality.target, higher_is_better=quality.higher_is_better, points=points,
                                  rows=_ranked(rows, "sweep_time_s")))
    return boards


# -------------------------------------------------------------------------------------- open


@dataclass(frozen=True)
class Entry:
    """One scaling curve: a submission's runs of one workload on one system, and their study."""

    submission: Submission
    system: str
    records: list[RunResult]
    study: Study

    @property
    def label(self) -> str:
        return f"{self.submission.name} · {self.system}"


def build_entries(submissions: Sequence[Submission], *, n_boot: int, seed: int, level: float) -> list[Entry]:
    entries = []
    for sub in submissions:
        by_key: dict[tuple[str, int, str], list[RunResult]] = defaultdict(list)
        for record in sub.records:
            by_key[(record.workload_id, record.workload_version, record.system)].append(record)
        for (_, _, system), records in sorted(by_key.items()):
            study = build_study(records, label=f"{sub.name} · {system}", n_boot=n_boot, joint_boot=0, seed=seed,
                                level=level)
            entries.append(Entry(sub, system, records, study))
    return entries


def _model_description(records: Sequence[RunResult]) -> str:
    largest = max(records, key=lambda r: (r.params.total, r.point_id))
    model = largest.spec.get("model", {})
    dims = sorted({r.spec.get("model", {}).get("embedding", {}).get("dim") for r in records} - {None})
    interaction = model.get("interaction", {}).get("kind", "?")
    return (f"{interaction}; embedding dim {', '.join(map(str, dims))}; bottom {model.get('bottom_mlp')}; "
            f"top {model.get('top_mlp')}")


def predict(fit: PowerLawFit | None, budget: float, metric: str) -> Prediction | None:
    """The quality a fit predicts at `budget`, with its bootstrap interval, in the metric's units."""
    if fit is None:
        return None
    quality = from_loss(metric, float(fit.predict(budget)))
    band = fit.predict_interval(budget)
    lo = hi = None
    if band is not None:
        ends = sorted(from_loss(metric, v) for v in band)
        lo, hi = ends
    return Prediction(budget=budget, quality=quality, lo=lo, hi=hi,
                      extrapolated_decades=math.log10(budget / fit.x_max))


def open_boards(entries: Sequence[Entry], budget_decades: float) -> list[OpenBoard]:
    """One board per workload: every entry's curve, ranked by its predicted quality at the data budget."""
    groups: dict[tuple[str, int], list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.study.report.workload_id, entry.study.report.workload_version)].append(entry)
    boards = []
    scale = 10.0**budget_decades
    for (workload, version), members in sorted(groups.items()):
        metric = members[0].study.report.metric
        data_budget = max(int(r.spec["data"]["train_samples"]) for e in members for r in e.records) * scale
        compute_budget = max(p.train_flops for e in members for p in e.study.report.points) * scale
        keyed: list[tuple[float | None, OpenRow]] = []
        for entry in members:
            data_fit, compute_fit = entry.study.headline("data"), entry.study.headline("compute")
            data_axis = next(a for a in entry.study.report.axes if a.axis == "data")
            compute_axis = next(a for a in entry.study.report.axes if a.axis == "compute")
            at_data = predict(data_fit, data_budget, metric)
            row = OpenRow(
                rank=None, submission=entry.submission.name, submitter=entry.submission.manifest.submitter,
                division=entry.submission.manifest.division, system=entry.system,
                stack=stack_of(entry.submission.systems.get(entry.system)),
                model=_model_description(entry.records),
                curve_label=data_axis.slices[data_axis.headline].slice_label if data_axis.headline is not None else "",
                data_fit=None if data_fit is None else summarize_fit(data_fit),
                data_error=None if data_fit else _first_error(data_axis.slices),
                compute_fit=None if compute_fit is None else summarize_fit(compute_fit),
                compute_error=None if compute_fit else _first_error(compute_axis.slices),
                at_data_budget=at_data, at_compute_budget=predict(compute_fit, compute_budget, metric),
                bayes_floor=None if entry.study.report.bayes_floor is None
                else from_loss(metric, entry.study.report.bayes_floor),
                note="" if at_data else "not ranked: no data-scaling fit",
            )
            # rank on the predicted loss (lower is better) whatever the metric
            keyed.append((None if at_data is None else to_loss(metric, at_data.quality), row))
        boards.append(OpenBoard(
            workload_id=workload, workload_version=version, metric=metric, loss_definition=LOSS_DEFINITION[metric],
            data_budget=data_budget, compute_budget=compute_budget,
            budget_rule=f"data: the workload's full training set x 10^{budget_decades:g}; compute: the largest "
                        f"training FLOPs of any entry x 10^{budget_decades:g}",
            rows=_rank_open(keyed),
        ))
    return boards


def _rank_open(keyed: list[tuple[float | None, OpenRow]]) -> list[OpenRow]:
    """Rows with a key ranked ascending (ties by name), then the unranked ones by name."""
    scored = sorted(((k, r) for k, r in keyed if k is not None), key=lambda kr: (kr[0], kr[1].submission, kr[1].system))
    rest = sorted((r for k, r in keyed if k is None), key=lambda r: (r.submission, r.system))
    for rank, (_, row) in enumerate(scored, start=1):
        row.rank = rank
    return [r for _, r in scored] + rest


def _first_error(slices: Sequence[SliceFit]) -> str:
    errors = [s.error for s in slices if s.error]
    return errors[-1] if errors else "no points with a final quality"


def reports_of(entries: Sequence[Entry]) -> list[WorkloadReport]:
    return [e.study.report for e in sorted(entries, key=lambda e: (e.study.report.workload_id, e.label))]
