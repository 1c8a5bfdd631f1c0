"""The logs concern: each run's mllog.txt parsed and checked (LOG-1..5, TIME-1/3/4/5, CONV-1).

The log is parsed with harness.mlperf (the same reader as real MLPerf packages). What the log
says (the evaluations, run_stop, the pass end) is returned as LogFacts for the agreement check
with result.json (harness.check.agreement) and the rules concern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.check.findings import Findings
from harness.check.specview import SpecView
from harness.mlperf import MLLogEvent, parse_mllog_lines
from recscale import logkeys as k

PIT, START, END = "POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"
SUBMISSION_KEYS = (k.SUBMISSION_BENCHMARK, k.SUBMISSION_DIVISION, k.SUBMISSION_ORG, k.SUBMISSION_PLATFORM,
                   k.SUBMISSION_STATUS)
HYPER_KEYS: dict[str, str] = {  # logged inside initialisation (TIME-1): key -> value kind
    k.SEED: "int", k.GLOBAL_BATCH_SIZE: "int", k.OPT_NAME: "str", k.OPT_BASE_LR: "number",
    k.OPT_ADAGRAD_EPSILON: "number", k.SPARSE_OPT_NAME: "str", k.SPARSE_LEARNING_RATE: "number",
    k.TRAIN_SAMPLES: "int", k.EVAL_SAMPLES: "int", k.WORKLOAD_VERSION: "int", k.POINT_ID: "str",
    k.SPEC_SHA256: "str", k.EMBEDDING_BACKEND: "str", k.WORLD_SIZE: "int",
}
ONCE: dict[str, tuple[str, str]] = {  # RULES.md LOG-2: key -> (event type, value kind)
    **{key: (PIT, "str") for key in SUBMISSION_KEYS},
    k.INIT_START: (START, "null"), k.INIT_STOP: (END, "null"), k.RUN_START: (START, "null"),
    k.RUN_STOP: (END, "null"),
    **{key: (PIT, kind) for key, kind in HYPER_KEYS.items()},
    k.PASS_END: (PIT, "metrics_or_null"),
}
OPTIONAL: dict[str, tuple[str, str]] = {k.ABORT_REASON: (PIT, "str"), k.TRAIN_SAMPLES_PER_S: (PIT, "number")}
EVAL_GROUP: tuple[tuple[str, str, str], ...] = (
    (k.EVAL_START, START, "null"), (k.EVAL_STOP, END, "null"),
    (k.EVAL_ACCURACY, PIT, "metric"), (k.EVAL_METRICS, PIT, "metrics"),
)
EVAL_KEYS = {key: (etype, kind) for key, etype, kind in EVAL_GROUP}
METRIC_NAMES = ("ne", "logloss", "auc", "calibration")
STATUSES = (k.SUCCESS, k.ABORTED)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: Any) -> float | None:
    """A finite int or float as a float (booleans are not numbers here), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def kind_ok(value: Any, kind: str) -> bool:
    """Whether a logged value has the LOG-2 kind."""
    if kind == "null":
        return value is None
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return as_int(value) is not None
    if kind == "number":
        return as_number(value) is not None
    if kind == "metric":
        return value is None or as_number(value) is not None
    if kind == "metrics_or_null" and value is None:
        return True
    return (isinstance(value, dict) and set(value) == set(METRIC_NAMES)
            and all(kind_ok(value[name], "metric") for name in METRIC_NAMES))


@dataclass
class EvalGroup:
    """One complete evaluation (RULES.md LOG-4): four consecutive events."""

    position: int  # index of its eval_start among the log's events
    line: int
    epoch: float | None
    samples: int | None
    value: Any  # eval_accuracy's value
    metrics: dict[str, Any] | None  # recscale_eval_metrics' value when well formed
    stop_ms: float  # eval_stop's time


@dataclass
class LogFacts:
    """What one log says, for the agreement with result.json."""

    file: str
    events: tuple[MLLogEvent, ...]
    once: dict[str, MLLogEvent] = field(default_factory=dict)  # keys seen exactly once
    positions: dict[str, int] = field(default_factory=dict)  # their index among the events
    groups: list[EvalGroup] = field(default_factory=list)
    status: str | None = None
    hit: int | None = None  # index in groups of the evaluation run_stop followed (success)

    def value(self, key: str) -> Any:
        event = self.once.get(key)
        return None if event is None else event.value

    def position(self, key: str) -> int | None:
        return self.positions.get(key)

    @property
    def diverged(self) -> bool:
        """The loss turned non-finite: an abort reason says so, or (after a success) the pass ends in null."""
        reason = self.value(k.ABORT_REASON)
        if isinstance(reason, str) and reason.startswith("diverged"):
            return True
        return self.status == k.SUCCESS and k.PASS_END in self.once and self.value(k.PASS_END) is None


