"""The scaling study of one workload's records: per axis the fitted law, its intervals, its
extrapolation error, the Bayes floor and the return per decade; and the joint L(N, D).

Axes (x) and what is held fixed along each curve (a *slice*):

* ``data``: training samples (``RunResult.train_samples``), one curve per model (``params.total``);
* ``params``: total parameters, one curve per data size;
* ``embedding_params``: embedding parameters, one curve per data size;
* ``dense_params``: bottom MLP + interaction + top MLP parameters, one curve per data size;
* ``compute``: training FLOPs (``RunResult.train_flops``): the compute-efficient frontier (points
  with a lower loss than every point of less compute), as Kaplan et al. and Chinchilla fit it.

y is the loss of the final quality of the pass, the mean over a point's runs (diverged runs,
``final`` null, are left out). When a component's curve has other components changing along it
(e.g. a sweep that moves the embedding dim and the bottom MLP's output together) the slice lists
them in ``co_varying``: the fit is then of the total change, not of that component alone.
The headline slice of an axis is the one at the largest value of the other axis (the largest model
for data scaling, the most data for parameter scaling): what the paper quotes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.score.fit import DEFAULT_BOOT, DEFAULT_LEVEL, FitError, PowerLawFit, fit_power_law
from harness.score.joint import JointFit, fit_joint
from harness.score.models import (
    AxisReport,
    ComputeOptimalSummary,
    ExtrapolationSummary,
    Interval,
    JointSummary,
    PointRow,
    PowerLawSummary,
    SliceFit,
    WorkloadReport,
)
from recscale.records import RunResult

LOSS_DEFINITION = {"ne": "ne", "logloss": "logloss", "auc": "1 - auc"}
COMPONENTS = ("embedding", "bottom_mlp", "interaction", "top_mlp")
DENSE = ("bottom_mlp", "interaction", "top_mlp")


def to_loss(metric: str, value: float) -> float:
    """The lower-is-better loss of a quality value: AUC becomes 1 - AUC, NE and log loss stay."""
    return 1.0 - value if metric == "auc" else value


def from_loss(metric: str, loss: float) -> float:
    return 1.0 - loss if metric == "auc" else loss


def _metric_value(metrics: object, metric: str) -> float:
    return float(getattr(metrics, metric))


# ------------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class PointData:
    """One point of a workload, its runs aggregated: mean final quality, mean FLOPs."""

    point_id: str
    overrides: dict[str, object]
    n_runs: int
    n_final: int
    train_samples: int
    params: dict[str, int]  # the four components, "dense" and "total"
    train_flops: float
    quality: float | None
    loss: float | None
    bayes_loss: float | None


def _params(record: RunResult) -> dict[str, int]:
    counts = record.params.model_dump()
    counts["dense"] = sum(counts[name] for name in DENSE)
    return counts


def aggregate_points(records: Sequence[RunResult]) -> list[PointData]:
    """Group one workload's runs by point (sorted by point id); y = mean final loss of the runs."""
    if not records:
        raise FitError("no run records to aggregate")
    workloads = {(r.workload_id, r.workload_version) for r in records}
    if len(workloads) > 1:
        raise FitError(f"records of one workload expected, got {sorted(workloads)}")
    metric = records[0].quality.metric
    by_point: dict[str, list[RunResult]] = defaultdict(list)
    for record in records:
        by_point[record.point_id].append(record)
    points = []
    for point_id in sorted(by_point):
        runs = sorted(by_point[point_id], key=lambda r: (r.system, r.seed))
        finals = [r for r in runs if r.final is not None and math.isfinite(_metric_value(r.final, metric))]
        quality = float(np.mean([_metric_value(r.final, metric) for r in finals])) if finals else None
        bayes = [_metric_value(r.bayes, metric) for r in runs if r.bayes is not None]
        flops = [r.train_flops for r in finals] or [r.train_flops for r in runs]
        points.append(PointData(
            point_id=point_id, overrides=dict(runs[0].overrides), n_runs=len(runs), n_final=len(finals),
            train_samples=runs[0].train_samples, params=_params(runs[0]), train_flops=float(np.mean(flops)),
            quality=quality, loss=None if quality is None else to_loss(metric, quality),
            bayes_loss=to_loss(metric, float(np.mean(bayes))) if bayes else None,
        ))
    return points


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


def summarize_fit(fit: PowerLawFit) -> PowerLawSummary:
    def interval(name: str) -> Interval | None:
        found = fit.interval(name)
        return None if found is None else Interval(lo=found[0], hi=found[1])

    ex = fit.extrapolation
    return PowerLawSummary(
        a=fit.a, b=fit.b, c=fit.c, a_ci=interval("a"), b_ci=interval("b"), c_ci=interval("c"), level=fit.level,
        n_points=fit.n_points, n_distinct=fit.n_distinct, x_min=fit.x_min, x_max=fit.x_max,
        rms_rel_residual=fit.rms_rel_residual, b_at_bound=fit.b_at_bound, n_boot=fit.n_boot,
        n_boot_valid=fit.n_boot_valid,
        extrapolation=None if ex is None else ExtrapolationSummary(
            fit_x_max=ex.fit_x_max, held_x=list(ex.held_x), observed=list(ex.observed), predicted=list(ex.predicted),
            rel_error=list(ex.rel_error), max_abs_rel_error=ex.max_abs_rel_error),
        extrapolation_note=fit.extrapolation_note, notes=list(fit.notes),
        return_per_decade=fit.return_per_decade(), return_per_decade_at_max=fit.return_per_decade_at_max(),
    )


