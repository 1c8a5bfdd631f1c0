"""The scaling fits of one workload's records: per axis the fitted law, its intervals, its
extrapolation error, the Bayes floor and the return per decade; and the joint L(N, D).

Axes (x) and what is held fixed along each curve (a *slice*):

* ``data``: training samples (``RunResult.train_samples``), one curve per model (``params.total``);
* ``params``: total parameters, one curve per data size;
* ``embedding_params``: embedding parameters, one curve per data size;
* ``dense_params``: bottom MLP + interaction + top MLP parameters, one curve per data size;
* ``compute``: training FLOPs (``RunResult.train_flops``): the compute-efficient frontier (points
  with a lower loss than every point of less compute), as Kaplan et al. and Chinchilla fit it.

y is the loss of the final quality of the pass, the mean over a point's runs
(:mod:`harness.score.fits.points`). When a component's curve has other components changing along it
(e.g. a sweep that moves the embedding dim and the bottom MLP's output together) the slice lists
them in ``co_varying``: the fit is then of the total change, not of that component alone.
The headline slice of an axis is the one at the largest value of the other axis among those whose
fit is a law (the largest model for data scaling, the most data for parameter scaling): what the
paper quotes. The leaderboard quotes these; `recscale report` builds its study from the same parts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.score.fits.allocation import fit_flops_relation
from harness.score.fits.joint import fit_joint
from harness.score.fits.points import COMPONENTS, DENSE, PointData, aggregate_points, mean_floor, point_rows
from harness.score.fits.power_law import FitError, PowerLawFit, fit_power_law
from harness.score.fits.records import (
    DEFAULT_FIT,
    AxisFits,
    FitSettings,
    JointSummary,
    SliceFit,
    WorkloadFits,
)
from harness.score.fits.summary import summarize_fit, summarize_joint
from recscale.metrics import metric as metric_named
from recscale.records import RunResult

# ------------------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    name: str
    label: str
    x: Callable[[PointData], float]
    slice_by: Callable[[PointData], float] | None  # None: the compute-efficient frontier
    slice_name: str
    component: str | None  # the params key of x, for the co-varying check


AXES: tuple[Axis, ...] = (
    Axis("data", "training samples", lambda p: float(p.train_samples), lambda p: float(p.params["total"]),
         "params", None),
    Axis("params", "parameters (total)", lambda p: float(p.params["total"]), lambda p: float(p.train_samples),
         "samples", "total"),
    Axis("embedding_params", "embedding parameters", lambda p: float(p.params["embedding"]),
         lambda p: float(p.train_samples), "samples", "embedding"),
    Axis("dense_params", "dense parameters (bottom MLP + interaction + top MLP)", lambda p: float(p.params["dense"]),
         lambda p: float(p.train_samples), "samples", "dense"),
    Axis("compute", "training FLOPs", lambda p: p.train_flops, None, "", None),
)
AXIS_BY_NAME = {axis.name: axis for axis in AXES}


def frontier(points: Sequence[PointData], x: Callable[[PointData], float]) -> list[PointData]:
    """Points with a lower loss than every point of smaller (or equal, earlier) x: the efficient frontier."""
    best = math.inf
    kept = []
    for point in sorted(points, key=lambda p: (x(p), p.loss, p.point_id)):
        if point.loss is not None and point.loss < best:
            kept.append(point)
            best = point.loss
    return kept


def _co_varying(points: Sequence[PointData], component: str | None) -> list[str]:
    if component is None or component == "total":
        return []
    others = [c for c in COMPONENTS if c != component and not (component == "dense" and c in DENSE)]
    return [c for c in others if len({p.params[c] for p in points}) > 1]


def _slices(points: Sequence[PointData], axis: Axis) -> list[tuple[str, float | None, list[PointData]]]:
    usable = [p for p in points if p.loss is not None]
    if axis.slice_by is None:
        return [("compute-efficient frontier", None, frontier(usable, axis.x))]
    groups: dict[float, list[PointData]] = defaultdict(list)
    for point in usable:
        groups[axis.slice_by(point)].append(point)
    return [(f"{axis.slice_name} = {value:,.0f}", value, sorted(groups[value], key=lambda p: (axis.x(p), p.point_id)))
            for value in sorted(groups)]


def fit_slice(points: Sequence[PointData], axis: Axis, settings: FitSettings) -> tuple[PowerLawFit | None, str | None]:
    """The fit of loss vs the axis's x over `points` (one slice), or the reason there is none."""
    xs = [axis.x(p) for p in points]
    ys = [p.loss for p in points]
    try:
        return fit_power_law(xs, ys, n_boot=settings.n_boot, seed=settings.seed, level=settings.level,
                             what=axis.label), None
    except FitError as err:
        return None, str(err)


