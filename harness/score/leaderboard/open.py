"""The open division's boards: scaling curves ranked by the quality they predict (RULES.md SCORE-4).

Each (submission, system, workload) has its workload fits (:mod:`harness.score.fits.workload`);
it is ranked by the quality its data-scaling curve (the headline law of the data axis: the
largest model) predicts at a data budget common to the workload, with bootstrap intervals; the
compute-scaling prediction is shown beside it. A curve whose fit is not a law predicts nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import FitSettings, SliceFit, WorkloadFits
from harness.score.fits.summary import round_estimate, round_outward, significant, summarize_fit
from harness.score.fits.workload import FittedWorkload, fit_workload, headline_slice
from harness.score.inputs import Submission
from harness.score.leaderboard.closed import rank_rows, stack_of
from harness.score.leaderboard.records import OpenBoard, OpenRow, Prediction
from recscale.metrics import metric as metric_named
from recscale.records import RunResult


@dataclass(frozen=True)
class Entry:
    """One scaling curve: a submission's runs of one workload on one system, and their fits."""

    submission: Submission
    system: str
    records: list[RunResult]
    fitted: FittedWorkload

    @property
    def label(self) -> str:
        return f"{self.submission.name} · {self.system}"


def build_entries(submissions: Sequence[Submission], settings: FitSettings) -> list[Entry]:
    entries = []
    for sub in submissions:
        by_key: dict[tuple[str, int, str], list[RunResult]] = defaultdict(list)
        for record in sub.records:
            by_key[(record.workload_id, record.workload_version, record.system)].append(record)
        for (_, _, system), records in sorted(by_key.items()):
            fitted = fit_workload(records, settings, label=f"{sub.name} · {system}", joint_boot=0)
            entries.append(Entry(sub, system, records, fitted))
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
    quality = metric_named(metric)
    band = fit.predict_interval_or_why(budget)
    value = quality.from_loss(float(fit.predict(budget)))
    lo = hi = None
    if isinstance(band, tuple):
        ends = (min(map(quality.from_loss, band)), max(map(quality.from_loss, band)))
        (lo, hi), value = round_outward(*ends), round_estimate(value, ends)
    else:
        value = round_estimate(value)
    return Prediction(budget=budget, quality=value, lo=lo, hi=hi,
                      no_interval=None if isinstance(band, tuple) else band,
                      extrapolated_decades=significant(math.log10(budget / fit.x_max)))


def why_no_law(slices: Sequence[SliceFit]) -> str:
    """Why no slice of an axis has a fit that is a law (the last slice's reason: the largest other axis)."""
    reasons = [s.error or (s.fit.status_note if s.fit else "") for s in slices if s.fit is None or not s.fit.is_law]
    reasons = [r for r in reasons if r]
    return reasons[-1] if reasons else "no points with a final quality"


def _row(entry: Entry, data_budget: float, compute_budget: float) -> tuple[float | None, OpenRow]:
    record = entry.fitted.record
    metric = metric_named(record.metric)
    data_fit, compute_fit = entry.fitted.headline("data"), entry.fitted.headline("compute")
    data_axis = next(a for a in record.axes if a.axis == "data")
    compute_axis = next(a for a in record.axes if a.axis == "compute")
    at_data = predict(data_fit, data_budget, record.metric)
    row = OpenRow(
        rank=None, submission=entry.submission.name, submitter=entry.submission.manifest.submitter,
        division=entry.submission.manifest.division, system=entry.system,
        stack=stack_of(entry.submission.systems.get(entry.system)), model=_model_description(entry.records),
        curve_label=headline.slice_label if (headline := headline_slice(record, "data")) else "",
        data_fit=None if data_fit is None else summarize_fit(data_fit),
        data_error=None if data_fit else why_no_law(data_axis.slices),
        compute_fit=None if compute_fit is None else summarize_fit(compute_fit),
        compute_error=None if compute_fit else why_no_law(compute_axis.slices),
        at_data_budget=at_data, at_compute_budget=predict(compute_fit, compute_budget, record.metric),
        bayes_floor=None if record.bayes_floor is None else metric.from_loss(record.bayes_floor),
        note="" if at_data else "not ranked: no data-scaling law",
    )
    # rank on the predicted loss (lower is better) whatever the metric
    return (None if at_data is None else metric.to_loss(at_data.quality)), row


def open_boards(entries: Sequence[Entry], budget_decades: float) -> list[OpenBoard]:
    """One board per workload: every entry's curve, ranked by its predicted quality at the data budget."""
    groups: dict[tuple[str, int], list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.fitted.record.workload_id, entry.fitted.record.workload_version)].append(entry)
    boards = []
    scale = 10.0**budget_decades
    for (workload, version), members in sorted(groups.items()):
        metric = members[0].fitted.record.metric
        data_budget = max(int(r.spec["data"]["train_samples"]) for e in members for r in e.records) * scale
        compute_budget = max(p.train_flops for e in members for p in e.fitted.record.points) * scale
        boards.append(OpenBoard(
            workload_id=workload, workload_version=version, metric=metric,
            loss_definition=metric_named(metric).loss_definition, data_budget=data_budget,
            compute_budget=compute_budget,
            budget_rule=f"data: the workload's full training set x 10^{budget_decades:g}; compute: the largest "
                        f"training FLOPs of any entry x 10^{budget_decades:g}",
            rows=rank_rows([_row(entry, data_budget, compute_budget) for entry in members]),
        ))
    return boards


def workload_fits_of(entries: Sequence[Entry]) -> list[WorkloadFits]:
    return [e.fitted.record for e in sorted(entries, key=lambda e: (e.fitted.record.workload_id, e.label))]
