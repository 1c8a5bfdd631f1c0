"""A run's mllog.txt read back into facts: its events by key, its evaluations, its outcome.

harness.mllog writes the log; this module reads it (with harness.mlperf's parser, the reader of
real MLPerf packages too) for the two that need what it says: harness.record derives the run's
result.json from it (the runner from its own log, the checker from a submission's), and the
checker reports what is wrong with it (harness.check.logs and timing, RULES.md LOG-*, TIME-*).
Nothing here judges the log: what is malformed (an evaluation that is not four events in a row, a
metadata value of the wrong type, a key logged twice) is left out of the facts, and the checker
says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.mlperf import MLLogEvent, parse_mllog_lines, read_log_text
from recscale import logkeys as k
from recscale.errors import InputError, Problem
from recscale.metrics import METRIC_NAMES, METRICS

EVALUATION: tuple[str, ...] = (k.EVAL_START, k.EVAL_STOP, k.EVAL_ACCURACY, k.EVAL_METRICS)  # in a row (LOG-4)
STATUSES = (k.SUCCESS, k.ABORTED)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: Any) -> float | None:
    """A finite int or float as a float (booleans are not numbers here), else None (also for an
    integer too large for a float, such as 10**400)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def is_metrics(value: Any, allow_null: bool) -> bool:
    """Whether ``value`` is an object of every registered metric, each a value it can take.

    ``allow_null``: a metric may be null, which the runner logs for a non-finite value.
    """
    if not isinstance(value, dict) or value.keys() != set(METRIC_NAMES):
        return False
    for name, metric in METRICS.items():
        number = as_number(value[name])
        if number is None and not (allow_null and value[name] is None):
            return False
        if number is not None and not metric.possible(number):
            return False
    return True


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: eval_start, eval_stop, eval_accuracy, recscale_eval_metrics in a row (LOG-4)."""

    position: int  # index of its eval_start among the log's events
    events: tuple[MLLogEvent, ...]
    epoch: float | None  # the one numeric epoch_num of the four events, else None
    samples: int | None  # the one non-negative int samples_count of the last two, else None
    metrics: dict[str, Any] | None  # recscale_eval_metrics' value when it is a metrics object

    @classmethod
    def of(cls, position: int, events: tuple[MLLogEvent, ...]) -> Evaluation:
        epochs = [as_number(event.metadata.get(k.EPOCH_NUM)) for event in events]
        counts = [as_int(event.metadata.get(k.SAMPLES_COUNT)) for event in events[2:]]
        logged = events[3].value
        return cls(position, events,
                   epoch=epochs[0] if epochs[0] is not None and all(e == epochs[0] for e in epochs) else None,
                   samples=counts[0] if counts[0] is not None and counts[0] >= 0 and counts[0] == counts[1] else None,
                   metrics=logged if is_metrics(logged, allow_null=True) else None)

    @property
    def line(self) -> int:
        return self.events[0].line

    @property
    def stop_ms(self) -> float:
        return self.events[1].time_ms

    @property
    def value(self) -> Any:
        """eval_accuracy's value: the spec's quality metric."""
        return self.events[2].value

    @property
    def logged_metrics(self) -> Any:
        """recscale_eval_metrics' value as logged, well formed or not."""
        return self.events[3].value

    @property
    def epochs(self) -> list[Any]:
        return [event.metadata.get(k.EPOCH_NUM) for event in self.events]

    @property
    def counts(self) -> list[Any]:
        return [event.metadata.get(k.SAMPLES_COUNT) for event in self.events[2:]]


@dataclass
class LogFacts:
    """What one run's log says."""

    file: str
    events: tuple[MLLogEvent, ...]
    other_lines: int = 0  # lines that are not :::MLLOG events
    positions: dict[str, list[int]] = field(default_factory=dict)  # each key's indices among the events
    evaluations: list[Evaluation] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)  # eval_start positions not followed by the other three
    stray: list[int] = field(default_factory=list)  # other evaluation events outside an evaluation

    def count(self, key: str) -> int:
        return len(self.positions.get(key, ()))

    def position(self, key: str) -> int | None:
        """The index of the event `key` when it is logged exactly once."""
        found = self.positions.get(key, ())
        return found[0] if len(found) == 1 else None

    def once(self, key: str) -> MLLogEvent | None:
        """The event `key` when it is logged exactly once."""
        position = self.position(key)
        return None if position is None else self.events[position]

    def value(self, key: str) -> Any:
        event = self.once(key)
        return None if event is None else event.value

    @cached_property
    def status(self) -> str | None:
        """run_stop's metadata.status when run_stop is logged once with success or aborted."""
        stop = self.once(k.RUN_STOP)
        status = None if stop is None else stop.metadata.get(k.STATUS)
        return status if status in STATUSES else None

    @cached_property
    def hit(self) -> int | None:
        """Index in evaluations of the one a successful run_stop directly follows (TIME-3)."""
        stop = self.position(k.RUN_STOP)
        if self.status != k.SUCCESS or stop is None:
            return None
        return next((i for i, e in enumerate(self.evaluations) if e.position + len(EVALUATION) == stop), None)

    @property
    def diverged(self) -> bool:
        """The loss turned non-finite: an abort reason says so, or (after a success) the pass ends in null."""
        reason = self.value(k.ABORT_REASON)
        if isinstance(reason, str) and reason.startswith("diverged"):
            return True
        return self.status == k.SUCCESS and self.count(k.PASS_END) == 1 and self.value(k.PASS_END) is None


def _collect(facts: LogFacts) -> None:
    """Index the events by key and group the evaluations."""
    events = facts.events
    for index, event in enumerate(events):
        facts.positions.setdefault(event.key, []).append(index)
    i = 0
    while i < len(events):
        key = events[i].key
        if key not in EVALUATION:
            i += 1
        elif key != k.EVAL_START:
            facts.stray.append(i)
            i += 1
        elif tuple(e.key for e in events[i:i + len(EVALUATION)]) != EVALUATION:
            facts.broken.append(i)
            i += 1
        else:
            facts.evaluations.append(Evaluation.of(i, events[i:i + len(EVALUATION)]))
            i += len(EVALUATION)


def read_log(text: str, file: str) -> tuple[LogFacts, list[Problem]]:
    """The facts of a log's text, and its lines that are not well-formed events (file and line)."""
    parsed, problems = parse_mllog_lines(text.splitlines(), file)
    facts = LogFacts(file, parsed.events, other_lines=parsed.other_lines + len(parsed.sysjson))
    _collect(facts)
    return facts, problems


def read_own_log(text: str, file: str) -> LogFacts:
    """The facts of a log the harness wrote, which must be well formed; InputError otherwise."""
    facts, problems = read_log(text, file)
    if facts.other_lines:
        problems.append(Problem(file, "", f"{facts.other_lines} line(s) are not :::MLLOG events"))
    if problems:
        raise InputError(problems)
    return facts


def read_log_file(path: Path) -> LogFacts:
    """The facts of a log file that must be well formed (the runner's own); InputError otherwise."""
    return read_own_log(read_log_text(path), str(path))
