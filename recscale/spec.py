"""The workload spec language: pydantic models of one workload YAML file.

A workload is data + model + training + quality target + a sweep. Every model is strict: unknown
keys, wrong types (``dim: "16"``) and impossible values are errors that name the dotted path.
Sweep expansion into points lives in :mod:`recscale.sweep`; loading files in :mod:`recscale.load`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationInfo, field_validator, model_validator

from recscale.cardinalities import NAMED_CARDINALITIES
from recscale.interactions import InteractionParams, interaction_modules
from recscale.layout import MAX_NAME_LENGTH
from recscale.limits import (
    INT64_MAX,
    MAX_CTR,
    MAX_RUNS_PER_POINT,
    MAX_TEACHER_RANK,
    MAX_TEACHER_SCALE,
    MIN_CTR,
    MIN_EVAL_EVERY,
    MIN_EVAL_SAMPLES,
    MIN_EXPECTED_RARER_LABELS,
    Count,
    NonNegativeInt64,
)
from recscale.metrics import METRICS, TARGET_METRICS
from recscale.sources import SOURCES, SourceName


class Strict(BaseModel):
    """Base of every spec model: unknown keys, silent type coercions and inf / nan are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------------------- data

CardinalitySet = Literal["criteo_kaggle", "criteo_1tb"]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


class SyntheticSpec(Strict):
    """The planted-teacher generator (reference/data/synthetic.py) and its knobs."""

    seed: NonNegativeInt64 = Field(0, description="generator seed: the data set is a pure function of the spec")
    ctr: Annotated[float, Field(ge=MIN_CTR, le=MAX_CTR)] = Field(
        0.256, description="target click-through rate (Criteo Kaggle: 25.6%); within the range where the "
        "teacher's bias calibration has a root (recscale/limits.py)"
    )
    zipf_exponent: PositiveFloat = Field(1.1, description="id frequencies follow rank^-exponent")
    teacher_rank: Annotated[int, Field(gt=0, le=MAX_TEACHER_RANK)] = Field(
        8, description="rank of the teacher's pairwise interactions"
    )
    teacher_scale: Annotated[float, Field(gt=0.0, le=MAX_TEACHER_SCALE)] = Field(
        1.0, description="strength of the teacher's signal: higher gives a lower Bayes-optimal NE"
    )


