"""MLPerf-format event log of one run (":::MLLOG {json}" lines), written with mlperf-logging.

Each run gets its own `logging.Logger` writing to its own `mllog.txt`, so runs in one process
never share handlers. The event order and RecScale's own keys are in RULES.md (LOG-*); harness.runlog
reads a finished log back, and harness.record derives the run's result.json from it.
"""

from __future__ import annotations

import logging
import math
import os
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


class RunLog:
    """The mllog.txt of one run. `time_ms` may be given so the log and result.json share a clock."""

    def __init__(self, path: Path):
        if str(path) != os.devnull:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._logger = logging.getLogger(f"recscale.mllog.{uuid.uuid4().hex}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler = logging.FileHandler(path, mode="w", encoding="utf-8")
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
        self._handler.flush()
        self._handler.close()
        self._logger.removeHandler(self._handler)

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