# ------------------------------------------------------------------------------------- LOG-1, 2


def parse(text: str, file: str, out: Findings) -> LogFacts:
    """LOG-1: parse; every malformed line and all other text is reported."""
    parsed, problems = parse_mllog_lines(text.splitlines(), file)
    for problem in problems:
        out.error("LOG-1", file, f"{problem.path}: {problem.message}")
    if parsed.other_lines or parsed.sysjson:
        out.error("LOG-1", file, f"{parsed.other_lines + len(parsed.sysjson)} line(s) are not :::MLLOG events")
    return LogFacts(file, parsed.events)


def check_presence(facts: LogFacts, out: Findings) -> None:
    """LOG-2: each required key once with its event type and value kind; evaluations present."""
    by_key: dict[str, list[MLLogEvent]] = {}
    first: dict[str, int] = {}
    for index, event in enumerate(facts.events):
        by_key.setdefault(event.key, []).append(event)
        first.setdefault(event.key, index)
    for key in ONCE | OPTIONAL:
        found = by_key.get(key, [])
        if len(found) > 1:
            out.error("LOG-2", facts.file, f"{key} appears {len(found)} times (lines "
                      f"{', '.join(str(e.line) for e in found[:5])}); once is required")
        elif not found and key in ONCE:
            out.error("LOG-2", facts.file, f"{key} is missing")
        elif found:
            facts.once[key] = found[0]
            facts.positions[key] = first[key]
    for key, (etype, kind) in (ONCE | OPTIONAL | EVAL_KEYS).items():
        for event in by_key.get(key, []):
            if event.event_type != etype:
                out.error("LOG-2", facts.file, f"line {event.line}: {key} must be {etype}, got {event.event_type}")
            if not kind_ok(event.value, kind):
                out.error("LOG-2", facts.file, f"line {event.line}: {key} value must be {kind}, got "
                          f"{_short(event.value)}")
    stop = facts.once.get(k.RUN_STOP)
    if stop is not None:
        facts.status = stop.metadata.get(k.STATUS)
        if facts.status not in STATUSES:
            out.error("LOG-2", facts.file, f"line {stop.line}: run_stop metadata.status must be success or "
                      f"aborted, got {_short(facts.status)}")
            facts.status = None
    if facts.status == k.ABORTED and k.ABORT_REASON not in by_key:
        out.error("LOG-2", facts.file, "aborted run without recscale_abort_reason")
    if facts.status == k.SUCCESS and k.ABORT_REASON in by_key:
        out.error("LOG-2", facts.file, "recscale_abort_reason in a successful run")
    if not by_key.get(k.EVAL_ACCURACY) and not facts.diverged:
        out.error("LOG-2", facts.file, "no evaluation (eval_accuracy): only a diverged run may have none")
    for key in sorted(set(by_key) - set(ONCE) - set(OPTIONAL) - set(EVAL_KEYS)):
        out.note("LOG-2", facts.file, f"key {key!r} is not one RecScale logs (line {by_key[key][0].line})")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------- LOG-3, 4


def _metadata_number(event: MLLogEvent, key: str) -> float | None:
    return as_number(event.metadata.get(key))


