"""The scaling study of one submission (`recscale report`): which axis scales best, and where is the floor?

The records are grouped by data set (their spec's ``data`` section, the fraction aside): only
curves measured on the same data can be compared. Within a data set every workload is put on the
axes its sweep moves (:mod:`.axes`). Curves are fitted by the scorer
(:mod:`harness.score.fits.workload`); the summary (:mod:`.summary`) quotes one curve per axis
(and interaction kind) -- preferring curves with no co-varying component, with intervals, with more
points -- and compares their return per decade (drop of the loss per 10x of x).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.score.fits.floor import FloorStep
from harness.score.fits.points import PointData, mean_floor, point_rows
from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import DEFAULT_FIT, FitSettings, SliceFit
from harness.score.fits.summary import rounded_interval
from harness.score.fits.workload import Axis, axis_fits, fit_slice, frontier, slice_record
from harness.score.inputs import SubmissionRecords
from harness.score.study.axes import (
    AXIS_DEFS,
    AxisDef,
    WorkloadData,
    data_key,
    moves,
    on_axis,
    primary_component,
    workload_data,
)
from harness.score.study.floor import planted_floor
from harness.score.study.joint import JointStudy, study_joint
from harness.score.study.records import AxisFinding, StudyAxis, StudyCurve, StudyGroup, StudyReport, WorkloadPoints
from harness.score.study.summary import rank, summarize
from harness.score.study.verdicts import verdicts
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.metrics import metric as metric_named
from recscale.records import RunResult

CurveFit = tuple[StudyCurve, PowerLawFit | None]


def _curve(slice_fit: SliceFit, workloads: list[str], family: str, headline: bool, floor: float | None) -> StudyCurve:
    gap = None if slice_fit.fit is None or floor is None else slice_fit.fit.c - floor
    return StudyCurve(workloads=workloads, family=family, headline=headline, curve=slice_fit, bayes_floor=floor,
                      floor_gap=gap)


def _workload_curves(data: WorkloadData, definition: AxisDef, settings: FitSettings) -> list[CurveFit]:
    by_family: dict[str, list[PointData]] = defaultdict(list)
    for point in data.points:
        by_family[data.kinds[point.point_id] if definition.name == "interaction" else ""].append(point)
    out = []
    for family in sorted(by_family):
        entry, fits = axis_fits(by_family[family], definition.axis, settings)
        for i, (slice_fit, fit) in enumerate(zip(entry.slices, fits, strict=True)):
            ids = set(slice_fit.point_ids)
            members = [p for p in by_family[family] if p.point_id in ids]
            out.append((_curve(slice_fit, [data.workload_id], family, i == entry.headline, mean_floor(members)), fit))
    return out


def _pooled_slice(label: str, value: float | None, members: Sequence[PointData], axis: Axis, settings: FitSettings
                  ) -> CurveFit:
    fit, error = fit_slice(members, axis, settings)
    slice_fit = slice_record(label, value, members, axis, fit, error, co_varying=[])
    workloads = sorted({p.point_id.split("/", 1)[0] for p in members})
    return _curve(slice_fit, workloads, "", False, mean_floor(members)), fit


def _pooled_curves(pooled: Sequence[PointData], definition: AxisDef, settings: FitSettings) -> list[CurveFit]:
    axis = definition.axis
    usable = [p for p in pooled if p.loss is not None]
    if definition.name == "compute":
        curve, fit = _pooled_slice("compute-efficient frontier", None, frontier(usable, axis.x), axis, settings)
        return [(curve.model_copy(update={"headline": True}), fit)]
    by_size: dict[int, list[PointData]] = defaultdict(list)
    for point in usable:
        by_size[point.train_samples].append(point)
    out = [_pooled_slice(f"samples = {size:,}: best model of each size", float(size), frontier(by_size[size], axis.x),
                         axis, settings)
           for size in sorted(by_size) if len({axis.x(p) for p in by_size[size]}) > 1]
    laws = [i for i, (_, fit) in enumerate(out) if fit is not None and fit.status == "ok"]
    if laws:  # the most data is what the paper quotes
        out[laws[-1]] = (out[laws[-1]][0].model_copy(update={"headline": True}), out[laws[-1]][1])
    return out


@dataclass
class GroupStudy:
    """A data set's study and the fits behind it (for the plots' interval bands, the joint and floor plots)."""

    group: StudyGroup
    fits: dict[tuple[str, int], PowerLawFit | None]  # (axis, curve index) -> fit
    joint: JointStudy
    floor_steps: list[FloorStep]


def _group_axes(workloads: Sequence[WorkloadData], settings: FitSettings
                ) -> tuple[list[StudyAxis], dict[tuple[str, int], PowerLawFit | None], list[str]]:
    pooled = [dataclasses.replace(p, point_id=f"{w.workload_id}/{p.point_id}") for w in workloads for p in w.points]
    placed = [primary_component(w) for w in workloads]
    swept_interaction = any(primary == "interaction" for primary, _ in placed)
    axes, fits = [], {}
    for definition in AXIS_DEFS:
        if definition.name == "interaction" and not swept_interaction:
            continue
        found: list[CurveFit] = []
        if definition.keys:
            for w, (primary, _) in zip(workloads, placed, strict=True):
                if on_axis(definition, w, primary):
                    found += _workload_curves(w, definition, settings)
        elif definition.name == "compute" or any(moves(w.moved, ("model",)) for w in workloads):
            found = _pooled_curves(pooled, definition, settings)
        if not found:
            continue
        for i, (_, fit) in enumerate(found):
            fits[(definition.name, i)] = fit
        axes.append(StudyAxis(axis=definition.name, x_label=definition.axis.label, how=definition.how,  # type: ignore[arg-type]
                              curves=[c for c, _ in found], plot=None))
    return axes, fits, [note for _, note in placed if note]


def _group_label(index: int, data: dict[str, object]) -> str:
    source = data.get("source", "?")
    parts = [f"{source} data", f"{int(data.get('train_samples', 0)):,} training samples (fraction 1)"]
    if isinstance(data.get("synthetic"), dict):
        parts.append(f"generator seed {data['synthetic'].get('seed')}")  # type: ignore[union-attr]
    return f"Data set {index}: " + ", ".join(parts)


def build_group(index: int, records: Sequence[RunResult], settings: FitSettings) -> GroupStudy:
    """The study of one data set's records (several workloads, any systems and seeds)."""
    by_workload: dict[tuple[str, int], list[RunResult]] = defaultdict(list)
    for record in records:
        by_workload[(record.workload_id, record.workload_version)].append(record)
    workloads = [workload_data(by_workload[key]) for key in sorted(by_workload)]
    axes, fits, placement = _group_axes(workloads, settings)
    metric = records[0].quality.metric
    data = json.loads(data_key(records[0]))
    all_points = [p for w in workloads for p in w.points]
    group = StudyGroup(
        label=_group_label(index, data), data=data, workloads=[w.workload_id for w in workloads],
        systems=sorted({r.system for r in records}), metric=metric,
        loss_definition=metric_named(metric).loss_definition, n_runs=len(records), bayes_floor=mean_floor(all_points),
        axes=axes, ranking=[], summary=[], notes=[], verdicts=[], joint=[], joint_note="", planted_floor=None,
        joint_plot=None,
        points=[WorkloadPoints(workload_id=w.workload_id, workload_version=w.version, points=point_rows(
            sorted(w.points, key=lambda p: (p.train_samples, p.params["total"], p.point_id)))) for w in workloads],
        overview_plot=None,
    )
    group.ranking = [_with_return_interval(f, fits) for f in rank(group)]
    group.summary, notes = summarize(group)
    group.notes = placement + notes
    joint = study_joint(workloads, settings)
    group.joint, group.joint_note = joint.records, joint.note
    data = next((a for a in axes if a.axis == "data"), None)
    quoted = next((f.curve for f in group.ranking if f.axis == "data"), None)
    loss = "NE" if group.loss_definition == "ne" else group.loss_definition
    group.planted_floor, steps = planted_floor(data, quoted, group.bayes_floor, loss, settings)
    group.verdicts = verdicts(group, joint.records, joint.note)
    return GroupStudy(group, fits, joint, steps)