def slice_record(label: str, value: float | None, members: Sequence[PointData], axis: Axis,
                 fit: PowerLawFit | None, error: str | None, co_varying: list[str]) -> SliceFit:
    return SliceFit(slice_label=label, slice_value=value, co_varying=co_varying, x=[axis.x(p) for p in members],
                    loss=[p.loss for p in members if p.loss is not None], point_ids=[p.point_id for p in members],
                    fit=None if fit is None else summarize_fit(fit), error=error)


def axis_fits(points: Sequence[PointData], axis: Axis, settings: FitSettings
              ) -> tuple[AxisFits, list[PowerLawFit | None]]:
    """Every slice of one axis fitted; also returns the fits themselves (for plots and predictions)."""
    slices, fits = [], []
    for label, value, members in _slices(points, axis):
        fit, error = fit_slice(members, axis, settings)
        fits.append(fit)
        slices.append(slice_record(label, value, members, axis, fit, error, _co_varying(members, axis.component)))
    laws = [i for i, fit in enumerate(fits) if fit is not None and fit.status == "ok"]
    headline = laws[-1] if laws else None  # slices are sorted by the other axis: the last is the largest
    return AxisFits(axis=axis.name, x_label=axis.label, headline=headline, slices=slices), fits


def joint_fit(points: Sequence[PointData], *, n_boot: int, seed: int) -> tuple[JointSummary | None, str | None]:
    """The joint law over the points with a final quality, or why there is none."""
    usable = [p for p in points if p.loss is not None]
    n, d = [p.params["total"] for p in usable], [p.train_samples for p in usable]
    try:
        fit = fit_joint(n, d, [p.loss for p in usable], n_boot=n_boot, seed=seed)
    except FitError as err:
        return None, str(err)
    try:
        relation = fit_flops_relation(n, d, [p.train_flops for p in usable])
    except FitError:  # FLOPs not recorded as positive numbers: the split is then in units of k
        return summarize_joint(fit, None), None
    return summarize_joint(fit, relation.k, relation.p), None


# ---------------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class FittedWorkload:
    """A workload's fits as a record, and the fits behind it (with their resamples, for predictions)."""

    record: WorkloadFits
    fits: dict[str, list[PowerLawFit | None]]  # axis name -> one per slice, as in record.axes

    def headline(self, axis: str) -> PowerLawFit | None:
        for entry in self.record.axes:
            if entry.axis == axis and entry.headline is not None:
                return self.fits[axis][entry.headline]
        return None


def fit_workload(records: Sequence[RunResult], settings: FitSettings = DEFAULT_FIT, *, label: str = "all",
                 joint_boot: int = 100, axes: Sequence[Axis] = AXES) -> FittedWorkload:
    """The scaling fits of one workload's records (any number of systems and seeds).

    Raises FitError only when `records` is empty or mixes workloads; a fit that the data cannot
    support is reported in its slice (``error``), never raised.
    """
    points = aggregate_points(records)
    first = records[0]
    joint, joint_error = joint_fit(points, n_boot=joint_boot, seed=settings.seed)
    entries, fits = [], {}
    for axis in axes:
        entry, fits[axis.name] = axis_fits(points, axis, settings)
        entries.append(entry)
    record = WorkloadFits(
        label=label, workload_id=first.workload_id, workload_version=first.workload_version,
        metric=first.quality.metric, loss_definition=metric_named(first.quality.metric).loss_definition,
        n_runs=len(records), points=point_rows(points), bayes_floor=mean_floor(points), axes=entries, joint=joint,
        joint_error=joint_error,
    )
    return FittedWorkload(record, fits)


def headline_slice(record: WorkloadFits, axis: str) -> SliceFit | None:
    """The slice of an axis the leaderboard quotes (its fit is a law), or None."""
    for entry in record.axes:
        if entry.axis == axis and entry.headline is not None:
            return entry.slices[entry.headline]
    return None