class DataSpec(Strict):
    source: SourceName = Field(description="where the rows come from (recscale/sources.py)")
    path: str | None = Field(
        None, description="folder of converted shards (`recscale data convert`); real data only"
    )
    train_samples: Count = Field(description="size of the full (fraction 1.0) training set")
    eval_samples: Annotated[int, Field(ge=MIN_EVAL_SAMPLES, le=INT64_MAX)] = Field(
        description="size of the fixed evaluation set (a click and a non-click at least: NE and AUC need both)"
    )
    fraction: Fraction = Field(
        1.0, description="share of the training set used; fractions are nested (1/8 within 1/4)"
    )
    num_dense: Count = 13
    cardinalities: CardinalitySet | list[Count] = Field(
        "criteo_kaggle", description="per categorical feature vocabulary size, or a named set"
    )
    cardinality_cap: Count | None = Field(
        None, description="vocabularies larger than this are hashed down to it"
    )
    synthetic: SyntheticSpec | None = None

    @model_validator(mode="after")
    def _source_needs(self) -> DataSpec:
        generated = SOURCES[self.source].generated
        if generated and self.synthetic is None:
            raise ValueError(f"source {self.source!r} needs a 'synthetic' section (generator settings)")
        if not generated and self.synthetic is not None:
            raise ValueError(f"'synthetic' settings given but source is {self.source!r}")
        if not generated and not self.path:
            raise ValueError(f"source {self.source!r} needs 'path': the folder of converted shards")
        if generated and self.path is not None:  # it would be ignored: say so instead
            raise ValueError(f"source {self.source!r} is generated (under `recscale run --data-root`): "
                             "'path' is for converted data only")
        if isinstance(self.cardinalities, list) and not self.cardinalities:
            raise ValueError("'cardinalities' must list at least one categorical feature")
        return self

    @model_validator(mode="after")
    def _fraction_leaves_rows(self) -> DataSpec:
        if round(self.train_samples * self.fraction) < 1:
            raise ValueError(f"fraction {self.fraction:g} of {self.train_samples:,} training samples leaves no "
                             "training row (at least one batch of rows is needed)")
        return self

    @model_validator(mode="after")
    def _eval_set_holds_both_labels(self) -> DataSpec:
        """Synthetic data: the spec fixes how many eval examples of the rarer label to expect."""
        if self.synthetic is None:
            return self  # real data: the labels are what the data set holds
        ctr = self.synthetic.ctr
        rarer = self.eval_samples * min(ctr, 1.0 - ctr)
        if rarer < MIN_EXPECTED_RARER_LABELS:
            need = math.ceil(MIN_EXPECTED_RARER_LABELS / min(ctr, 1.0 - ctr))
            raise ValueError(f"eval_samples {self.eval_samples:,} at ctr {ctr:g} expects {rarer:.3g} examples of the "
                             f"rarer label; NE and AUC need both labels: use at least {need:,} eval samples "
                             f"(an expected {MIN_EXPECTED_RARER_LABELS} or more)")
        return self

    @property
    def feature_cardinalities(self) -> tuple[int, ...]:
        """Vocabulary size of each categorical feature after the cap."""
        raw = (
            NAMED_CARDINALITIES[self.cardinalities]
            if isinstance(self.cardinalities, str)
            else tuple(self.cardinalities)
        )
        cap = self.cardinality_cap
        return tuple(min(c, cap) if cap else c for c in raw)

    @property
    def num_sparse(self) -> int:
        return len(self.feature_cardinalities)

    @property
    def train_rows(self) -> int:
        """Training examples in this fraction (at least one)."""
        return max(1, round(self.train_samples * self.fraction))


# --------------------------------------------------------------------------------------- model


def _interaction_union() -> Any:
    """The tagged union of every interaction module's Params (reference/model/interactions/)."""
    params = tuple(module.Params for module in interaction_modules().values())
    if len(params) == 1:
        return params[0]
    return Annotated[Union[params], Field(discriminator="kind")]  # noqa: UP007 (runtime tuple)


InteractionSpec = _interaction_union()


class EmbeddingSpec(Strict):
    dim: Count = Field(description="embedding dimension of every table")
    hash_size: Count | None = Field(
        None, description="rows per table at most: ids of larger vocabularies are taken modulo it"
    )

    def rows(self, cardinalities: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(min(c, self.hash_size) if self.hash_size else c for c in cardinalities)


class ModelSpec(Strict):
    embedding: EmbeddingSpec
    bottom_mlp: list[Count] = Field(min_length=1, description="widths after the dense input")
    interaction: InteractionSpec  # type: ignore[valid-type]
    top_mlp: list[Count] = Field(min_length=1, description="widths; the last is 1 (a logit)")

    @model_validator(mode="after")
    def _widths_fit(self) -> ModelSpec:
        if self.top_mlp[-1] != 1:
            raise ValueError(f"top_mlp must end in 1 (one logit per example), got {self.top_mlp}")
        params: InteractionParams = self.interaction
        if params.stacks_dense_with_embeddings and self.bottom_mlp[-1] != self.embedding.dim:
            raise ValueError(
                f"bottom_mlp ends in {self.bottom_mlp[-1]} but embedding.dim is {self.embedding.dim}: "
                f"the {params.kind!r} interaction stacks the dense output with the embeddings, "
                "so the two must be equal"
            )
        return self


# ------------------------------------------------------------------------------------ training


class DenseOptimizerSpec(Strict):
    name: Literal["sgd", "adagrad", "adam"]
    lr: PositiveFloat
    eps: PositiveFloat = Field(1e-8, description="adagrad/adam epsilon (MLPerf DLRM-DCNv2: 1e-8)")


class SparseOptimizerSpec(Strict):
    name: Literal["sgd", "adagrad", "rowwise_adagrad"]
    lr: PositiveFloat
    eps: PositiveFloat = Field(1e-8, description="adagrad epsilon (MLPerf DLRM-DCNv2: 1e-8)")


class OptimizersSpec(Strict):
    dense: DenseOptimizerSpec
    sparse: SparseOptimizerSpec


class TrainingSpec(Strict):
    batch_size: Count = Field(description="global batch size")
    eval_batch_size: Count = Field(16384, description="batch size of evaluation (no effect on metrics)")
    passes: Count = Field(1, description="passes over the chosen fraction (CTR models train one)")
    optimizer: OptimizersSpec
    eval_every: Annotated[float, Field(ge=MIN_EVAL_EVERY, le=1.0)] = Field(
        0.05, description="fraction of the training run between evaluations (at most 1 / eval_every of them)"
    )


class QualitySpec(Strict):
    """The quality target: a metric of recscale.metrics that may be a target, and its value."""

    metric: Literal[TARGET_METRICS] = Field(  # type: ignore[valid-type]
        description="the metric evaluated against the target (recscale/metrics.py)")
    target: PositiveFloat

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric].higher_is_better

    def reached(self, value: float) -> bool:
        """Whether ``value`` meets the target in the metric's direction (a non-finite value never does)."""
        return METRICS[self.metric].reached(value, self.target)

    @model_validator(mode="after")
    def _target_in_range(self) -> QualitySpec:
        metric = METRICS[self.metric]
        if not metric.target_low < self.target <= metric.target_high:
            raise ValueError(f"the {self.metric.upper()} target must be in ({metric.target_low:g}, "
                             f"{metric.target_high:g}], got {self.target}")
        return self


