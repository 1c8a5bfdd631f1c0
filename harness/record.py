"""A run's record (result.json) derived from its log and its point, once, for runner and checker.

result.json holds nothing its mllog.txt and its point do not determine (RULES.md LOG-6):

- from the log: the identity (``submission_benchmark``, ``_platform``, ``_division``), the logged
  facts of recscale.hyperparams (seed, point id, spec hash, the stack in ``harness``, and the sample
  counts and workload version the spec gives), the outcome (``run_stop`` status, abort reason),
  the times (differences of ``time_ms`` in seconds), the evaluations (``curve``, ``at_target``,
  ``final``), the samples seen, the throughput, the staging time (``recscale_staging_s``: null in
  logs made before it was logged), the Bayes-optimal quality (``recscale_bayes``),
  and ``started_at`` / ``finished_at`` (the first and the last event's ``time_ms``, UTC, to the
  second);
- from the point: its resolved spec and sweep overrides as they are, and what the spec fixes: the
  quality target and the reference accounting (recscale/accounting.py); ``train_flops`` is
  ``flops_per_example.total`` x the logged samples seen.

The runner writes mllog.txt and then result.json = derive_result(its own log, the point). The
checker derives the same fields from a submission's log with the result's recorded spec and
overrides and compares them with the record (harness.check.agreement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.runlog import LogFacts
from recscale import logkeys as k
from recscale.accounting import param_counts, train_flops_per_example
from recscale.hyperparams import HYPERPARAMETERS
from recscale.records import SCHEMA_VERSION, RunResult
from recscale.spec import QualitySpec, WorkloadSpec
from recscale.sweep import Point

INPUTS = ("spec", "overrides")  # the fields a record takes as they are from its point


class NotLogged(Exception):
    """The log does not give a field: an event it needs is missing, repeated or malformed (the log
    checks say which)."""


@dataclass(frozen=True)
class PointInputs:
    """What a record takes from the point that ran rather than from its log."""

    spec: dict[str, Any]  # the resolved spec, as JSON
    overrides: dict[str, Any]
    fixed: dict[str, Any]  # what the spec fixes (spec_fields), as far as it is known

    @classmethod
    def of(cls, point: Point) -> PointInputs:
        return cls(point.spec_json, point.overrides, spec_fields(point.spec))


@dataclass
class Derived:
    """The record's fields as JSON values; those the log cannot give are listed in `not_logged`."""

    fields: dict[str, Any] = field(default_factory=dict)
    not_logged: dict[str, str] = field(default_factory=dict)  # field -> why


def quality_fields(quality: QualitySpec) -> dict[str, Any]:
    return {"metric": quality.metric, "target": quality.target, "higher_is_better": quality.higher_is_better}


def spec_fields(spec: WorkloadSpec) -> dict[str, Any]:
    """The record's fields a resolved spec fixes: the quality target and the accounting."""
    return {"quality": quality_fields(spec.quality), "params": param_counts(spec),
            "flops_per_example": train_flops_per_example(spec)}


