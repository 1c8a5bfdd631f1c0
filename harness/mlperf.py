"""The MLPerf log-line format as RecScale writes and checks it, and MLPerf's olympic mean.

A log line is ``:::MLLOG {json}`` where the JSON object has ``namespace``, ``time_ms``,
``event_type`` (``POINT_IN_TIME``, ``INTERVAL_START``, ``INTERVAL_END``), ``key``, ``value`` and
``metadata`` (what ``mlperf_logging.mllog`` writes). :func:`parse_mllog_lines` reads RecScale's own
``mllog.txt`` strictly, as RULES.md LOG-1 requires: a line is an event only when it *is*
``:::MLLOG {json}`` (no prefix), ``:::SYSJSON {json}`` lines are kept apart, any other text is
counted, and every malformed event line is a Problem. Real MLPerf result packages are read the way
mlperf-logging reads them (prefixes, shell trace lines, latin-1, last token on a line) by
:mod:`harness.mlperf_results` instead.

:func:`olympic_mean` is the result summarizer's ``_compute_olympic_average`` (mlperf-logging 4.1),
which RecScale's own leaderboard uses too (RULES.md SCORE-1).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recscale.errors import InputError, Problem

MLLOG_TOKEN = ":::MLLOG"
SYSJSON_TOKEN = ":::SYSJSON"
EVENT_TYPES = frozenset({"POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"})
MAX_LOG_BYTES = 64 << 20  # a real MLPerf log is well under 1 MiB; anything this big is not a log


@dataclass(frozen=True, slots=True)
class MLLogEvent:
    """One ``:::MLLOG`` line. ``line`` is 1-based in its file."""

    line: int
    time_ms: float
    event_type: str
    key: str
    value: Any
    metadata: dict[str, Any]
    namespace: str = ""


@dataclass(frozen=True)
class ParsedLog:
    """Every event of one log file, in file order, plus what was not an event."""

    file: str
    events: tuple[MLLogEvent, ...]
    sysjson: tuple[tuple[int, Any], ...] = ()  # (line, payload) of each ``:::SYSJSON`` line
    other_lines: int = 0  # non-empty lines that do not start with either token (launcher output)

    def first(self, key: str) -> MLLogEvent | None:
        return next((e for e in self.events if e.key == key), None)

    def all(self, key: str) -> list[MLLogEvent]:
        return [e for e in self.events if e.key == key]


# ------------------------------------------------------------------------------------ parsing


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _event(payload: Any, line: int, file: str) -> tuple[MLLogEvent | None, str | None]:
    """The event a decoded ``:::MLLOG`` payload describes, or the reason it is not one."""
    if not isinstance(payload, dict):
        return None, f"the JSON after {MLLOG_TOKEN} must be an object, got {type(payload).__name__}"
    missing = [k for k in ("time_ms", "event_type", "key", "value", "metadata") if k not in payload]
    if missing:
        return None, f"missing field(s) {', '.join(missing)}"
    time_ms, event_type, key = payload["time_ms"], payload["event_type"], payload["key"]
    metadata, namespace = payload["metadata"], payload.get("namespace", "")
    if not _is_number(time_ms) or not math.isfinite(time_ms):
        return None, f"time_ms must be a finite number, got {time_ms!r}"
    if event_type not in EVENT_TYPES:
        return None, f"event_type must be one of {sorted(EVENT_TYPES)}, got {event_type!r}"
    if not isinstance(key, str) or not key:
        return None, f"key must be a non-empty string, got {key!r}"
    if metadata is None:
        metadata = {}  # mllog writes {} but some loggers write null for "no metadata"
    if not isinstance(metadata, dict):
        return None, f"metadata must be an object, got {type(metadata).__name__}"
    if not isinstance(namespace, str):
        return None, f"namespace must be a string, got {namespace!r}"
    return MLLogEvent(line, time_ms, event_type, key, payload["value"], metadata, namespace), None


def _json_error(err: ValueError | RecursionError) -> str:
    """What json.loads refused, in a few words."""
    if isinstance(err, json.JSONDecodeError):
        return err.msg
    if isinstance(err, RecursionError):
        return "nested too deeply"
    return str(err).split(";")[0]  # Python's limit on integer digits: "Exceeds the limit (4300 digits) ..."


def parse_mllog_lines(lines: Iterable[str], file: str) -> tuple[ParsedLog, list[Problem]]:
    """Parse RecScale log lines strictly; malformed ``:::MLLOG``/``:::SYSJSON`` lines become Problems ("line N").

    A line counts as an event (or SYSJSON) only when it starts with the token; text before a token
    (``0: :::MLLOG ...``, ``+ echo ':::SYSJSON ...'``) makes it other text, which LOG-1 reports.
    Never raises on content: the checker reports every bad line, not just the first.
    """
    events: list[MLLogEvent] = []
    sysjson: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    other = 0
    for number, raw in enumerate(lines, start=1):
        token, _, body = raw.strip().partition(" ")  # the line starts with its token, or it is other text
        if token not in (MLLOG_TOKEN, SYSJSON_TOKEN):
            other += bool(token)
            continue
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as err:  # ValueError: also an integer of more than 4,300 digits
            problems.append(Problem(file, f"line {number}", f"{token} line is not valid JSON: {_json_error(err)}"))
            continue
        if token == SYSJSON_TOKEN:
            sysjson.append((number, payload))
            continue
        event, why = _event(payload, number, file)
        if event is None:
            problems.append(Problem(file, f"line {number}", f"not an MLPerf log event: {why}"))
        else:
            events.append(event)
    return ParsedLog(file, tuple(events), tuple(sysjson), other), problems


def read_log_text(path: Path, max_bytes: int = MAX_LOG_BYTES) -> str:
    """The text of a log file; InputError when it is missing, too big or not text."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError([Problem(str(path), "", f"{size} bytes is more than the {max_bytes} a log may hold")])
        data = path.read_bytes()
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read: {err.strerror or err}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError([Problem(str(path), f"byte {err.start}", "not UTF-8 text")]) from None


def parse_mllog(path: Path) -> ParsedLog:
    """Parse one log file; InputError naming file and line for anything that cannot be read."""
    parsed, problems = parse_mllog_lines(read_log_text(path).splitlines(), str(path))
    if problems:
        raise InputError(problems)
    return parsed


# ------------------------------------------------------------------------------------ scoring


def olympic_mean(values: Sequence[float], n_drop: int = 1, already_dropped: int = 0) -> float:
    """MLPerf's olympic average: drop the `n_drop` fastest and slowest values, average the rest.

    Follows ``_compute_olympic_average`` of mlperf-logging's result summarizer: with n = 10 runs and
    n_drop = 1 it is the mean of the middle 8. Runs that did not converge are removed before the
    call and counted in `already_dropped`; they stand for the slowest values, so that many fewer
    are dropped from the top (10 runs, 1 failed: mean of the 9 successes minus the fastest).
    Raises ValueError when nothing is left to average (or a value is not finite).
    """
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"olympic_mean needs finite values, got {list(values)}")
    if n_drop < 0 or not 0 <= already_dropped <= n_drop:
        raise ValueError(f"need 0 <= already_dropped ({already_dropped}) <= n_drop ({n_drop})")
    ordered = sorted(values)
    kept = ordered[n_drop:len(ordered) - (n_drop - already_dropped)]
    if not kept:
        raise ValueError(f"olympic mean of {len(values)} value(s) dropping {n_drop} each side: nothing left")
    return math.fsum(kept) / len(kept)
