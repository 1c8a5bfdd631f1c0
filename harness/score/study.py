"""The scaling study of one submission (`recscale report`): which axis scales best, and where is the floor?

The records are grouped by data set (their spec's ``data`` section, the fraction aside): only
curves measured on the same data can be compared. Within a data set every workload is put on the
axes its sweep moves, read from the records' ``overrides`` (never from workload names):

* ``data.fraction`` -> **data** (training samples; one curve per model, the largest quoted);
* ``model.embedding.*`` -> **embedding** parameters; ``model.bottom_mlp`` -> **bottom MLP**
  parameters; ``model.top_mlp`` -> **top MLP** parameters (one curve per data size). A sweep that
  moves several components (the embedding dim with the bottom MLP's output) goes on the one whose
  parameters span the most decades, the others listed as co-varying;
* ``model.interaction*`` -> **interaction**: dense parameters (bottom MLP + interaction + top MLP),
  one curve per interaction kind (the kind of each point's spec). The dot interaction has no
  parameters of its own, so its curves come from the sweeps that grow the MLPs around it: the
  slopes of dot, DCN and Wukong then share one x;
* **params**: total parameters, the efficient frontier (the best model of each size) pooled over
  every workload at one data size;
* **compute**: training FLOPs, the compute-efficient frontier pooled over every record.

Curves are fitted by the scorer (:mod:`harness.score.report`); the summary quotes one curve per axis
(and interaction kind) -- preferring curves with no co-varying component, with intervals, with more
points -- and compares their return per decade (drop of the loss per 10x of x).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from harness.score.fit import DEFAULT_BOOT, DEFAULT_LEVEL, PowerLawFit
from harness.score.models import (
    SliceFit,
    StudyAxis,
    StudyCurve,
    StudyGroup,
    StudyReport,
    WorkloadPoints,
)
from harness.score.report import (
    AXIS_BY_NAME,
    LOSS_DEFINITION,
    Axis,
    PointData,
    aggregate_points,
    axis_report,
    fit_slice,
    frontier,
    point_rows,
    summarize_fit,
)
from harness.score.study_summary import rank, summarize
from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.layout import MANIFEST_FILE, RESULT_FILE, SubmissionLayout
from recscale.records import RunResult, SubmissionManifest


def _samples(p: PointData) -> float:
    return float(p.train_samples)


@dataclass(frozen=True)
class AxisDef:
    """A study axis: the scorer's Axis (x, slices), the override keys that put a workload on it."""

    name: str
    axis: Axis
    keys: tuple[str, ...]  # override keys (or their dotted prefixes); () for the pooled frontiers
    how: str


AXIS_DEFS: tuple[AxisDef, ...] = (
    AxisDef("data", AXIS_BY_NAME["data"], ("data.fraction",),
            "each workload that moves data.fraction; one curve per model (total parameters), the largest quoted"),
    AxisDef("params", AXIS_BY_NAME["params"], (),
            "every workload's points at one data size pooled: the efficient frontier (the best model of each "
            "size, whichever component grew)"),
    AxisDef("embedding", AXIS_BY_NAME["embedding_params"], ("model.embedding",),
            "each workload that moves model.embedding.*; one curve per data size"),
    AxisDef("bottom_mlp", Axis("bottom_mlp", "bottom-MLP parameters", lambda p: float(p.params["bottom_mlp"]),
                               _samples, "samples", "bottom_mlp"), ("model.bottom_mlp",),
            "each workload that moves model.bottom_mlp; one curve per data size"),
    AxisDef("top_mlp", Axis("top_mlp", "top-MLP parameters", lambda p: float(p.params["top_mlp"]), _samples,
                            "samples", "top_mlp"), ("model.top_mlp",),
            "each workload that moves model.top_mlp; one curve per data size"),
    AxisDef("interaction", AXIS_BY_NAME["dense_params"], ("model.interaction",),
            "present when a workload moves model.interaction: every workload that grows the dense part (interaction, "
            "bottom or top MLP), one curve per interaction kind and data size"),
    AxisDef("compute", AXIS_BY_NAME["compute"], (),
            "every record of the data set pooled: the compute-efficient frontier (points with a lower loss than "
            "every cheaper point)"),
)
AXIS_DEF_BY_NAME = {d.name: d for d in AXIS_DEFS}


# ------------------------------------------------------------------------------------- input


@dataclass
class SubmissionRecords:
    name: str
    submitter: str
    division: str
    records: list[RunResult]
    skipped: list[str] = field(default_factory=list)


