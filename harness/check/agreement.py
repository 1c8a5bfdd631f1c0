"""result.json agrees with its mllog.txt (RULES.md LOG-6, TIME-4 for the recorded times, CONV-1).

The checker re-derives from the log what it can (times, status, curve, final quality, samples)
and reports every field of the record that says something else.
"""

from __future__ import annotations

from typing import Any

from harness.check.findings import Findings
from harness.check.logs import METRIC_NAMES, LogFacts, as_int, as_number
from harness.check.specview import SpecView
from recscale import logkeys as k
from recscale.records import Metrics, RunResult

TIME_TOLERANCE_S = 0.002  # time_ms is whole milliseconds
RELATIVE = 1e-9


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers by value, booleans only to booleans, the rest by type and value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def close(a: Any, b: Any, relative: float = RELATIVE) -> bool:
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return False
    return abs(x - y) <= relative * max(abs(x), abs(y))


def _metrics_differ(record: Metrics | None, logged: Any) -> str | None:
    """Which metric of a record differs from a logged metrics object (None when they agree)."""
    if record is None or logged is None:
        return None if record is None and logged is None else "one is null, the other not"
    if not isinstance(logged, dict):
        return "the log's metrics are not an object"
    for name in METRIC_NAMES:
        if not close(getattr(record, name), logged.get(name)):
            return f"{name} {getattr(record, name)!r} vs logged {logged.get(name)!r}"
    return None


def check_times(result: RunResult, facts: LogFacts, file: str, out: Findings) -> None:
    """TIME-4: time_to_target_s, run_time_s, pass_time_s and curve elapsed_s are the log's differences."""
    start, stop, end = (facts.once.get(key) for key in (k.RUN_START, k.RUN_STOP, k.PASS_END))
    if start is None:
        return
    if stop is not None:
        logged = (stop.time_ms - start.time_ms) / 1000
        if abs(result.run_time_s - logged) > TIME_TOLERANCE_S:
            out.error("TIME-4", file, f"run_time_s {result.run_time_s} but the log says {logged:.3f} s")
        if result.status == "success" and (result.time_to_target_s is None
                                           or abs(result.time_to_target_s - logged) > TIME_TOLERANCE_S):
            out.error("TIME-4", file, f"time_to_target_s {result.time_to_target_s} but the log says {logged:.3f} s")
        if result.status == "aborted" and result.time_to_target_s is not None:
            out.error("TIME-4", file, "time_to_target_s must be null for an aborted run")
    if end is not None and abs(result.pass_time_s - (end.time_ms - start.time_ms) / 1000) > TIME_TOLERANCE_S:
        out.error("TIME-4", file, f"pass_time_s {result.pass_time_s} but the log says "
                  f"{(end.time_ms - start.time_ms) / 1000:.3f} s")
    for i, (point, group) in enumerate(zip(result.curve, facts.groups, strict=False)):
        if abs(point.elapsed_s - (group.stop_ms - start.time_ms) / 1000) > TIME_TOLERANCE_S:
            out.error("TIME-4", file, f"curve[{i}].elapsed_s {point.elapsed_s} but its eval_stop (line "
                      f"{group.line}) is {(group.stop_ms - start.time_ms) / 1000:.3f} s after run_start")


def check_curve(result: RunResult, facts: LogFacts, file: str, out: Findings) -> None:
    """LOG-6: the curve, the point at target and the final quality are the log's evaluations."""
    if len(result.curve) != len(facts.groups):
        out.error("LOG-6", file, f"curve has {len(result.curve)} points, the log {len(facts.groups)} evaluations")
    for i, (point, group) in enumerate(zip(result.curve, facts.groups, strict=False)):
        metrics = Metrics(**point.model_dump(include=set(METRIC_NAMES)))
        problem = _metrics_differ(metrics, group.metrics)
        if point.samples != group.samples or not close(point.epoch, group.epoch) or problem:
            what = problem or f"samples {point.samples} epoch {point.epoch} vs logged {group.samples} {group.epoch}"
            out.error("LOG-6", file, f"curve[{i}] is not the evaluation at line {group.line}: {what}")
    if result.status == "success" and facts.hit is not None:
        group = facts.groups[facts.hit]
        if result.samples_to_target != group.samples:
            out.error("LOG-6", file, f"samples_to_target {result.samples_to_target} but the evaluation that reached "
                      f"the target (line {group.line}) was at {group.samples}")
        if (problem := _metrics_differ(result.at_target, group.metrics)) is not None:
            out.error("LOG-6", file, f"at_target is not the evaluation at line {group.line}: {problem}")
    if result.status == "aborted" and (result.samples_to_target is not None or result.at_target is not None):
        out.error("LOG-6", file, "samples_to_target and at_target must be null for an aborted run")
    end = facts.once.get(k.PASS_END)
    if end is not None:
        if (problem := _metrics_differ(result.final, end.value)) is not None:
            out.error("LOG-6", file, f"final is not recscale_pass_end (line {end.line}): {problem}")
        if result.samples_seen != as_int(end.metadata.get(k.SAMPLES_COUNT)):
            out.error("LOG-6", file, f"samples_seen {result.samples_seen} but recscale_pass_end says "
                      f"{end.metadata.get(k.SAMPLES_COUNT)!r}")


