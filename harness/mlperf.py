"""Reading MLPerf-format logs and MLPerf Training result packages.

Two users share this module:

* the checker (``harness.check``) parses every RecScale ``mllog.txt`` with :func:`parse_mllog`;
* the scorer and ``recscale check --mlperf`` read a real MLPerf Training submitter folder with
  :func:`read_mlperf_package`::

      <root>/results/<system>/<benchmark>/result_<N>.txt     one run's log
      <root>/systems/<system>.json                           the system description

A log line is ``:::MLLOG {json}`` where the JSON object has ``namespace``, ``time_ms``,
``event_type`` (``POINT_IN_TIME``, ``INTERVAL_START``, ``INTERVAL_END``), ``key``, ``value`` and
``metadata`` (what ``mlperf_logging.mllog`` writes). MLPerf logs also hold ``:::SYSJSON {json}``
lines (the system description again) and free text from the launcher; like MLPerf's own parser
(``mlperf_logging.compliance_checker.mlp_parser``) the token may be preceded by a prefix such as a
rank (``0: :::MLLOG ...``). SYSJSON payloads are kept, other text is counted and skipped.

Scores follow MLPerf's result summarizer (mlperf-logging 4.1): a run's time is
``(run_stop.time_ms - run_start.time_ms) / 60000`` minutes, and a system's score is the olympic
mean of its runs (:func:`olympic_mean`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recscale.errors import InputError, Problem

MLLOG_TOKEN = ":::MLLOG"
SYSJSON_TOKEN = ":::SYSJSON"
EVENT_TYPES = frozenset({"POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"})
_RESULT_NAME = re.compile(r"^result_(\d+)\.txt$")
MAX_LOG_BYTES = 64 << 20  # a real MLPerf log is well under 1 MiB; anything this big is not a log


@dataclass(frozen=True)
class QualityTarget:
    """The quality a benchmark's runs must reach: ``key`` logged with ``value >= target``."""

    key: str
    target: float
    higher_is_better: bool = True

    def reached(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return value >= self.target if self.higher_is_better else value <= self.target


# Closed-division targets of the MLPerf Training benchmarks this module knows, as the compliance
# rules of mlperf-logging state them (training_*/closed_<benchmark>.yaml, ATLEAST_ONE_CHECK).
KNOWN_TARGETS: dict[str, QualityTarget] = {
    "dlrm_dcnv2": QualityTarget("eval_accuracy", 0.80275),  # AUC, training_3.0.0 .. 4.1.0
    "dlrm": QualityTarget("eval_accuracy", 0.8025),  # AUC, training_0.7.0 .. 2.1.0
}


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
    other_lines: int = 0  # non-empty lines that carry neither token (launcher output)

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


def parse_mllog_lines(lines: Iterable[str], file: str) -> tuple[ParsedLog, list[Problem]]:
    """Parse log lines; malformed ``:::MLLOG``/``:::SYSJSON`` lines become Problems ("line N").

    Never raises on content: the checker reports every bad line, not just the first.
    """
    events: list[MLLogEvent] = []
    sysjson: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    other = 0
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        token = MLLOG_TOKEN if MLLOG_TOKEN in text else SYSJSON_TOKEN if SYSJSON_TOKEN in text else None
        if token is None:
            other += bool(text)
            continue
        body = text[text.index(token) + len(token):].strip()
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, RecursionError) as err:
            msg = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
            problems.append(Problem(file, f"line {number}", f"{token} line is not valid JSON: {msg}"))
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


# ------------------------------------------------------------------------------------ package


@dataclass(frozen=True)
class EvalPoint:
    """One quality evaluation: ``samples`` is from ``samples_count`` metadata, else epoch x train_samples."""

    epoch_num: float | None
    samples: int | None
    value: Any
    time_ms: float
    line: int


@dataclass(frozen=True)
class MLPerfRun:
    """One ``result_N.txt``: the events and what MLPerf's summarizer reads from them."""

    system: str
    index: int
    file: Path
    log: ParsedLog
    target: QualityTarget | None

    def _value(self, key: str) -> Any:
        event = self.log.first(key)
        return None if event is None else event.value

    @property
    def run_start_ms(self) -> float | None:
        event = self.log.first("run_start")
        return None if event is None else event.time_ms

    @property
    def run_stop_ms(self) -> float | None:
        event = self.log.first("run_stop")
        return None if event is None else event.time_ms

    @property
    def status(self) -> str | None:
        event = self.log.first("run_stop")
        return None if event is None else event.metadata.get("status")

    @property
    def minutes(self) -> float | None:
        """(run_stop - run_start) / 60000, or None when either event is missing."""
        start, stop = self.run_start_ms, self.run_stop_ms
        return None if start is None or stop is None else (stop - start) / 60000.0

    @property
    def global_batch_size(self) -> Any:
        return self._value("global_batch_size")

    @property
    def train_samples(self) -> Any:
        return self._value("train_samples")

    @property
    def eval_samples(self) -> Any:
        return self._value("eval_samples")

    @property
    def submission(self) -> dict[str, Any]:
        """``submission_*`` values by their suffix: benchmark, org, division, status, platform."""
        return {e.key.removeprefix("submission_"): e.value for e in self.log.events
                if e.key.startswith("submission_") and e.event_type == "POINT_IN_TIME"}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """Logged ``opt_*`` values, gradient accumulation and the global batch size."""
        keys = ("global_batch_size", "gradient_accumulation_steps")
        return {e.key: e.value for e in self.log.events if e.key.startswith("opt_") or e.key in keys}

    @property
    def evals(self) -> list[EvalPoint]:
        """Every evaluation of the target's key (``eval_accuracy``), in log order."""
        key = self.target.key if self.target else "eval_accuracy"
        train = self.train_samples
        points = []
        for e in self.log.all(key):
            epoch = e.metadata.get("epoch_num")
            epoch = float(epoch) if _is_number(epoch) else None
            samples = e.metadata.get("samples_count")
            if not (isinstance(samples, int) and not isinstance(samples, bool)):
                samples = round(epoch * train) if epoch is not None and _is_number(train) else None
            points.append(EvalPoint(epoch, samples, e.value, e.time_ms, e.line))
        return points

    @property
    def reached_target(self) -> bool | None:
        """Whether some evaluation reached the benchmark's target (None: target unknown)."""
        if self.target is None:
            return None
        return any(_is_number(p.value) and self.target.reached(float(p.value)) for p in self.evals)

    @property
    def converged(self) -> bool:
        """What MLPerf scores: run_stop says success (the checker verifies the evals agree)."""
        return self.status == "success" and self.minutes is not None


