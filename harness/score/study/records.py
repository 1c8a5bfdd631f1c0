"""The records of the study report (`recscale report`): report.json, schemas/report.schema.json.

Only pydantic here (no numpy/scipy), so `harness.schemas` imports it cheaply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.score.fits.records import (
    FitSettings,
    FitStatus,
    Interval,
    JointSummary,
    MetricName,
    NoInterval,
    Out,
    PointRow,
    PowerLawSummary,
    SliceFit,
)

STUDY_SCHEMA_VERSION = 3
StudyAxisName = Literal["data", "params", "embedding", "bottom_mlp", "top_mlp", "interaction", "compute"]
JointParams = Literal["total", "embedding", "dense"]


class StudyCurve(Out):
    """One fitted curve of an axis: a workload's slice, or a frontier pooled over the data set's workloads."""

    workloads: list[str] = Field(description="workloads whose points lie on the curve")
    family: str = Field(description="the interaction kind of every point on an interaction curve, else ''")
    headline: bool = Field(description="the slice at the largest value of the other axis (what a paper quotes)")
    curve: SliceFit
    bayes_floor: float | None = Field(description="Bayes-optimal loss of the curve's eval set (mean over points)")
    floor_gap: float | None = Field(description="fitted c minus the Bayes floor (c above the floor: positive)")


class StudyAxis(Out):
    axis: StudyAxisName
    x_label: str
    how: str = Field(description="which records the axis holds and what is fixed along its curves")
    curves: list[StudyCurve]
    plot: str | None = Field(description="plot stem under plots/ (.svg and .png), when drawn")


class AxisFinding(Out):
    """The curve the summary quotes for an axis (and interaction kind): one line of the ranking."""

    axis: StudyAxisName
    family: str
    label: str
    curve: int | None = Field(description="index into the axis's curves; null when none could be fitted")
    fit: PowerLawSummary | None = Field(description="the quoted curve's fit, a law (null: no curve's fit is one)")
    floor_gap: float | None
    confounded: list[str] = Field(description="other components that move along the quoted curve")
    decades: float | None = Field(description="log10(x_max / x_min) of the quoted curve")
    error: str | None = Field(description="why no curve of this axis has a fit that is a law")
    return_ci: Interval | None = Field(None, description="bootstrap interval of the fit's return per decade")
    return_no_interval: NoInterval | None = Field(None, description="why the return per decade has no interval")


class Estimate(Out):
    """A derived number, its bootstrap interval, or why it has none."""

    value: float
    ci: Interval | None
    no_interval: NoInterval | None


class FlopsRelationRecord(Out):
    k: float = Field(description="C = k N^p D, fitted to the grid's recorded training FLOPs (least squares in logs)")
    p: float = Field(description="how training FLOPs per sample grow with N (1: FLOPs ~ N D)")
    max_rel_residual: float = Field(description="max |k N^p D / C - 1| over the grid's points")


class OptimalAt(Out):
    """The compute-optimal model the joint law predicts at a multiple of the largest compute measured."""

    multiple: float
    compute: float
    n_opt: float
    d_opt: float
    loss: Estimate


class Allocation(Out):
    """N_opt ~ C^a, D_opt ~ C^b from the joint law, for C = k N^p D (p a + b = 1)."""

    flops: FlopsRelationRecord
    a: Estimate = Field(description="a = beta / (alpha + p beta)")
    b: Estimate = Field(description="b = alpha / (alpha + p beta)")
    a_plus_b: Estimate = Field(description="1 exactly when p = 1 (FLOPs ~ N D)")
    largest_compute: float = Field(description="largest training FLOPs among the grid's points")
    at: list[OptimalAt]


class IsoflopBucketRow(Out):
    point_ids: list[str]
    compute: float = Field(description="geometric mean of the bucket's training FLOPs")
    n_opt: float | None = Field(description="the vertex of the parabola of L in log N, inside the bucket")
    d_opt: float | None
    note: str


class IsoflopRecord(Out):
    """The compute-optimal frontier measured from IsoFLOP profiles (Chinchilla's approach 2), no law assumed."""

    buckets: list[IsoflopBucketRow]
    a: Estimate | None
    b: Estimate | None
    a_plus_b: Estimate | None
    error: str | None = Field(description="why the grid supports no frontier")


class JointExtrapolationRecord(Out):
    held_point_ids: list[str] = Field(description="the points of largest N x D, held out of the refit")
    observed: list[float]
    predicted: list[float]
    rel_error: list[float]
    max_abs_rel_error: float


class StudyJoint(Out):
    """The joint law L(N, D) = E + A/N^alpha + B/D^beta on the data set's N x D grid, for one meaning of N."""

    params: JointParams = Field(description="what N counts: total, embedding or dense parameters")
    workloads: list[str]
    point_ids: list[str] = Field(description="the grid's points (workload/point)")
    co_varying: list[str] = Field(description="other components that change across the grid")
    kinds: list[str] = Field(description="interaction kinds among the grid's points")
    fit: JointSummary | None
    error: str | None = Field(description="why there is no fit")
    seed_noise: float | None = Field(description="pooled relative standard deviation of a run's loss within a point "
                                                 "(points with 2+ runs); compare with the fit's rms residual")
    ranges: list[float] | None = Field(description="N_min, N_max, D_min, D_max of the grid")
    return_n: Estimate | None = Field(description="the law's mean drop of L per 10x N over the grid's N range")
    return_d: Estimate | None = Field(description="the law's mean drop of L per 10x D over the grid's D range")
    extrapolation: JointExtrapolationRecord | None
    extrapolation_note: str
    allocation: Allocation | None
    allocation_note: str = Field(description="why there is no allocation, or ''")
    isoflop: IsoflopRecord | None = Field(description="the empirical frontier (N = total parameters only)")


class FloorStepRow(Out):
    n_distinct: int
    x_max: float
    decades: float
    status: FitStatus | None = Field(description="null: no fit (error says why)")
    c: float | None
    c_ci: Interval | None
    no_interval: NoInterval | None
    gap: float | None = Field(description="(c - Bayes) / Bayes")
    error: str | None


class PlantedFloor(Out):
    """Does the data curve's fitted floor approach the generator's Bayes-optimal loss as the range grows?"""

    curve: str = Field(description="the data curve refitted (the quoted one)")
    bayes: float
    tolerance: float
    steps: list[FloorStepRow] = Field(description="refits on growing prefixes of the curve's range")
    verdict: Literal["pinned", "above", "below", "cannot_pin"]
    text: str
    plot: str | None


class Verdict(Out):
    """The study's answer to one question, or 'undecided' when the intervals do not separate the answers."""

    question: Literal["Q1", "Q2", "Q3", "Q4"]
    asks: str
    answer: str
    decided: bool
    text: str = Field(description="the answer in words, with the numbers and intervals it rests on")


class WorkloadPoints(Out):
    workload_id: str
    workload_version: int
    points: list[PointRow]


class StudyGroup(Out):
    """Everything measured on one data set (the records' data spec, the fraction aside)."""

    label: str
    data: dict[str, object] = Field(description="the shared data spec (without the fraction)")
    workloads: list[str]
    systems: list[str] = Field(description="systems whose runs are pooled (per point: mean over all runs)")
    metric: MetricName
    loss_definition: str
    n_runs: int
    bayes_floor: float | None
    axes: list[StudyAxis]
    ranking: list[AxisFinding] = Field(description="quoted curves, largest return per decade first")
    summary: list[str] = Field(description="the generated findings, in words with numbers")
    notes: list[str] = Field(description="what the data could not say (axes not swept, too few points)")
    points: list[WorkloadPoints]
    overview_plot: str | None
    verdicts: list[Verdict] = Field(description="Q1-Q4: data vs parameters, which component, the floor, the split")
    joint: list[StudyJoint] = Field(description="the joint law on the N x D grid, one per meaning of N fitted")
    joint_note: str = Field(description="which points make the grid, or why there is none")
    planted_floor: PlantedFloor | None = Field(description="synthetic data with a data curve only")
    joint_plot: str | None


class StudyReport(Out):
    """What `recscale report` writes to report.json: the scaling study of one submission."""

    schema_version: Literal[3] = STUDY_SCHEMA_VERSION
    recscale_version: str
    submission: str = Field(description="the submission folder's name")
    submitter: str
    division: str
    checked: bool = Field(description="the submission passed `recscale check` (false: --no-check)")
    settings: FitSettings
    skipped_records: list[str] = Field(description="result files that could not be read (only with --no-check)")
    groups: list[StudyGroup]
    plots: list[str] = Field(description="plot files, relative to the output folder")
