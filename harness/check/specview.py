"""The parts of a run's resolved spec that the log checks need, read without trusting the spec.

A result's `spec` is a JSON object written by the submitter. When it is a valid workload spec it
is read through recscale.spec; otherwise (an open-division spec this repository cannot build, or a
broken one, which the rules concern reports) the point's spec from the workload file stands in
for the sections the open division may not change (RULES.md OPEN-2), and the rest is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from harness.record import quality_fields, spec_fields
from harness.runlog import as_number
from recscale.hyperparams import spec_values
from recscale.metrics import METRICS
from recscale.spec import WorkloadSpec


@dataclass(frozen=True)
class SpecView:
    """None where the spec does not say (the checks that need it are then skipped)."""

    metric: str | None = None
    target: float | None = None
    eval_every: float | None = None
    passes: int | None = None
    train_rows: int | None = None
    eval_samples: int | None = None
    batch_size: int | None = None
    hyper: dict[str, Any] | None = None  # log key -> the value the spec gives it (recscale.hyperparams, LOG-6)
    # The record's fields the spec fixes (harness.record.spec_fields): quality, params, flops_per_example;
    # only the quality when the spec is not one this repository can read.
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool | None:
        return None if self.metric is None else METRICS[self.metric].higher_is_better

    @property
    def comparison(self) -> str:
        return "" if self.metric is None else METRICS[self.metric].comparison()

    def reached(self, value: Any) -> bool | None:
        """CONV-1: whether `value` reaches the target (None when the spec's quality is unknown)."""
        if self.metric is None or self.target is None:
            return None
        number = as_number(value)
        return number is not None and METRICS[self.metric].reached(number, self.target)


def from_spec(spec: WorkloadSpec, own: bool) -> SpecView:
    """The view of `spec`: all of it when it is the run's own, the OPEN-2 sections when it stands in."""
    return SpecView(
        metric=spec.quality.metric, target=spec.quality.target, eval_every=spec.training.eval_every,
        passes=spec.training.passes, train_rows=spec.data.train_rows, eval_samples=spec.data.eval_samples,
        batch_size=spec.training.batch_size if own else None, hyper=spec_values(spec) if own else None,
        fixed=spec_fields(spec) if own else {"quality": quality_fields(spec.quality)},
    )


INT64 = 2**63  # JSON integers beyond 64 bits are no quantity a spec can mean (and overflow float arithmetic)


def _huge_integer(raw: Any) -> bool:
    """Whether a JSON value holds an integer of 64 bits or more, at any depth."""
    if isinstance(raw, dict):
        return any(_huge_integer(v) for v in raw.values())
    if isinstance(raw, list):
        return any(_huge_integer(v) for v in raw)
    return isinstance(raw, int) and not -INT64 < raw < INT64


def parse_spec(raw: Any) -> WorkloadSpec | None:
    """The run's spec as a WorkloadSpec, or None when it is not one this repository can read (also one
    with an integer of 64 bits or more: the accounting and the cadence would compute with it)."""
    if not isinstance(raw, dict) or _huge_integer(raw):
        return None
    try:
        return WorkloadSpec.model_validate(raw)
    except (ValidationError, ValueError, TypeError):
        return None


def view_of(spec: WorkloadSpec | None, fallback: WorkloadSpec | None) -> SpecView:
    """The view of a run's own spec; the workload point's data/eval/quality when it has none."""
    if spec is not None:
        return from_spec(spec, own=True)
    return from_spec(fallback, own=False) if fallback is not None else SpecView()