# ------------------------------------------------------------------------------------ workload

WORKLOAD_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"  # lower case: the id is also a folder and file name


SweepValue = bool | int | float | str | list[Any] | dict[str, Any]
Axis = Annotated[list[SweepValue], Field(min_length=1)]


class WorkloadSpec(Strict):
    """One workload file. `sweep` maps dotted paths into this spec to the values they take."""

    id: str = Field(pattern=WORKLOAD_ID_PATTERN, max_length=MAX_NAME_LENGTH,
                    description="lower-case id, also the folder name")
    version: Count
    description: str = ""
    data: DataSpec
    model: ModelSpec
    training: TrainingSpec
    quality: QualitySpec
    runs_per_point: Annotated[int, Field(gt=0, le=MAX_RUNS_PER_POINT)] = Field(
        1, description="runs (seeds) required per point"
    )
    sweep: dict[str, Axis | dict[str, Axis]] = Field(
        default_factory=dict,
        description="axes: dotted path -> values; the points are their product. A named group "
        "(name -> {path: values, ...}) moves its axes together, position by position",
    )

    @field_validator("training")
    @classmethod
    def _one_batch_of_rows(cls, training: TrainingSpec, info: ValidationInfo) -> TrainingSpec:
        """A run takes at least one full step: the training rows hold a whole global batch."""
        data: DataSpec | None = info.data.get("data")
        if data is not None and training.batch_size > data.train_rows:
            raise ValueError(
                f"batch_size {training.batch_size:,} is more than the {data.train_rows:,} training rows "
                f"(data.train_samples {data.train_samples:,} x data.fraction {data.fraction:g}): lower the batch "
                "size, or raise the fraction or train_samples"
            )
        return training

    @field_validator("sweep")
    @classmethod
    def _groups_line_up(cls, sweep: dict[str, Any]) -> dict[str, Any]:
        for name, group in sweep.items():
            if isinstance(group, dict):
                lengths = {path: len(values) for path, values in group.items()}
                if not group or len(set(lengths.values())) > 1:
                    raise ValueError(f"group {name!r} must hold axes of one length (zipped), got {lengths}")
        return sweep

    def sweep_axes(self) -> list[dict[str, list[Any]]]:
        """The sweep as independent axes, each a {path: values} of one or more zipped paths."""
        return [group if isinstance(group, dict) else {name: group} for name, group in self.sweep.items()]