def _with_return_interval(finding: AxisFinding, fits: dict[tuple[str, int], PowerLawFit | None]) -> AxisFinding:
    """The finding with the bootstrap interval of its curve's return per decade, or why it has none."""
    fit = None if finding.curve is None else fits.get((finding.axis, finding.curve))
    if fit is None or finding.fit is None:
        return finding
    found = fit.return_per_decade_interval_or_why()
    if isinstance(found, tuple):
        return finding.model_copy(update={"return_ci": rounded_interval(found)})
    return finding.model_copy(update={"return_no_interval": found})


def build_report(submission: SubmissionRecords, *, checked: bool, settings: FitSettings = DEFAULT_FIT
                 ) -> tuple[StudyReport, list[GroupStudy]]:
    """The study of a submission's records: one group per data set, the largest (most runs) first.

    A data set's records must share one quality metric; mixing metrics is an InputError.
    """
    by_data: dict[str, list[RunResult]] = defaultdict(list)
    for record in submission.records:
        by_data[data_key(record)].append(record)
    order = sorted(by_data, key=lambda key: (-len(by_data[key]), key))
    studies = []
    for index, key in enumerate(order, start=1):
        records = sorted(by_data[key], key=lambda r: (r.workload_id, r.point_id, r.system, r.seed))
        metrics = sorted({r.quality.metric for r in records})
        if len(metrics) > 1:
            workloads = sorted({r.workload_id for r in records})
            raise InputError([Problem(submission.name, "results/", f"workloads {workloads} share a data set but "
                                      f"measure different metrics {metrics}: no common axis")])
        studies.append(build_group(index, records, settings))
    report = StudyReport(
        recscale_version=__version__, submission=submission.name, submitter=submission.submitter,
        division=submission.division, checked=checked, settings=settings,
        skipped_records=list(submission.skipped), groups=[s.group for s in studies], plots=[],
    )
    return report, studies