def utc_time(time_ms: float) -> str:
    """A log time as records carry it: ISO 8601 UTC, to the second."""
    return dt.datetime.fromtimestamp(time_ms / 1000, dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- one field per function


def _once(log: LogFacts, key: str) -> Any:
    event = log.once(key)
    if event is None:
        raise NotLogged(f"{key} is not logged once")
    return event


def _value(key: str) -> Callable[[LogFacts], Any]:
    return lambda log: _once(log, key).value


def _seconds(log: LogFacts, key: str) -> float:
    """Seconds from run_start to the event `key`."""
    return (_once(log, key).time_ms - _once(log, k.RUN_START).time_ms) / 1000


def _status(log: LogFacts) -> str:
    if log.status is None:
        raise NotLogged("run_stop is not logged once with status success or aborted")
    return log.status


def _hit(log: LogFacts) -> int | None:
    """Index of the evaluation that reached the target: None when aborted."""
    if _status(log) != k.SUCCESS:
        return None
    if log.hit is None:
        raise NotLogged("run_stop (success) does not directly follow an evaluation")
    return log.hit


def _curve(log: LogFacts) -> list[dict[str, Any]]:
    """Every evaluation, its metrics as logged (the log checks say when they are malformed)."""
    start = _once(log, k.RUN_START).time_ms
    curve = []
    for evaluation in log.evaluations:
        metrics = evaluation.logged_metrics
        curve.append({**(metrics if isinstance(metrics, dict) else {}), "samples": evaluation.samples,
                      "epoch": evaluation.epoch, "elapsed_s": (evaluation.stop_ms - start) / 1000})
    return curve


def _staging(log: LogFacts) -> float | None:
    """recscale_staging_s, an optional key (logs made before it was logged have none)."""
    if not log.count(k.STAGING_S):
        return None
    return _once(log, k.STAGING_S).value


def _abort_reason(log: LogFacts) -> str | None:
    return None if _status(log) == k.SUCCESS else _once(log, k.ABORT_REASON).value


def _time_to_target(log: LogFacts) -> float | None:
    return _seconds(log, k.RUN_STOP) if _status(log) == k.SUCCESS else None


def _samples_to_target(log: LogFacts) -> int | None:
    hit = _hit(log)
    return None if hit is None else log.evaluations[hit].samples


def _at_target(log: LogFacts) -> Any:
    hit = _hit(log)
    return None if hit is None else log.evaluations[hit].logged_metrics


def _first_time(log: LogFacts) -> str:
    if not log.events:
        raise NotLogged("the log has no events")
    return utc_time(log.events[0].time_ms)


def _last_time(log: LogFacts) -> str:
    if not log.events:
        raise NotLogged("the log has no events")
    return utc_time(log.events[-1].time_ms)


# The record's fields the log gives (the logged facts of recscale.hyperparams are added below).
FROM_LOG: dict[str, Callable[[LogFacts], Any]] = {
    "workload_id": _value(k.SUBMISSION_BENCHMARK),
    "system": _value(k.SUBMISSION_PLATFORM),
    "division": _value(k.SUBMISSION_DIVISION),
    "status": _status,
    "abort_reason": _abort_reason,
    "time_to_target_s": _time_to_target,
    "samples_to_target": _samples_to_target,
    "run_time_s": lambda log: _seconds(log, k.RUN_STOP),
    "pass_time_s": lambda log: _seconds(log, k.PASS_END),
    "samples_seen": lambda log: _once(log, k.PASS_END).metadata.get(k.SAMPLES_COUNT),
    "train_samples_per_s": _value(k.TRAIN_SAMPLES_PER_S),
    "staging_s": _staging,
    "final": _value(k.PASS_END),
    "at_target": _at_target,
    "curve": _curve,
    "bayes": _value(k.BAYES),
    "started_at": _first_time,
    "finished_at": _last_time,
}


def _set(fields: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for name in parents:
        fields = fields.setdefault(name, {})
    fields[leaf] = value


def derive(log: LogFacts, point: PointInputs) -> Derived:
    """Every field of the record that the log and the point give."""
    out = Derived()
    out.fields.update(schema_version=SCHEMA_VERSION, spec=point.spec, overrides=point.overrides, **point.fixed)
    for name, derive_field in FROM_LOG.items():
        try:
            out.fields[name] = derive_field(log)
        except NotLogged as why:
            out.not_logged[name] = str(why)
    for entry in HYPERPARAMETERS:
        if entry.field is not None:
            if (event := log.once(entry.key)) is None:
                out.not_logged[entry.field] = f"{entry.key} is not logged once"
            else:
                _set(out.fields, entry.field, event.value)
    flops, seen = out.fields.get("flops_per_example"), out.fields.get("samples_seen")
    if isinstance(flops, dict) and isinstance(seen, int) and isinstance(flops.get("total"), int):
        out.fields["train_flops"] = float(flops["total"]) * seen
    return out


def derive_result(log: LogFacts, point: Point) -> RunResult:
    """The record of a run of `point` whose log is `log` (ValueError when the log cannot give one)."""
    derived = derive(log, PointInputs.of(point))
    if derived.not_logged:
        raise ValueError(f"{log.file} cannot give a record: "
                         + "; ".join(f"{name}: {why}" for name, why in derived.not_logged.items()))
    return RunResult.model_validate(derived.fields)
