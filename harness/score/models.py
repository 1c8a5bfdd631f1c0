"""The scorer's records: fit summaries, the study report of one workload, and the leaderboard.

Only pydantic here (no numpy/scipy), so `harness.schemas` can import it cheaply;
``schemas/leaderboard.schema.json`` is generated from :class:`Leaderboard`.
Losses are "lower is better" numbers: the metric itself for NE and log loss, ``1 - AUC`` for AUC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LEADERBOARD_SCHEMA_VERSION = 1


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(Out):
    lo: float
    hi: float


class ExtrapolationSummary(Out):
    fit_x_max: float = Field(description="largest x of the refit (the held-out points lie above it)")
    held_x: list[float]
    observed: list[float] = Field(description="observed loss at each held-out x (mean of its points)")
    predicted: list[float]
    rel_error: list[float] = Field(description="(predicted - observed) / observed")
    max_abs_rel_error: float


class PowerLawSummary(Out):
    """``L(x) = a * x^-b + c`` with percentile bootstrap intervals."""

    a: float
    b: float
    c: float = Field(description="the irreducible term: L as x grows without bound")
    a_ci: Interval | None
    b_ci: Interval | None
    c_ci: Interval | None
    level: float = Field(description="confidence level of the intervals")
    n_points: int
    n_distinct: int
    x_min: float
    x_max: float
    rms_rel_residual: float = Field(description="root mean square of (fit - observed) / observed")
    b_at_bound: bool = Field(description="the exponent hit its upper bound: the fit is not a usable law")
    n_boot: int
    n_boot_valid: int = Field(description="resamples with at least 3 distinct x (the others cannot be fitted)")
    extrapolation: ExtrapolationSummary | None
    extrapolation_note: str = ""
    notes: list[str] = Field(description="caveats: exactly determined, exponent at its bound, few resamples")
    return_per_decade: float = Field(description="mean drop of the fitted L per 10x x over x_min..x_max")
    return_per_decade_at_max: float = Field(description="local drop of the fitted L per 10x x at x_max")


class SliceFit(Out):
    """One curve along an axis, the other axes held at one value."""

    slice_label: str
    slice_value: float | None
    co_varying: list[str] = Field(description="other components that change along this curve (confounders)")
    x: list[float]
    loss: list[float]
    point_ids: list[str]
    fit: PowerLawSummary | None
    error: str | None = Field(description="why there is no fit")


class AxisReport(Out):
    axis: str
    x_label: str
    headline: int | None = Field(description="index of the slice the leaderboard quotes (largest other axis)")
    slices: list[SliceFit]


class ComputeOptimalSummary(Out):
    a_n: float = Field(description="N_opt ~ C^a_n, a_n = beta / (alpha + beta)")
    b_d: float = Field(description="D_opt ~ C^b_d, b_d = alpha / (alpha + beta)")
    g: float = Field(description="N_opt = g (C/k)^a_n, D_opt = (C/k)^b_d / g")
    k: float | None = Field(description="FLOPs per parameter per training sample (median over points)")


class JointSummary(Out):
    """``L(N, D) = E + A / N^alpha + B / D^beta`` (Chinchilla approach 3)."""

    e: float
    a: float
    alpha: float
    b: float
    beta: float
    e_ci: Interval | None
    alpha_ci: Interval | None
    beta_ci: Interval | None
    n_points: int
    rms_log_residual: float
    compute_optimal: ComputeOptimalSummary | None


class PointRow(Out):
    point_id: str
    overrides: dict[str, object]
    n_runs: int
    n_final: int = Field(description="runs with a final quality (the others diverged)")
    train_samples: int
    params: dict[str, int]
    train_flops: float
    quality: float | None = Field(description="mean final quality of the runs (the workload's metric)")
    loss: float | None


class WorkloadReport(Out):
    """Scaling study of one workload's records: one fit per axis and slice, the joint law, the floor."""

    label: str = Field(description="whose records: submission and system, or 'all'")
    workload_id: str
    workload_version: int
    metric: Literal["ne", "auc", "logloss"]
    loss_definition: str
    n_runs: int
    points: list[PointRow]
    bayes_floor: float | None = Field(description="Bayes-optimal loss of the eval set (synthetic data)")
    axes: list[AxisReport]
    joint: JointSummary | None
    joint_error: str | None


# ------------------------------------------------------------------------------- leaderboard


class Stack(Out):
    accelerator: str
    framework: str
    embedding_backend: str
    device: str
    nodes: str
    host_processor: str


class SubmissionStatus(Out):
    path: str
    submitter: str
    division: str
    scored: bool
    reason: str = Field(description="why it was skipped (checker findings), or ''")
    n_runs: int


class PointTime(Out):
    point_id: str
    n_runs: int
    n_success: int
    time_to_target_s: float | None = Field(description="aggregated time to target (SCORE-1); null: not reached")
    times_s: list[float] = Field(description="time to target of the successful runs, sorted")
    pass_time_s: float | None = Field(description="aggregated time of the whole pass (SCORE-2)")
    rule: str = Field(description="olympic (3 or more runs) or mean (1 or 2 runs)")
    note: str = ""


