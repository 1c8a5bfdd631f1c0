"""The records of the study report (`recscale report`): report.json, schemas/report.schema.json.

Only pydantic here (no numpy/scipy), so `harness.schemas` imports it cheaply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.score.fits.records import FitSettings, MetricName, Out, PointRow, PowerLawSummary, SliceFit

STUDY_SCHEMA_VERSION = 2
StudyAxisName = Literal["data", "params", "embedding", "bottom_mlp", "top_mlp", "interaction", "compute"]


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


class StudyReport(Out):
    """What `recscale report` writes to report.json: the scaling study of one submission."""

    schema_version: Literal[2] = STUDY_SCHEMA_VERSION
    recscale_version: str
    submission: str = Field(description="the submission folder's name")
    submitter: str
    division: str
    checked: bool = Field(description="the submission passed `recscale check` (false: --no-check)")
    settings: FitSettings
    skipped_records: list[str] = Field(description="result files that could not be read (only with --no-check)")
    groups: list[StudyGroup]
    plots: list[str] = Field(description="plot files, relative to the output folder")
