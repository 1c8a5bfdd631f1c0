"""The joint law on a data set's N x D grid, the compute-optimal allocation it implies, and the IsoFLOP frontier.

The grid is every point of the data set's workloads that sweep ``data.fraction`` over at least
MIN_DATA_SIZES sizes (a data sweep at one model is one row of the grid; a workload that sweeps data
and model together is a grid by itself): the component sweeps are left out, at one data size or at
two (a component compared at two data sizes is no data curve), since their changes of architecture
(another interaction, a deeper MLP) are not one N. The law is fitted with N as total parameters, and also as
embedding and as dense parameters where the grid has 3 or more distinct values of them
(:mod:`harness.score.fits.joint`); each fit's bootstrap resamples the grid's points (each the mean of
its runs), the same resamples as the power-law intervals use for their points:

* resampling the points keeps a point's seeds together, so the seed noise reaches the intervals
  through the points' means; resampling the runs inside a point as well would count it twice
  (Davison & Hinkley 1997, section 3.8), and resampling only the runs would give single-run points no
  spread and leave out the lack of fit, which is what tells a law from a curve through the points;
* the pooled seed noise is reported beside the fit's residual, so a reader sees which one dominates.

The allocation (:mod:`harness.score.fits.allocation`) uses ``C = k N^p D`` fitted to the grid's
recorded training FLOPs; the IsoFLOP frontier (:mod:`harness.score.fits.isoflop`) measures the split
without the law, on the same resamples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from harness.score.fits.allocation import (
    MIN_COST_EXPONENT,
    FlopsRelation,
    fit_flops_relation,
    mean_returns,
    optimum,
    split_exponents,
)
from harness.score.fits.isoflop import IsoflopFrontier, isoflop_frontier
from harness.score.fits.joint import JointFit, extrapolate_joint, fit_joint, usable_counts
from harness.score.fits.points import COMPONENTS, PointData, seed_noise
from harness.score.fits.power_law import FitError
from harness.score.fits.records import FitSettings, NoInterval
from harness.score.fits.summary import round_estimate, rounded_interval, significant, summarize_joint
from harness.score.study.axes import MIN_DATA_SIZES, WorkloadData, is_data_curve
from harness.score.study.records import (
    Allocation,
    Estimate,
    FlopsRelationRecord,
    IsoflopBucketRow,
    IsoflopRecord,
    JointExtrapolationRecord,
    JointParams,
    OptimalAt,
    StudyJoint,
)

JOINT_BOOT = 400  # at most this many resamples per joint fit: each is an L-BFGS-B run (x3: conditioning check)
MULTIPLES = (10.0, 100.0)  # predictions at these multiples of the largest compute measured
PARAMS: tuple[JointParams, ...] = ("total", "embedding", "dense")
PARTS = {"total": COMPONENTS, "embedding": ("embedding",), "dense": ("bottom_mlp", "interaction", "top_mlp")}
PROPORTIONAL = 0.05  # N as a component whose log differs from log total N by a constant within this: the same fit


@dataclass(frozen=True)
class JointStudy:
    """A data set's joint fits as records, and what the plots need (the fits, the grid, the FLOPs relation)."""

    records: list[StudyJoint]
    note: str
    points: list[PointData]
    fits: dict[str, JointFit]
    relation: FlopsRelation | None
    isoflop: IsoflopFrontier | None


def estimate(value: float, found: tuple[float, float] | NoInterval) -> Estimate:
    """A derived number as a record: rounded as fitted values are (RULES.md SCORE-8), with its interval or why none."""
    if isinstance(found, tuple):
        return Estimate(value=round_estimate(value, found), ci=rounded_interval(found), no_interval=None)
    return Estimate(value=significant(value), ci=None, no_interval=found)


def _of_rows(fit: JointFit, values: Callable[[NDArray], NDArray]) -> Estimate:
    """values(parameter rows) for the fit and over its resamples."""
    value = float(values(fit.params_row()[None, :])[0])
    if fit.resamples is None:
        return estimate(value, "not_requested")
    return estimate(value, fit.resamples.interval_of(values, value))