def fit_slice(points: Sequence[PointData], axis: Axis, *, n_boot: int = DEFAULT_BOOT, seed: int = 0,
              level: float = DEFAULT_LEVEL) -> tuple[PowerLawFit | None, str | None]:
    """The fit of loss vs the axis's x over `points` (one slice), or the reason there is none."""
    xs = [axis.x(p) for p in points]
    ys = [p.loss for p in points]
    try:
        return fit_power_law(xs, ys, n_boot=n_boot, seed=seed, level=level, what=axis.label), None
    except FitError as err:
        return None, str(err)


def axis_report(points: Sequence[PointData], axis: Axis, *, n_boot: int = DEFAULT_BOOT, seed: int = 0,
                level: float = DEFAULT_LEVEL) -> tuple[AxisReport, list[PowerLawFit | None]]:
    """Every slice of one axis fitted; also returns the fits themselves (for plots and predictions)."""
    slices, fits = [], []
    for label, value, members in _slices(points, axis):
        fit, error = fit_slice(members, axis, n_boot=n_boot, seed=seed, level=level)
        fits.append(fit)
        slices.append(SliceFit(
            slice_label=label, slice_value=value, co_varying=_co_varying(members, axis.component),
            x=[axis.x(p) for p in members], loss=[p.loss for p in members if p.loss is not None],
            point_ids=[p.point_id for p in members], fit=None if fit is None else summarize_fit(fit), error=error,
        ))
    fitted = [i for i, fit in enumerate(fits) if fit is not None]
    headline = fitted[-1] if fitted else None  # slices are sorted by the other axis: the last is the largest
    return AxisReport(axis=axis.name, x_label=axis.label, headline=headline, slices=slices), fits


# ------------------------------------------------------------------------------------ joint


def _joint_summary(fit: JointFit, points: Sequence[PointData]) -> JointSummary:
    ks = [p.train_flops / (p.params["total"] * p.train_samples) for p in points
          if p.params["total"] > 0 and p.train_samples > 0 and p.train_flops > 0]
    optimal = fit.compute_optimal(float(np.median(ks)) if ks else None)

    def interval(name: str) -> Interval | None:
        found = fit.interval(name)
        return None if found is None else Interval(lo=found[0], hi=found[1])

    return JointSummary(
        e=fit.e, a=fit.a, alpha=fit.alpha, b=fit.b, beta=fit.beta, e_ci=interval("e"),
        alpha_ci=interval("alpha"), beta_ci=interval("beta"), n_points=fit.n_points,
        rms_log_residual=fit.rms_log_residual,
        compute_optimal=None if optimal is None else ComputeOptimalSummary(
            a_n=optimal.a_n, b_d=optimal.b_d, g=optimal.g, k=optimal.k),
    )


def joint_report(points: Sequence[PointData], *, n_boot: int = 0, seed: int = 0
                 ) -> tuple[JointSummary | None, str | None]:
    usable = [p for p in points if p.loss is not None]
    try:
        fit = fit_joint([p.params["total"] for p in usable], [p.train_samples for p in usable],
                        [p.loss for p in usable], n_boot=n_boot, seed=seed)
    except FitError as err:
        return None, str(err)
    return _joint_summary(fit, usable), None


# ----------------------------------------------------------------------------------- report


def point_rows(points: Sequence[PointData]) -> list[PointRow]:
    return [PointRow(point_id=p.point_id, overrides=p.overrides, n_runs=p.n_runs, n_final=p.n_final,
                     train_samples=p.train_samples, params=p.params, train_flops=p.train_flops,
                     quality=p.quality, loss=p.loss) for p in points]


@dataclass(frozen=True)
class Study:
    """A workload report and the fits behind it (with their bootstrap samples, for predictions)."""

    report: WorkloadReport
    fits: dict[str, list[PowerLawFit | None]]  # axis name -> one per slice, as in report.axes

    def headline(self, axis: str) -> PowerLawFit | None:
        for entry in self.report.axes:
            if entry.axis == axis and entry.headline is not None:
                return self.fits[axis][entry.headline]
        return None


def build_study(records: Sequence[RunResult], *, label: str = "all", n_boot: int = DEFAULT_BOOT,
                joint_boot: int = 100, seed: int = 0, level: float = DEFAULT_LEVEL,
                axes: Sequence[Axis] = AXES) -> Study:
    """The scaling study of one workload's records (any number of systems and seeds).

    Raises FitError only when `records` is empty or mixes workloads; a fit that the data cannot
    support is reported in its slice (``error``), never raised.
    """
    points = aggregate_points(records)
    first = records[0]
    floors = [p.bayes_loss for p in points if p.bayes_loss is not None]
    joint, joint_error = joint_report(points, n_boot=joint_boot, seed=seed)
    reports, fits = [], {}
    for axis in axes:
        entry, fits[axis.name] = axis_report(points, axis, n_boot=n_boot, seed=seed, level=level)
        reports.append(entry)
    report = WorkloadReport(
        label=label, workload_id=first.workload_id, workload_version=first.workload_version,
        metric=first.quality.metric, loss_definition=LOSS_DEFINITION[first.quality.metric], n_runs=len(records),
        points=point_rows(points), bayes_floor=float(np.mean(floors)) if floors else None,
        axes=reports, joint=joint, joint_error=joint_error,
    )
    return Study(report, fits)


def workload_report(records: Sequence[RunResult], **kwargs: object) -> WorkloadReport:
    """The study's report alone (see :func:`build_study` for the arguments): what `recscale report` prints."""
    return build_study(records, **kwargs).report  # type: ignore[arg-type]


def headline_fit(report: WorkloadReport, axis: str) -> PowerLawSummary | None:
    """The leaderboard's fit of an axis: its headline slice, or None."""
    for entry in report.axes:
        if entry.axis == axis and entry.headline is not None:
            return entry.slices[entry.headline].fit
    return None
