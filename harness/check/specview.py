"""The parts of a run's resolved spec that the log checks need, read without trusting the spec.

A result's `spec` is a JSON object written by the submitter. When it is a valid workload spec it
is read through recscale.spec; otherwise (an open-division spec this repository cannot build, or a
broken one, which the rules concern reports) the point's spec from the workload file stands in
for the sections the open division may not change (RULES.md OPEN-2), and the rest is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from recscale.accounting import param_counts, train_flops_per_example
from recscale.spec import WorkloadSpec


@dataclass(frozen=True)
class SpecView:
    """None where the spec does not say (the checks that need it are then skipped)."""

    metric: str | None = None
    target: float | None = None
    higher_is_better: bool | None = None
    eval_every: float | None = None
    passes: int | None = None
    train_rows: int | None = None
    eval_samples: int | None = None
    batch_size: int | None = None
    hyper: dict[str, Any] | None = None  # log key -> the value the spec gives it (CLOSED-4, LOG-6)
    params: dict[str, int] | None = None  # recscale/accounting.py's accounting of the spec (RUN-5)
    flops_per_example: dict[str, int] | None = None

    def reached(self, value: Any) -> bool | None:
        """CONV-1: whether `value` reaches the target (None when the spec's quality is unknown)."""
        if self.target is None or self.higher_is_better is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return False
        return value >= self.target if self.higher_is_better else value <= self.target


def hyperparameters(spec: WorkloadSpec, point_id: str, spec_sha256: str) -> dict[str, Any]:
    """The values RULES.md CLOSED-4 says the log gives, from a resolved spec."""
    optimizer = spec.training.optimizer
    return {
        "global_batch_size": spec.training.batch_size,
        "opt_name": optimizer.dense.name,
        "opt_base_learning_rate": optimizer.dense.lr,
        "opt_adagrad_epsilon": optimizer.dense.eps,
        "recscale_sparse_opt_name": optimizer.sparse.name,
        "recscale_sparse_learning_rate": optimizer.sparse.lr,
        "train_samples": spec.data.train_rows,
        "eval_samples": spec.data.eval_samples,
        "recscale_workload_version": spec.version,
        "recscale_point_id": point_id,
        "recscale_spec_sha256": spec_sha256,
    }


def from_spec(spec: WorkloadSpec, hyper: dict[str, Any] | None, accounting: bool = False) -> SpecView:
    return SpecView(
        metric=spec.quality.metric, target=spec.quality.target, higher_is_better=spec.quality.higher_is_better,
        eval_every=spec.training.eval_every, passes=spec.training.passes, train_rows=spec.data.train_rows,
        eval_samples=spec.data.eval_samples, batch_size=spec.training.batch_size, hyper=hyper,
        params=param_counts(spec) if accounting else None,
        flops_per_example=train_flops_per_example(spec) if accounting else None,
    )


def parse_spec(raw: Any) -> WorkloadSpec | None:
    """The run's spec as a WorkloadSpec, or None when it is not one this repository can read."""
    if not isinstance(raw, dict):
        return None
    try:
        return WorkloadSpec.model_validate(raw)
    except (ValidationError, ValueError, TypeError):
        return None


def view_of(spec: WorkloadSpec | None, point_id: str, spec_sha256: str, fallback: WorkloadSpec | None) -> SpecView:
    """The view of a run's own spec; the workload point's data/eval/quality when it has none."""
    if spec is not None:
        return from_spec(spec, hyperparameters(spec, point_id, spec_sha256), accounting=True)
    if fallback is not None:
        view = from_spec(fallback, None)
        return SpecView(metric=view.metric, target=view.target, higher_is_better=view.higher_is_better,
                        eval_every=view.eval_every, passes=view.passes, train_rows=view.train_rows,
                        eval_samples=view.eval_samples)
    return SpecView()