def check_values(result: RunResult, facts: LogFacts, spec: SpecView, spec_sha256: str, file: str,
                 out: Findings) -> None:
    """LOG-6 and RUN-2: identity and hyper-parameters of the record, its log and its own spec."""
    if facts.status is not None and result.status != facts.status:
        out.error("LOG-6", file, f"status {result.status!r} but run_stop says {facts.status!r}")
    if k.SEED in facts.once and not same(result.seed, facts.value(k.SEED)):
        out.error("RUN-2", file, f"seed {result.seed} but the log says {facts.value(k.SEED)!r}")
    pairs = (
        ("train_samples", result.train_samples, k.TRAIN_SAMPLES),
        ("eval_samples", result.eval_samples, k.EVAL_SAMPLES),
        ("workload_version", result.workload_version, k.WORKLOAD_VERSION),
        ("point_id", result.point_id, k.POINT_ID),
        ("spec_sha256", result.spec_sha256, k.SPEC_SHA256),
        ("harness.backend", result.harness.backend, k.EMBEDDING_BACKEND),
        ("harness.world_size", result.harness.world_size, k.WORLD_SIZE),
    )
    for field, value, key in pairs:
        if key in facts.once and not same(value, facts.value(key)):
            out.error("LOG-6", file, f"{field} {value!r} but the log's {key} is {facts.value(key)!r}")
    speed = facts.value(k.TRAIN_SAMPLES_PER_S)
    if k.TRAIN_SAMPLES_PER_S in facts.once and not close(result.train_samples_per_s, speed):
        out.error("LOG-6", file, f"train_samples_per_s {result.train_samples_per_s} but the log says {speed!r}")
    reason = facts.value(k.ABORT_REASON)
    if result.status == "aborted" and k.ABORT_REASON in facts.once and result.abort_reason != reason:
        out.error("LOG-6", file, f"abort_reason {result.abort_reason!r} but the log says "
                  f"{facts.value(k.ABORT_REASON)!r}")
    if result.spec_sha256 != spec_sha256:
        out.error("LOG-6", file, f"spec_sha256 {result.spec_sha256[:12]}... is not the hash of the recorded spec "
                  f"({spec_sha256[:12]}...)")
    for key, wanted in (spec.hyper or {}).items():
        if key in facts.once and not same(facts.value(key), wanted):
            out.error("LOG-6", file, f"the log's {key} is {facts.value(key)!r}, the run's spec says {wanted!r}")


def check_accounting(result: RunResult, spec: SpecView, file: str, out: Findings) -> None:
    """RUN-5: params and FLOPs per example are recscale/accounting.py's; train_flops follows from them."""
    if spec.params is None or spec.flops_per_example is None:
        out.note("RUN-5", file, "the spec is not one this repository can read: parameter and FLOP counts not verified")
    else:
        for name, recorded, wanted in (("params", result.params.model_dump(), spec.params),
                                       ("flops_per_example", result.flops_per_example.model_dump(),
                                        spec.flops_per_example)):
            if recorded != wanted:
                part = next((key for key in wanted if recorded.get(key) != wanted[key]), "total")
                out.error("RUN-5", file, f"{name}.{part} is {recorded.get(part)}, recscale/accounting.py counts "
                          f"{wanted[part]}")
    expected = result.flops_per_example.total * result.samples_seen
    if not (close(result.train_flops, expected) or result.train_flops == expected == 0):
        out.error("RUN-5", file, f"train_flops {result.train_flops} is not flops_per_example.total x samples_seen "
                  f"= {expected}")


def check_quality(result: RunResult, spec: SpecView, file: str, out: Findings) -> None:
    """CONV-1: the record's quality target is its spec's."""
    if spec.metric is None:
        return
    recorded = (result.quality.metric, result.quality.target, result.quality.higher_is_better)
    wanted = (spec.metric, spec.target, spec.higher_is_better)
    if recorded != wanted:
        out.error("CONV-1", file, f"quality {recorded} is not the spec's {wanted} (metric, target, higher_is_better)")
