"""The records a run and a submission leave on disk: RunResult and the SubmissionManifest.

Where they live is :mod:`recscale.layout`; how they are written is :mod:`recscale.io`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, create_model

from recscale.metrics import METRICS, TARGET_METRICS, Metric
from recscale.system import PRECISION_BEFORE_RECORDED, Precision

SCHEMA_VERSION = 1


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _metric_field(metric: Metric) -> Any:
    """A finite float in the metric's range, described as the registry describes it."""
    high = {"le": metric.high} if math.isfinite(metric.high) else {}
    return (float, Field(description=metric.description, ge=metric.low, allow_inf_nan=False, **high))


# One field per metric of recscale.metrics: a metric added there is recorded everywhere.
Metrics = create_model(  # type: ignore[call-overload]
    "Metrics", __base__=Record, __module__=__name__, __doc__="Quality of the model on the whole eval set.",
    **{name: _metric_field(metric) for name, metric in METRICS.items()},
)


class CurvePoint(Metrics):  # type: ignore[valid-type, misc]
    """One evaluation during the pass."""

    samples: NonNegativeInt = Field(description="training samples seen before this evaluation")
    epoch: NonNegativeFloat = Field(description="fraction of the training run done (MLPerf epoch_num)")
    elapsed_s: NonNegativeFloat = Field(description="seconds since run_start at the end of this evaluation")


class ComponentCounts(Record):
    """Per-component counts (parameters, or training FLOPs per example): the paper's four parts."""

    embedding: NonNegativeInt
    bottom_mlp: NonNegativeInt
    interaction: NonNegativeInt
    top_mlp: NonNegativeInt
    total: NonNegativeInt


class Quality(Record):
    metric: Literal[TARGET_METRICS]  # type: ignore[valid-type]
    target: float
    higher_is_better: bool


class HarnessInfo(Record):
    recscale: str
    backend: Literal["torchrec", "torch"]
    device: Literal["cpu", "cuda"]
    world_size: int = Field(1, ge=1)
    precision: Precision = Field(PRECISION_BEFORE_RECORDED, description="numeric precision (recscale_precision; "
                                 "fp32 for records made before it was logged)")


class RunResult(Record):
    """Everything one run produced; the scorer reads only these. Derived from the run's mllog.txt
    and its point by harness.record, which the runner writes it with and the checker verifies it with."""

    schema_version: Literal[1] = SCHEMA_VERSION
    workload_id: str
    workload_version: int
    point_id: str
    overrides: dict[str, Any] = Field(description="the sweep values that define this point")
    seed: NonNegativeInt
    system: str
    division: Literal["closed", "open"]
    spec: dict[str, Any] = Field(description="the fully resolved workload spec of this point")
    spec_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    status: Literal["success", "aborted"]
    abort_reason: str | None = Field(None, description="why the run stopped without reaching the target")
    quality: Quality
    time_to_target_s: NonNegativeFloat | None = Field(description="run_start -> run_stop; null if aborted")
    samples_to_target: NonNegativeInt | None
    run_time_s: NonNegativeFloat = Field(description="run_start -> run_stop (end of pass when aborted)")
    pass_time_s: NonNegativeFloat = Field(description="run_start -> end of the whole training pass")
    samples_seen: NonNegativeInt = Field(description="training samples processed in the whole pass")
    train_samples: NonNegativeInt = Field(description="size of the training fraction")
    eval_samples: NonNegativeInt
    train_samples_per_s: NonNegativeFloat = Field(description="training throughput, evaluation excluded")
    staging_s: NonNegativeFloat | None = Field(None, description="seconds of initialisation spent staging the "
                                               "point's data (recscale_staging_s; not timed, TIME-6); null "
                                               "when the log does not say")
    final: Metrics | None = Field(description="quality at the end of the pass (null if it diverged)")
    at_target: Metrics | None
    curve: list[CurvePoint]
    bayes: Metrics | None = Field(None, description="the Bayes-optimal quality (synthetic data only)")
    params: ComponentCounts
    flops_per_example: ComponentCounts = Field(description="training FLOPs per example (fwd + bwd)")
    train_flops: NonNegativeFloat = Field(description="flops_per_example.total x samples_seen")
    harness: HarnessInfo
    started_at: str
    finished_at: str


class ManifestRun(Record):
    system: str
    workload: str
    point: str
    seed: NonNegativeInt
    status: Literal["success", "aborted"]
    path: str = Field(description="the run folder, relative to the submission root")
    result_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SubmissionManifest(Record):
    schema_version: Literal[1] = SCHEMA_VERSION
    submitter: str
    division: Literal["closed", "open"]
    recscale_version: str
    updated_at: str
    runs: list[ManifestRun]
