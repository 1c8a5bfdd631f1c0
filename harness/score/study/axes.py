"""The study's axes, and which workloads go on which: read from the records' overrides, never from names.

Within a data set every workload is put on the axes its sweep moves:

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
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.score.fits.points import PointData, aggregate_points
from harness.score.fits.workload import AXIS_BY_NAME, Axis
from recscale.records import RunResult


def _samples(p: PointData) -> float:
    return float(p.train_samples)


MIN_DATA_SIZES = 3  # the fewest data sizes that make a workload a data curve (a power law in D has 3 parameters)


@dataclass(frozen=True)
class AxisDef:
    """A study axis: the scorer's Axis (x, slices), the override keys that put a workload on it."""

    name: str
    axis: Axis
    keys: tuple[str, ...]  # override keys (or their dotted prefixes); () for the pooled frontiers
    how: str


AXIS_DEFS: tuple[AxisDef, ...] = (
    AxisDef("data", AXIS_BY_NAME["data"], ("data.fraction",),
            f"each workload that sweeps data.fraction over {MIN_DATA_SIZES} or more sizes (a component compared at two "
            "data sizes is no data curve); one curve per model (total parameters), the largest quoted"),
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
COMPONENT_PARAMS = {"embedding": "embedding", "bottom_mlp": "bottom_mlp", "top_mlp": "top_mlp", "interaction": "dense"}
DENSE_AXES = ("bottom_mlp", "top_mlp", "interaction")


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


def moves(keys: Sequence[str], prefixes: Sequence[str]) -> bool:
    return any(k == pre or k.startswith(pre + ".") for k in keys for pre in prefixes)


@dataclass(frozen=True)
class WorkloadData:
    workload_id: str
    version: int
    points: list[PointData]
    kinds: dict[str, str]  # point id -> interaction kind of its spec
    moved: list[str]  # the override keys its points differ in


def workload_data(records: Sequence[RunResult]) -> WorkloadData:
    points = aggregate_points(records)
    kinds = {r.point_id: str(r.spec.get("model", {}).get("interaction", {}).get("kind", "?")) for r in records}
    return WorkloadData(records[0].workload_id, records[0].workload_version, points, kinds, varying_keys(points))


def _span(points: Sequence[PointData], key: str) -> float:
    values = [p.params[key] for p in points if p.params[key] > 0]
    return math.log10(max(values) / min(values)) if values else 0.0


def primary_component(workload: WorkloadData) -> tuple[str | None, str]:
    """The parameter axis a workload's sweep is about, and a note when it moves several components.

    A sweep that moves several (e.g. the embedding dim with the bottom MLP's output, which the dot
    interaction needs equal) is put on the axis whose parameters span the most decades; its curve
    then lists the others as co-varying.
    """
    moved = [name for name in COMPONENT_PARAMS if moves(workload.moved, AXIS_DEF_BY_NAME[name].keys)]
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


def is_data_curve(workload: WorkloadData) -> bool:
    """Whether a workload sweeps data.fraction over MIN_DATA_SIZES sizes or more."""
    sizes = {p.train_samples for p in workload.points}
    return moves(workload.moved, ("data.fraction",)) and len(sizes) >= MIN_DATA_SIZES


def on_axis(definition: AxisDef, workload: WorkloadData, primary: str | None) -> bool:
    """Whether a workload's own curves go on an axis (the pooled axes take every workload)."""
    if definition.name == "data":
        return is_data_curve(workload)
    if definition.name == "interaction":
        return primary in DENSE_AXES
    return primary == definition.name