def read_submission(path: Path, *, strict: bool = True) -> SubmissionRecords:
    """Every run record on disk under `path` (results/<system>/<workload>/<point>/run_<seed>/result.json).

    `strict`: an unreadable record or manifest is an InputError; otherwise it is skipped and listed
    (a submission still being written has unfinished runs).
    """
    if not path.is_dir():
        raise InputError([Problem(str(path), "", "no such submission folder")])
    submitter = division = ""
    try:
        manifest = SubmissionManifest.model_validate_json((path / MANIFEST_FILE).read_bytes())
        submitter, division = manifest.submitter, manifest.division
    except (OSError, ValidationError) as err:
        if strict:
            raise InputError([Problem(str(path / MANIFEST_FILE), "", f"no valid submission manifest: {err}")]) from None
    records, skipped = [], []
    for file in SubmissionLayout(path).result_files():
        rel = str(file.relative_to(path))
        try:
            records.append(RunResult.model_validate_json(file.read_bytes()))
        except (OSError, ValidationError) as err:
            if strict:
                raise InputError([Problem(str(file), "", f"not a readable run record: {err}")]) from None
            skipped.append(rel)
    if not records:
        raise InputError([Problem(str(path), "results/", f"no run records (results/<system>/<workload>/<point>/"
                                  f"run_<seed>/{RESULT_FILE}) in this submission: nothing to report")])
    return SubmissionRecords(path.resolve().name, submitter, division, records, skipped)


# ------------------------------------------------------------------------------------ groups


def data_key(record: RunResult) -> str:
    """The data set a record was measured on: its spec's data section without the fraction, as JSON."""
    data = {k: v for k, v in dict(record.spec.get("data", {})).items() if k != "fraction"}
    return json.dumps(data, sort_keys=True)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def varying_keys(points: Sequence[PointData]) -> list[str]:
    """Override keys whose value differs between the points (the axes the sweep actually moves)."""
    keys = sorted({k for p in points for k in p.overrides})
    return [k for k in keys if len({_canonical(p.overrides.get(k)) for p in points}) > 1]


def _moves(keys: Sequence[str], prefixes: Sequence[str]) -> bool:
    return any(k == pre or k.startswith(pre + ".") for k in keys for pre in prefixes)


@dataclass(frozen=True)
class WorkloadData:
    workload_id: str
    version: int
    points: list[PointData]
    kinds: dict[str, str]  # point id -> interaction kind of its spec
    moved: list[str]  # the override keys its points differ in


def _workload_data(records: Sequence[RunResult]) -> WorkloadData:
    points = aggregate_points(records)
    kinds = {r.point_id: str(r.spec.get("model", {}).get("interaction", {}).get("kind", "?")) for r in records}
    return WorkloadData(records[0].workload_id, records[0].workload_version, points, kinds, varying_keys(points))


def _floor(points: Sequence[PointData]) -> float | None:
    values = [p.bayes_loss for p in points if p.bayes_loss is not None]
    return float(np.mean(values)) if values else None


# -------------------------------------------------------------------------------------- axes


@dataclass
class Settings:
    n_boot: int = DEFAULT_BOOT
    seed: int = 0
    level: float = DEFAULT_LEVEL


def _curve(slice_fit: SliceFit, workloads: list[str], family: str, headline: bool, floor: float | None) -> StudyCurve:
    gap = None if slice_fit.fit is None or floor is None else slice_fit.fit.c - floor
    return StudyCurve(workloads=workloads, family=family, headline=headline, curve=slice_fit, bayes_floor=floor,
                      floor_gap=gap)


def _workload_curves(data: WorkloadData, definition: AxisDef, settings: Settings
                     ) -> list[tuple[StudyCurve, PowerLawFit | None]]:
    by_family: dict[str, list[PointData]] = defaultdict(list)
    for point in data.points:
        by_family[data.kinds[point.point_id] if definition.name == "interaction" else ""].append(point)
    out = []
    for family in sorted(by_family):
        entry, fits = axis_report(by_family[family], definition.axis, n_boot=settings.n_boot, seed=settings.seed,
                                  level=settings.level)
        for i, (slice_fit, fit) in enumerate(zip(entry.slices, fits, strict=True)):
            ids = set(slice_fit.point_ids)
            members = [p for p in by_family[family] if p.point_id in ids]
            out.append((_curve(slice_fit, [data.workload_id], family, i == entry.headline, _floor(members)), fit))
    return out


def _pooled_slice(label: str, value: float | None, members: Sequence[PointData], axis: Axis, settings: Settings
                  ) -> tuple[StudyCurve, PowerLawFit | None]:
    fit, error = fit_slice(members, axis, n_boot=settings.n_boot, seed=settings.seed, level=settings.level)
    slice_fit = SliceFit(slice_label=label, slice_value=value, co_varying=[], x=[axis.x(p) for p in members],
                         loss=[p.loss for p in members if p.loss is not None],
                         point_ids=[p.point_id for p in members], fit=None if fit is None else summarize_fit(fit),
                         error=error)
    workloads = sorted({p.point_id.split("/", 1)[0] for p in members})
    return _curve(slice_fit, workloads, "", False, _floor(members)), fit


def _pooled_curves(pooled: Sequence[PointData], definition: AxisDef, settings: Settings
                   ) -> list[tuple[StudyCurve, PowerLawFit | None]]:
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
    fitted = [i for i, (_, fit) in enumerate(out) if fit is not None]
    if fitted:  # the most data is what the paper quotes
        out[fitted[-1]] = (out[fitted[-1]][0].model_copy(update={"headline": True}), out[fitted[-1]][1])
    return out