class ClosedRow(Out):
    rank: int | None
    submission: str
    submitter: str
    system: str
    stack: Stack
    points_total: int = Field(description="points of the workload's sweep")
    points_complete: int = Field(description="points with the runs the workload requires")
    points_reached: int = Field(description="points whose aggregated time to target exists")
    sweep_time_s: float | None = Field(description="time to complete the sweep: the sum of the points' aggregated "
                                                   "pass times (SCORE-2); null if a point lacks runs")
    per_point: list[PointTime]
    note: str = ""


class ClosedBoard(Out):
    workload_id: str
    workload_version: int
    metric: str
    target: float
    higher_is_better: bool
    points: list[str]
    rows: list[ClosedRow]


class Prediction(Out):
    budget: float
    quality: float = Field(description="predicted quality in the workload's metric")
    lo: float | None
    hi: float | None
    extrapolated_decades: float = Field(description="log10(budget / largest x fitted)")


class OpenRow(Out):
    rank: int | None
    submission: str
    submitter: str
    division: str
    system: str
    stack: Stack
    model: str = Field(description="the architecture: interaction and sizes of the largest model")
    curve_label: str
    data_fit: PowerLawSummary | None
    data_error: str | None
    compute_fit: PowerLawSummary | None
    compute_error: str | None
    at_data_budget: Prediction | None
    at_compute_budget: Prediction | None
    bayes_floor: float | None
    note: str = ""


class OpenBoard(Out):
    workload_id: str
    workload_version: int
    metric: str
    loss_definition: str
    data_budget: float
    compute_budget: float
    budget_rule: str
    rows: list[OpenRow]


class MLPerfRunRow(Out):
    index: int
    file: str
    status: str | None
    minutes: float | None
    n_evals: int
    final_auc: float | None
    eval_samples: list[float] = Field(description="samples seen at each evaluation")
    eval_auc: list[float]
    learning_curve: PowerLawSummary | None
    learning_curve_error: str | None
    counted: bool = Field(description="the result summarizer counts the run (it passes the compliance check)")
    dropped_reason: str | None = Field(description="why the summarizer does not count it")


class MLPerfRow(Out):
    rank: int | None
    source: str
    round: str
    submitter: str
    system: str
    system_name: str
    stack: Stack
    n_runs: int
    n_converged: int = Field(description="runs the result summarizer counts")
    score_minutes: float | None = Field(description="the result summarizer's score: olympic mean x scaling_factor")
    olympic_mean_minutes: float | None
    scaling_factor: float = Field(description="from the benchmark folder's scaling.json (1 without one)")
    no_score_reason: str | None = Field(description="why the result summarizer gives no score")
    notes: list[str] = Field(description="what MLPerf's package checker would remark that does not change the score")
    rule: str
    run_minutes: list[float] = Field(description="the counted runs' minutes, sorted")
    train_samples: int | None
    global_batch_size: int | None
    learning_curve: PowerLawSummary | None = Field(description="1 - AUC vs samples seen, all runs pooled")
    learning_curve_error: str | None
    runs: list[MLPerfRunRow]


class Settings(Out):
    n_boot: int
    seed: int
    level: float
    budget_decades: float
    rules: list[str]


class Leaderboard(Out):
    """What `recscale score` writes to leaderboard.json."""

    schema_version: Literal[1] = LEADERBOARD_SCHEMA_VERSION
    recscale_version: str
    settings: Settings
    submissions: list[SubmissionStatus]
    closed: list[ClosedBoard]
    open: list[OpenBoard]
    reports: list[WorkloadReport] = Field(description="the scaling study of each (submission, system, workload)")
    mlperf: list[MLPerfRow]
    plots: list[str] = Field(description="plot files, relative to the output folder")


# --------------------------------------------------------------------- study report (`recscale report`)

STUDY_SCHEMA_VERSION = 1
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
    fit: PowerLawSummary | None
    floor_gap: float | None
    confounded: list[str] = Field(description="other components that move along the quoted curve")
    decades: float | None = Field(description="log10(x_max / x_min) of the quoted curve")
    error: str | None = Field(description="why no curve of this axis could be fitted")


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
    metric: Literal["ne", "auc", "logloss"]
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

    schema_version: Literal[1] = STUDY_SCHEMA_VERSION
    recscale_version: str
    submission: str = Field(description="the submission folder's name")
    submitter: str
    division: str
    checked: bool = Field(description="the submission passed `recscale check` (false: --no-check)")
    n_boot: int
    seed: int
    level: float
    skipped_records: list[str] = Field(description="result files that could not be read (only with --no-check)")
    groups: list[StudyGroup]
    plots: list[str] = Field(description="plot files, relative to the output folder")
