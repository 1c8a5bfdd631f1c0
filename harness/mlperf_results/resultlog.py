"""One MLPerf result file read exactly as mlperf-logging reads it.

``mlperf_logging.compliance_checker.mlp_parser`` (rulesets 3.0.0 on, the same code in each) opens the
file as latin-1 text with universal newlines, keeps the lines that hold ``:::MLLOG `` anywhere, cuts
each one to the text after the *last* such token (``re.sub(".*:::MLLOG ", ...)``), strips it, and
reads the rest as JSON: ``float(time_ms)``, ``key``, ``value`` and ``metadata``. Everything else --
``:::SYSJSON`` lines, shell trace lines such as ``+ echo ':::SYSJSON {...}'``, launcher output, rank
prefixes such as ``0: `` -- is ignored. A line whose JSON does not decode or whose ``time_ms`` is not a
number is *rejected* (reported; the run then fails the compliance check). A line that lacks one of the
four fields or is not a JSON object makes mlperf-logging raise instead (KeyError, TypeError): the
summarizer stops on such a file, which RecScale reports as *fatal*.

The events are kept as mlperf-logging's ``LogLine`` (what its compliance checker reads) and as
``MLLogEvent`` (RecScale's view, for the learning curves and the checker's findings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.mlperf import MLLogEvent

TOKEN = ":::MLLOG "  # mlp_parser.TOKEN, trailing space included
MAX_RESULT_BYTES = 256 << 20  # a dlrm_dcnv2 log is well under 1 MiB; beyond this it is not read


@dataclass
class LogLine:
    """One event as mlperf-logging's parser returns it; its compliance checker reads these attributes.

    ``lineno`` is the 1-based line of the file (mlperf-logging counts the ``:::MLLOG`` lines from 0),
    so that compliance messages point at the file.
    """

    full_string: str
    timestamp: float
    key: Any
    value: dict[str, Any]  # {"value": ..., "metadata": ...}
    lineno: int


@dataclass(frozen=True)
class LineProblem:
    """A line mlperf-logging's parser rejects, or (fatal) one on which it raises."""

    line: int  # 1-based; 0 for the file as a whole
    message: str
    fatal: bool


@dataclass(frozen=True)
class ResultLog:
    """What mlperf-logging reads from one result file."""

    file: Path
    loglines: tuple[LogLine, ...]
    events: tuple[MLLogEvent, ...]  # the loglines whose key is a string, with event_type and namespace
    problems: tuple[LineProblem, ...] = ()

    @property
    def rejected(self) -> list[LineProblem]:
        return [p for p in self.problems if not p.fatal]

    @property
    def fatal(self) -> LineProblem | None:
        return next((p for p in self.problems if p.fatal), None)

    def first(self, key: str) -> MLLogEvent | None:
        return next((e for e in self.events if e.key == key), None)

    def all(self, key: str) -> list[MLLogEvent]:
        return [e for e in self.events if e.key == key]

    def run_start_stop(self) -> tuple[float | None, float | None]:
        """run_start and run_stop times as the summarizer's ``_query_run_start_stop`` takes them.

        It scans the loglines and stops once it has both: the first run_stop, and the last run_start
        seen before it (or the first after it).
        """
        start = stop = None
        for line in self.loglines:
            if line.key == "run_start":
                start = line.timestamp
            if line.key == "run_stop":
                stop = line.timestamp
            if start is not None and stop is not None:
                break
        return start, stop


def _lines(text: str) -> list[str]:
    """Physical lines as Python's universal-newline text mode yields them (\\n, \\r\\n and \\r end a line)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _event(payload: dict[str, Any], line: LogLine) -> MLLogEvent | None:
    if not isinstance(line.key, str):
        return None
    metadata = payload["metadata"] if isinstance(payload["metadata"], dict) else {}
    event_type, namespace = payload.get("event_type", ""), payload.get("namespace", "")
    return MLLogEvent(line.lineno, line.timestamp, event_type if isinstance(event_type, str) else "",
                      line.key, payload["value"], metadata, namespace if isinstance(namespace, str) else "")


def _read_line(number: int, raw: str) -> tuple[LogLine | None, MLLogEvent | None, LineProblem | None]:
    """One line holding the token, as ``mlp_parser.string_to_logline`` reads it."""
    string = (TOKEN + raw[raw.rindex(TOKEN) + len(TOKEN):]).strip()
    if not string.startswith(TOKEN):  # nothing after the token: strip() took its space
        return None, None, LineProblem(number, "mlperf-logging's parser rejects this line: nothing after "
                                       f"{TOKEN.strip()}", fatal=False)
    try:
        payload = json.loads(string[len(TOKEN):])
        line = LogLine(string, float(payload["time_ms"]), payload["key"],
                       {"value": payload["value"], "metadata": payload["metadata"]}, number)
    except ValueError as err:  # mlp_parser catches ValueError (JSONDecodeError, float("x")) and reports the line
        return None, None, LineProblem(number, f"mlperf-logging's parser rejects this line: {err}", fatal=False)
    except Exception as err:  # anything else propagates out of mlp_parser: the summarizer stops
        what = f"{type(err).__name__}: {err}" if not isinstance(err, KeyError) else f"no field {err}"
        return None, None, LineProblem(number, f"mlperf-logging cannot read this line ({what}); its "
                                       "summarizer and compliance checker stop on this file", fatal=True)
    return line, _event(payload, line), None


def parse_result_text(text: str, file: Path) -> ResultLog:
    """Read decoded result-file text as mlperf-logging does (see the module docstring)."""
    loglines: list[LogLine] = []
    events: list[MLLogEvent] = []
    problems: list[LineProblem] = []
    for number, raw in enumerate(_lines(text), start=1):
        if TOKEN not in raw:
            continue
        line, event, problem = _read_line(number, raw)
        if line is not None:
            loglines.append(line)
        if event is not None:
            events.append(event)
        if problem is not None:
            problems.append(problem)
    return ResultLog(file, tuple(loglines), tuple(events), tuple(problems))


def read_result_log(path: Path) -> ResultLog:
    """Read a result file as latin-1, as mlperf-logging does (every byte is a character: never a decode error).

    A file that cannot be opened, or is larger than MAX_RESULT_BYTES, is one fatal problem.
    """
    try:
        size = path.stat().st_size
        if size > MAX_RESULT_BYTES:
            problem = LineProblem(0, f"{size} bytes is more than the {MAX_RESULT_BYTES} RecScale reads", fatal=True)
            return ResultLog(path, (), (), (problem,))
        data = path.read_bytes()
    except OSError as err:
        return ResultLog(path, (), (), (LineProblem(0, f"cannot read: {err.strerror or err}", fatal=True),))
    return parse_result_text(data.decode("latin-1"), path)