@dataclass(frozen=True)
class MLPerfPackage:
    """An MLPerf Training submitter folder, for one benchmark."""

    root: Path
    benchmark: str
    systems: dict[str, dict[str, Any]]  # system name -> its systems/<name>.json
    runs: tuple[MLPerfRun, ...]
    notes: tuple[Problem, ...] = field(default=())  # what was odd but readable (e.g. no system file)
    problems: tuple[Problem, ...] = field(default=())  # malformed lines or files (strict=False only)

    def runs_of(self, system: str) -> list[MLPerfRun]:
        return [r for r in self.runs if r.system == system]

    def score_minutes(self, system: str) -> float | None:
        """MLPerf's score of one system: olympic mean of the converged runs' minutes.

        As the summarizer does, runs that did not converge are dropped and stand for the slowest
        ones; more than one such run and the system has no score (None).
        """
        runs = self.runs_of(system)
        good = [r.minutes for r in runs if r.converged and r.minutes is not None]
        dropped = len(runs) - len(good)
        if not runs or dropped > 1:
            return None
        try:
            return olympic_mean(good, n_drop=1, already_dropped=dropped)
        except ValueError:
            return None


def _read_system(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read: {err.strerror or err}")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(str(path), "", "not UTF-8 text")]) from None
    except json.JSONDecodeError as err:
        raise InputError([Problem(str(path), f"line {err.lineno}", f"not valid JSON: {err.msg}")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "", f"a system description must be a JSON object, got "
                                  f"{type(data).__name__}")])
    return data


def _result_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in folder.iterdir():
        match = _RESULT_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def read_mlperf_package(root: Path, benchmark: str = "dlrm_dcnv2", strict: bool = True) -> MLPerfPackage:
    """Read ``<root>/results/<system>/<benchmark>/result_N.txt`` and ``<root>/systems/<system>.json``.

    `root` is the submitter folder (e.g. ``.../training_results_v4.0/NVIDIA``). Every unreadable or
    malformed file or line is reported at once as an InputError (file and line); with
    strict=False they are returned in `problems` instead, and a run keeps the events that parsed
    (a checker reports them; only a folder with no results at all raises). A system with results
    but no description is a note, not an error (the summarizer needs it; a reader of times does not).
    """
    root = Path(root)
    results = root / "results"
    if not results.is_dir():
        raise InputError([Problem(str(root), "", "not an MLPerf submitter folder: no results/ folder")])
    problems: list[Problem] = []
    notes: list[Problem] = []
    runs: list[MLPerfRun] = []
    systems: dict[str, dict[str, Any]] = {}
    target = KNOWN_TARGETS.get(benchmark)
    for system_dir in sorted(p for p in results.iterdir() if p.is_dir()):
        bench_dir = system_dir / benchmark
        if not bench_dir.is_dir():
            continue
        system = system_dir.name
        files = _result_files(bench_dir)
        if not files:
            notes.append(Problem(str(bench_dir), "", "no result_N.txt files"))
        for index, path in files:
            try:
                text = read_log_text(path)
            except InputError as err:
                problems += err.problems
                continue
            log, bad = parse_mllog_lines(text.splitlines(), str(path))
            problems += bad
            runs.append(MLPerfRun(system, index, path, log, target))
        system_path = root / "systems" / f"{system}.json"
        if system_path.is_file():
            try:
                systems[system] = _read_system(system_path)
            except InputError as err:
                problems += err.problems
        else:
            notes.append(Problem(str(system_path), "", "no system description for this system"))
    if problems and strict:
        raise InputError(problems)
    if not runs and not problems:
        raise InputError([Problem(str(results), "", f"no results/<system>/{benchmark}/result_N.txt files")])
    return MLPerfPackage(root, benchmark, systems, tuple(runs), tuple(notes), tuple(problems))