@dataclass
class GroupStudy:
    """A data set's study and the fits behind it (for the plots' interval bands)."""

    group: StudyGroup
    fits: dict[tuple[str, int], PowerLawFit | None]  # (axis, curve index) -> fit


COMPONENT_PARAMS = {"embedding": "embedding", "bottom_mlp": "bottom_mlp", "top_mlp": "top_mlp", "interaction": "dense"}
DENSE_AXES = ("bottom_mlp", "top_mlp", "interaction")


def _span(points: Sequence[PointData], key: str) -> float:
    values = [p.params[key] for p in points if p.params[key] > 0]
    return math.log10(max(values) / min(values)) if values else 0.0


def primary_component(workload: WorkloadData) -> tuple[str | None, str]:
    """The parameter axis a workload's sweep is about, and a note when it moves several components.

    A sweep that moves several (e.g. the embedding dim with the bottom MLP's output, which the dot
    interaction needs equal) is put on the axis whose parameters span the most decades; its curve
    then lists the others as co-varying.
    """
    moved = [name for name in COMPONENT_PARAMS if _moves(workload.moved, AXIS_DEF_BY_NAME[name].keys)]
    if not moved:
        return None, ""
    spans = {name: _span(workload.points, COMPONENT_PARAMS[name]) for name in moved}
    primary = max(moved, key=lambda name: spans[name])  # ties: the first in axis order
    note = ""
    if len(moved) > 1:
        others = ", ".join(f"{name} {spans[name]:.2g}" for name in moved if name != primary)
        note = (f"{workload.workload_id} moves {', '.join(workload.moved)}: put on the {primary} axis, whose "
                f"parameters span the most ({spans[primary]:.2g} decades; {others}).")
    return primary, note


def _on_axis(definition: AxisDef, workload: WorkloadData, primary: str | None) -> bool:
    if definition.name == "data":
        return _moves(workload.moved, definition.keys)
    if definition.name == "interaction":
        return primary in DENSE_AXES
    return primary == definition.name


def _group_axes(workloads: Sequence[WorkloadData], settings: Settings
                ) -> tuple[list[StudyAxis], dict[tuple[str, int], PowerLawFit | None], list[str]]:
    pooled = [dataclasses.replace(p, point_id=f"{w.workload_id}/{p.point_id}") for w in workloads for p in w.points]
    placed = [primary_component(w) for w in workloads]
    swept_interaction = any(primary == "interaction" for primary, _ in placed)
    axes, fits = [], {}
    for definition in AXIS_DEFS:
        if definition.name == "interaction" and not swept_interaction:
            continue
        found: list[tuple[StudyCurve, PowerLawFit | None]] = []
        if definition.keys:
            for w, (primary, _) in zip(workloads, placed, strict=True):
                if _on_axis(definition, w, primary):
                    found += _workload_curves(w, definition, settings)
        elif definition.name == "compute" or any(_moves(w.moved, ("model",)) for w in workloads):
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


def build_group(index: int, records: Sequence[RunResult], settings: Settings) -> GroupStudy:
    """The study of one data set's records (several workloads, any systems and seeds)."""
    by_workload: dict[tuple[str, int], list[RunResult]] = defaultdict(list)
    for record in records:
        by_workload[(record.workload_id, record.workload_version)].append(record)
    workloads = [_workload_data(by_workload[key]) for key in sorted(by_workload)]
    axes, fits, placement = _group_axes(workloads, settings)
    metric = records[0].quality.metric
    data = json.loads(data_key(records[0]))
    all_points = [p for w in workloads for p in w.points]
    group = StudyGroup(
        label=_group_label(index, data), data=data, workloads=[w.workload_id for w in workloads],
        systems=sorted({r.system for r in records}), metric=metric, loss_definition=LOSS_DEFINITION[metric],
        n_runs=len(records), bayes_floor=_floor(all_points), axes=axes, ranking=[], summary=[], notes=[],
        points=[WorkloadPoints(workload_id=w.workload_id, workload_version=w.version, points=point_rows(
            sorted(w.points, key=lambda p: (p.train_samples, p.params["total"], p.point_id)))) for w in workloads],
        overview_plot=None,
    )
    group.ranking = rank(group)
    group.summary, notes = summarize(group)
    group.notes = placement + notes
    return GroupStudy(group, fits)


def build_report(submission: SubmissionRecords, *, checked: bool, n_boot: int = DEFAULT_BOOT, seed: int = 0,
                 level: float = DEFAULT_LEVEL) -> tuple[StudyReport, list[GroupStudy]]:
    """The study of a submission's records: one group per data set, the largest (most runs) first.

    A data set's records must share one quality metric; mixing metrics is an InputError.
    """
    settings = Settings(n_boot=n_boot, seed=seed, level=level)
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
        division=submission.division, checked=checked, n_boot=n_boot, seed=seed, level=level,
        skipped_records=list(submission.skipped), groups=[s.group for s in studies], plots=[],
    )
    return report, studies