def grid_points(workloads: Sequence[WorkloadData]) -> tuple[list[PointData], list[str]]:
    """The points of the workloads that sweep data.fraction over MIN_DATA_SIZES sizes or more (ids
    workload/point) with a final loss; their workloads."""
    chosen = [w for w in workloads if is_data_curve(w)]
    points = [replace(p, point_id=f"{w.workload_id}/{p.point_id}") for w in chosen for p in w.points
              if p.loss is not None]
    return points, [w.workload_id for w in chosen]


def _allocation(fit: JointFit, relation: FlopsRelation, largest: float) -> Allocation:
    p = relation.p
    at = []
    for multiple in MULTIPLES:
        compute = multiple * largest
        n_opt, d_opt, _ = optimum(fit.params_row(), compute, relation)
        at.append(OptimalAt(multiple=multiple, compute=significant(compute), n_opt=significant(float(n_opt)),
                            d_opt=significant(float(d_opt)),
                            loss=_of_rows(fit, lambda rows, c=compute: optimum(rows, c, relation)[2])))
    return Allocation(
        flops=FlopsRelationRecord(k=significant(relation.k), p=significant(relation.p),
                                  max_rel_residual=significant(relation.max_rel_residual, 3)),
        a=_of_rows(fit, lambda rows: split_exponents(rows, p)[0]),
        b=_of_rows(fit, lambda rows: split_exponents(rows, p)[1]),
        a_plus_b=_of_rows(fit, lambda rows: sum(split_exponents(rows, p))),
        largest_compute=largest, at=at)


def _interval_estimate(frontier: IsoflopFrontier, name: str) -> Estimate:
    value = frontier.a + frontier.b if name == "a_plus_b" else getattr(frontier, name)
    return estimate(value, frontier.interval_or_why(name))


def _isoflop(points: Sequence[PointData], counts: NDArray, settings: FitSettings
             ) -> tuple[IsoflopRecord, IsoflopFrontier | None]:
    try:
        frontier = isoflop_frontier([p.params["total"] for p in points], [p.train_samples for p in points],
                                    [p.train_flops for p in points], [p.loss for p in points], counts=counts,
                                    level=settings.level)
    except FitError as err:
        return IsoflopRecord(buckets=[], a=None, b=None, a_plus_b=None, error=str(err)), None
    buckets = [IsoflopBucketRow(point_ids=[points[i].point_id for i in b.members], compute=significant(b.compute),
                                n_opt=None if b.n_opt is None else significant(b.n_opt),
                                d_opt=None if b.d_opt is None else significant(b.d_opt), note=b.note)
               for b in frontier.buckets]
    return IsoflopRecord(buckets=buckets, a=_interval_estimate(frontier, "a"), b=_interval_estimate(frontier, "b"),
                         a_plus_b=_interval_estimate(frontier, "a_plus_b"), error=None), frontier


def _extrapolation(n: list[float], d: list[float], loss: list[float], ids: list[str]
                   ) -> tuple[JointExtrapolationRecord | None, str]:
    found, note = extrapolate_joint(n, d, loss)
    if found is None:
        return None, note
    return JointExtrapolationRecord(
        held_point_ids=[ids[i] for i in found.held], observed=list(found.observed),
        predicted=[significant(v) for v in found.predicted], rel_error=[significant(v) for v in found.rel_error],
        max_abs_rel_error=significant(found.max_abs_rel_error)), ""


def _co_varying(points: Sequence[PointData], params: JointParams) -> list[str]:
    return [c for c in COMPONENTS if c not in PARTS[params] and len({p.params[c] for p in points}) > 1]


@dataclass(frozen=True)
class _Grid:
    points: list[PointData]
    workloads: list[str]
    kinds: list[str]
    settings: FitSettings


