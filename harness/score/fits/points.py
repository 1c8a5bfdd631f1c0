"""One workload's run records as points: per point the mean final quality of its runs, as a loss.

A point's y is the mean final quality over its runs (diverged runs, ``final`` null, are left
out), turned into the lower-is-better loss its metric defines (:mod:`recscale.metrics`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.score.fits.power_law import FitError
from harness.score.fits.records import PointRow
from recscale.metrics import metric as metric_named
from recscale.records import RunResult

COMPONENTS = ("embedding", "bottom_mlp", "interaction", "top_mlp")
DENSE = ("bottom_mlp", "interaction", "top_mlp")


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
    run_losses: tuple[float, ...] = ()  # the final loss of each run that has one (the seed spread)


def _params(record: RunResult) -> dict[str, int]:
    counts = record.params.model_dump()
    counts["dense"] = sum(counts[name] for name in DENSE)
    return counts


def _value(metrics: object, name: str) -> float:
    return float(getattr(metrics, name))


def aggregate_points(records: Sequence[RunResult]) -> list[PointData]:
    """Group one workload's runs by point (sorted by point id); y = mean final loss of the runs."""
    if not records:
        raise FitError("no run records to aggregate")
    workloads = {(r.workload_id, r.workload_version) for r in records}
    if len(workloads) > 1:
        raise FitError(f"records of one workload expected, got {sorted(workloads)}")
    name = records[0].quality.metric
    metric = metric_named(name)
    by_point: dict[str, list[RunResult]] = defaultdict(list)
    for record in records:
        by_point[record.point_id].append(record)
    points = []
    for point_id in sorted(by_point):
        runs = sorted(by_point[point_id], key=lambda r: (r.system, r.seed))
        finals = [r for r in runs if r.final is not None and math.isfinite(_value(r.final, name))]
        quality = float(np.mean([_value(r.final, name) for r in finals])) if finals else None
        bayes = [_value(r.bayes, name) for r in runs if r.bayes is not None]
        flops = [r.train_flops for r in finals] or [r.train_flops for r in runs]
        points.append(PointData(
            point_id=point_id, overrides=dict(runs[0].overrides), n_runs=len(runs), n_final=len(finals),
            train_samples=runs[0].train_samples, params=_params(runs[0]), train_flops=float(np.mean(flops)),
            quality=quality, loss=None if quality is None else metric.to_loss(quality),
            bayes_loss=metric.to_loss(float(np.mean(bayes))) if bayes else None,
            run_losses=tuple(metric.to_loss(_value(r.final, name)) for r in finals),
        ))
    return points


def point_rows(points: Sequence[PointData]) -> list[PointRow]:
    return [PointRow(point_id=p.point_id, overrides=p.overrides, n_runs=p.n_runs, n_final=p.n_final,
                     train_samples=p.train_samples, params=p.params, train_flops=p.train_flops,
                     quality=p.quality, loss=p.loss) for p in points]


def seed_noise(points: Sequence[PointData]) -> float | None:
    """Pooled relative standard deviation of one run's loss about its point's mean (points with 2+ runs), or None."""
    squares, dof = 0.0, 0
    for point in points:
        runs = np.asarray(point.run_losses, dtype=np.float64)
        if runs.size >= 2:
            squares += float(np.sum((runs / runs.mean() - 1.0) ** 2))
            dof += runs.size - 1
    return math.sqrt(squares / dof) if dof else None


def mean_floor(points: Sequence[PointData]) -> float | None:
    """The mean Bayes-optimal loss of the points that know theirs (synthetic data), or None."""
    values = [p.bayes_loss for p in points if p.bayes_loss is not None]
    return float(np.mean(values)) if values else None