def _group(facts: LogFacts, i: int, out: Findings) -> EvalGroup | None:
    """The evaluation starting at events[i] (an eval_start) when its four events are there."""
    events = facts.events
    window = events[i:i + len(EVAL_GROUP)]
    if [e.key for e in window] != [key for key, _, _ in EVAL_GROUP]:
        out.error("LOG-4", facts.file, f"line {events[i].line}: an evaluation is eval_start, eval_stop, "
                  f"eval_accuracy, recscale_eval_metrics in a row; got {', '.join(e.key for e in window)}")
        return None
    start, stop, accuracy, metrics = window
    epochs = [_metadata_number(e, k.EPOCH_NUM) for e in window]
    if epochs[0] is None or any(e != epochs[0] for e in epochs):
        out.error("LOG-4", facts.file, f"line {start.line}: the four events of an evaluation need one numeric "
                  f"metadata.epoch_num, got {[e.metadata.get(k.EPOCH_NUM) for e in window]}")
    elif not 0.0 < epochs[0] <= 1.0 + 1e-9:
        out.error("LOG-4", facts.file, f"line {start.line}: epoch_num {epochs[0]} is not in (0, 1]")
    counts = [as_int(e.metadata.get(k.SAMPLES_COUNT)) for e in (accuracy, metrics)]
    if counts[0] is None or counts[0] < 0 or counts[0] != counts[1]:
        out.error("LOG-4", facts.file, f"line {accuracy.line}: eval_accuracy and recscale_eval_metrics need one "
                  f"int metadata.samples_count, got {[e.metadata.get(k.SAMPLES_COUNT) for e in (accuracy, metrics)]}")
    return EvalGroup(i, start.line, epochs[0], counts[0] if counts[0] == counts[1] else None, accuracy.value,
                     metrics.value if kind_ok(metrics.value, "metrics") else None, stop.time_ms)


def collect_evaluations(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """LOG-3 and LOG-4: evaluations after run_start, well formed, increasing; their values."""
    run_start = facts.position(k.RUN_START)
    i = 0
    while i < len(facts.events):
        event = facts.events[i]
        if event.key not in EVAL_KEYS:
            i += 1
            continue
        if run_start is None or i < run_start:
            out.error("LOG-3", facts.file, f"line {event.line}: {event.key} before run_start")
        if event.key != k.EVAL_START:
            out.error("LOG-4", facts.file, f"line {event.line}: {event.key} outside an evaluation")
            i += 1
            continue
        group = _group(facts, i, out)
        if group is None:
            i += 1
            continue
        facts.groups.append(group)
        i += len(EVAL_GROUP)
    _check_increasing(facts, spec, out)
    _check_values(facts, spec, out)


def _check_increasing(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    for before, after in zip(facts.groups, facts.groups[1:], strict=False):
        if before.epoch is not None and after.epoch is not None and after.epoch <= before.epoch:
            out.error("LOG-4", facts.file, f"line {after.line}: epoch_num {after.epoch} does not increase "
                      f"(previous {before.epoch})")
        if before.samples is not None and after.samples is not None and after.samples <= before.samples:
            out.error("LOG-4", facts.file, f"line {after.line}: samples_count {after.samples} does not increase "
                      f"(previous {before.samples})")
    train = as_int(facts.value(k.TRAIN_SAMPLES))
    if train is not None and spec.passes is not None:
        for group in facts.groups:
            if group.samples is not None and group.samples > train * spec.passes:
                out.error("LOG-4", facts.file, f"line {group.line}: samples_count {group.samples} is more than "
                          f"train_samples x passes = {train * spec.passes}")


def _check_values(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """eval_accuracy is the spec's metric; pass_end is the last evaluation's metrics (LOG-4)."""
    if spec.metric is not None:
        for group in facts.groups:
            if group.metrics is not None and group.metrics[spec.metric] != group.value:
                out.error("LOG-4", facts.file, f"line {group.line}: eval_accuracy {group.value!r} is not the "
                          f"{spec.metric} of recscale_eval_metrics ({group.metrics[spec.metric]!r})")
    end = facts.once.get(k.PASS_END)
    if end is None:
        return
    samples = as_int(end.metadata.get(k.SAMPLES_COUNT))
    last = facts.groups[-1] if facts.groups else None
    if samples is None or samples < 0:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end needs an int metadata.samples_count")
    elif last is not None and last.samples is not None and samples < last.samples:
        out.error("LOG-4", facts.file, f"line {end.line}: the pass ends at {samples} samples, before the last "
                  f"evaluation ({last.samples})")
    epoch = _metadata_number(end, k.EPOCH_NUM)
    if epoch is None or not 0.0 <= epoch <= 1.0 + 1e-9 or (not facts.diverged and abs(epoch - 1.0) > 1e-9):
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end metadata.epoch_num must be 1 (the "
                  f"whole pass; less only when diverged), got {end.metadata.get(k.EPOCH_NUM)!r}")
    if facts.diverged and end.value is not None:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end of a diverged run must be null")
    elif not facts.diverged and last is not None and end.value != last.metrics:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end value is not the last evaluation's "
                  "metrics")
