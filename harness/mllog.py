"""MLPerf-format event log of one run (":::MLLOG {json}" lines), written with mlperf-logging.

Each run gets its own `logging.Logger` writing to its own `mllog.txt`, so runs in one process
never share handlers. A write that fails (disk full, quota, file size limit) raises LogWriteError
from the event that could not be written: logging's own handlers would print a traceback per event
and carry on, leaving a run that trains on with a truncated log. The event order and RecScale's
own keys are in RULES.md (LOG-*); harness.runlog reads a finished log back, and harness.record
derives the run's result.json from it.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from mlperf_logging.mllog import mllog

# Where mlperf-logging's caller file names are made relative to (the folder holding `harness/`).
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def now_ms() -> int:
    return int(time.time() * 1000)


def _finite(value: Any) -> Any:
    """JSON has no NaN: a non-finite float is logged as null (the checker reads it as diverged)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


class LogWriteError(OSError):
    """A run's mllog.txt could not be written: the run cannot be recorded, and the next would fail alike."""


def _write_error(path: str, err: BaseException | None) -> LogWriteError:
    code = getattr(err, "errno", None) or errno.EIO
    why = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return LogWriteError(code, f"cannot write the run log {path}: {why}; the run was stopped and has no "
                         "result.json: once the log can be written (space freed, permissions fixed), the same "
                         "command redoes it")


class _StrictFileHandler(logging.FileHandler):
    """A FileHandler for which a failed write is an error, raised once from the event that failed.

    logging.Handler.handleError prints a traceback and goes on; here it raises. mlperf-logging catches
    any error of an event and logs a second line saying so: that line raises the same error without
    writing (the handler failed for good), so the caller sees it, and nothing follows the hole.
    """

    failure: LogWriteError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is not None:
            raise self.failure
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # logging's name for it
        cause = sys.exc_info()[1]
        self.failure = _write_error(self.baseFilename, cause)
        raise self.failure from cause


class RunLog:
    """The mllog.txt of one run. `time_ms` may be given so the log and result.json share a clock."""

    def __init__(self, path: Path):
        if str(path) != os.devnull:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._logger = logging.getLogger(f"recscale.mllog.{uuid.uuid4().hex}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        try:
            self._handler = _StrictFileHandler(path, mode="w", encoding="utf-8")
        except OSError as err:
            raise _write_error(str(path), err) from err
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._logger.addHandler(self._handler)
        self._mllog = mllog.MLLogger(logger=self._logger, default_stack_offset=2, root_dir=str(_SOURCE_ROOT))

    @classmethod
    def discard(cls) -> RunLog:
        """A log that writes nowhere (the non-zero ranks of a multi-process run)."""
        return cls(Path(os.devnull))

    def event(self, key: str, value: Any = None, metadata: dict[str, Any] | None = None,
              time_ms: int | None = None) -> None:
        self._mllog.event(key, _finite(value), metadata=_finite(metadata), time_ms=time_ms)

    def start(self, key: str, metadata: dict[str, Any] | None = None, time_ms: int | None = None) -> None:
        self._mllog.start(key, None, metadata=_finite(metadata), time_ms=time_ms)

    def end(self, key: str, metadata: dict[str, Any] | None = None, time_ms: int | None = None) -> None:
        self._mllog.end(key, None, metadata=_finite(metadata), time_ms=time_ms)

    def close(self) -> None:
        """Flush and close the file; LogWriteError when the last lines cannot be written (unless an
        earlier event failed already: that error is the one being raised)."""
        try:
            self._handler.close()
        except OSError as err:
            if self._handler.failure is None:
                self._handler.failure = _write_error(self._handler.baseFilename, err)
                raise self._handler.failure from err
        finally:
            self._logger.removeHandler(self._handler)

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
