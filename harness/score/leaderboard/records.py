"""The records of the leaderboard (`recscale score`): leaderboard.json, schemas/leaderboard.schema.json.

Only pydantic here (no numpy/scipy), so `harness.schemas` imports it cheaply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.score.fits.records import FitSettings, MetricName, NoInterval, Out, PowerLawSummary, WorkloadFits

LEADERBOARD_SCHEMA_VERSION = 2

class Stack(Out):
    accelerator: str
    framework: str
    embedding_backend: str
    device: str
    nodes: str
    host_processor: str
    precision: str = Field("", description="numeric precision (fp32, tf32, bf16; RULES.md SYS-3); '' where the "
                                           "description does not say (MLPerf packages)")


class SubmissionStatus(Out):
    path: str
    submitter: str
    division: str
    scored: bool
    reason: str = Field(description="why it was not scored (checker findings, unreadable or non-finite records), "
                                    "or ''")
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
    metric: MetricName
    target: float
    higher_is_better: bool
    points: list[str]
    rows: list[ClosedRow]


class Prediction(Out):
    budget: float
    quality: float = Field(description="predicted quality in the workload's metric")
    lo: float | None
    hi: float | None
    no_interval: NoInterval | None = Field(description="why lo and hi are null (null: they are given)")
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
    metric: MetricName
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


class Leaderboard(Out):
    """What `recscale score` writes to leaderboard.json."""

    schema_version: Literal[2] = LEADERBOARD_SCHEMA_VERSION
    recscale_version: str
    settings: FitSettings
    budget_decades: float = Field(description="open division budgets: the full training set and the largest "
                                              "compute seen, x 10^this")
    rules: list[str] = Field(description="the scoring rules this leaderboard was made by (RULES.md SCORE-1..8)")
    submissions: list[SubmissionStatus]
    closed: list[ClosedBoard]
    open: list[OpenBoard]
    workload_fits: list[WorkloadFits] = Field(description="the scaling fits of each (submission, system, workload)")
    mlperf: list[MLPerfRow]
    plots: list[str] = Field(description="plot files, relative to the output folder")