def _joint(grid: _Grid, params: JointParams) -> tuple[StudyJoint, JointFit | None]:
    points, settings = grid.points, grid.settings
    n = [float(p.params[params]) for p in points]
    d = [float(p.train_samples) for p in points]
    loss = [float(p.loss) for p in points]  # type: ignore[arg-type]
    ids = [p.point_id for p in points]
    record = StudyJoint(params=params, workloads=grid.workloads, point_ids=ids, co_varying=_co_varying(points, params),
                        kinds=grid.kinds, fit=None, error=None, seed_noise=None, ranges=None, return_n=None,
                        return_d=None, extrapolation=None, extrapolation_note="", allocation=None, allocation_note="",
                        isoflop=None)
    noise = seed_noise(points)
    record.seed_noise = None if noise is None else significant(noise, 3)
    try:
        fit = fit_joint(n, d, loss, n_boot=min(settings.n_boot, JOINT_BOOT), seed=settings.seed, level=settings.level)
        relation = fit_flops_relation(n, d, [p.train_flops for p in points])
    except FitError as err:
        record.error = str(err)
        return record, None
    record.fit = summarize_joint(fit, relation.k, relation.p)
    if fit.status != "ok":
        record.allocation_note = "the joint fit is not a law: no allocation is derived from it"
        return record, fit
    n_range, d_range = (min(n), max(n)), (min(d), max(d))
    record.ranges = [*n_range, *d_range]
    record.return_n = _of_rows(fit, lambda rows: mean_returns(rows, n_range, d_range)[0])
    record.return_d = _of_rows(fit, lambda rows: mean_returns(rows, n_range, d_range)[1])
    record.extrapolation, record.extrapolation_note = _extrapolation(n, d, loss, ids)
    if relation.p < MIN_COST_EXPONENT:
        record.allocation_note = (f"training FLOPs hardly grow with these parameters (C = k N^p D with p = "
                                  f"{relation.p:.3g}): under a FLOP budget the best N is as many as memory allows; "
                                  "no compute-optimal split")
    else:
        record.allocation = _allocation(fit, relation, max(p.train_flops for p in points))
    return record, fit


def _not_moved(points: Sequence[PointData], params: JointParams) -> str:
    """Why N as this component needs no fit of its own ('' when the grid moves it on its own)."""
    values = [p.params[params] for p in points]
    if len(set(values)) < 3:
        return f"{len(set(values))} distinct value(s): the grid does not move them"
    if min(values) <= 0:
        return "some points have none"
    offsets = [math.log(v / p.params["total"]) for v, p in zip(values, points, strict=True)]
    if max(offsets) - min(offsets) <= PROPORTIONAL:
        return "proportional to the total across the grid: the same fit as N = total"
    return ""


def study_joint(workloads: Sequence[WorkloadData], settings: FitSettings) -> JointStudy:
    """The joint fits of a data set (total, and embedding / dense parameters where the grid moves them)."""
    points, names = grid_points(workloads)
    if not points:
        return JointStudy([], f"No workload of this data set sweeps data.fraction over {MIN_DATA_SIZES} or more sizes: "
                          "no N x D grid, no joint fit.",
                          [], {}, None, None)
    kinds = sorted({w.kinds[p.point_id.split("/", 1)[1]] for w in workloads for p in points
                    if p.point_id.startswith(f"{w.workload_id}/")})
    grid = _Grid(points, names, kinds, settings)
    records, fits, skipped = [], {}, []
    for params in PARAMS:
        why = "" if params == "total" else _not_moved(points, params)
        if why:
            skipped.append(f"{params} parameters ({why})")
            continue
        record, fit = _joint(grid, params)
        records.append(record)
        if fit is not None:
            fits[params] = fit
    note = (f"The grid: the {len(points)} points of {', '.join(names)}, {len({p.params['total'] for p in points})} "
            f"model size(s) x {len({p.train_samples for p in points})} data size(s) (every point of the workloads that "
            f"sweep data.fraction over {MIN_DATA_SIZES} or more sizes).")
    if skipped:
        note += " N not fitted as " + " or ".join(skipped) + "."
    relation, frontier = None, None
    total = next((r for r in records if r.params == "total"), None)
    if total is not None and total.fit is not None:
        relation = fit_flops_relation([p.params["total"] for p in points], [p.train_samples for p in points],
                                      [p.train_flops for p in points])
        counts = usable_counts(np.array([p.params["total"] for p in points], dtype=np.float64),
                               np.array([p.train_samples for p in points], dtype=np.float64),
                               min(settings.n_boot, JOINT_BOOT), settings.seed)
        total.isoflop, frontier = _isoflop(points, counts, settings)
    return JointStudy(records, note, points, fits, relation, frontier)
