"""MLPerf-format event log of one run (":::MLLOG {json}" lines), written with mlperf-logging.

Each run gets its own `logging.Logger` writing to its own `mllog.txt`, so runs in one process
never share handlers. The event order and RecScale's own keys are in RULES.md (LOG-*).
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

from mlperf_logging.mllog import constants, mllog

from harness.paths import REPO_ROOT

# RecScale's keys beside MLPerf's standard ones (mlperf_logging.mllog.constants).
POINT_ID = "recscale_point_id"
SPEC_SHA256 = "recscale_spec_sha256"
WORKLOAD_VERSION = "recscale_workload_version"
SPARSE_OPT_NAME = "recscale_sparse_opt_name"
SPARSE_LEARNING_RATE = "recscale_sparse_learning_rate"
EMBEDDING_BACKEND = "recscale_embedding_backend"
WORLD_SIZE = "recscale_world_size"
EVAL_METRICS = "recscale_eval_metrics"
ABORT_REASON = "recscale_abort_reason"
TRAIN_SAMPLES_PER_S = "recscale_train_samples_per_s"
PASS_END = "recscale_pass_end"


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
        self._mllog = mllog.MLLogger(logger=self._logger, default_stack_offset=2, root_dir=str(REPO_ROOT))

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


# Standard MLPerf keys the runner uses, named once here.
SUBMISSION_BENCHMARK = constants.SUBMISSION_BENCHMARK
SUBMISSION_DIVISION = constants.SUBMISSION_DIVISION
SUBMISSION_ORG = constants.SUBMISSION_ORG
SUBMISSION_PLATFORM = constants.SUBMISSION_PLATFORM
SUBMISSION_STATUS = constants.SUBMISSION_STATUS
INIT_START = constants.INIT_START
INIT_STOP = constants.INIT_STOP
RUN_START = constants.RUN_START
RUN_STOP = constants.RUN_STOP
EVAL_START = constants.EVAL_START
EVAL_STOP = constants.EVAL_STOP
EVAL_ACCURACY = constants.EVAL_ACCURACY
SEED = constants.SEED
GLOBAL_BATCH_SIZE = constants.GLOBAL_BATCH_SIZE
OPT_NAME = constants.OPT_NAME
OPT_BASE_LR = constants.OPT_BASE_LR
OPT_ADAGRAD_EPSILON = constants.OPT_ADAGRAD_EPSILON
TRAIN_SAMPLES = constants.TRAIN_SAMPLES
EVAL_SAMPLES = constants.EVAL_SAMPLES
EPOCH_NUM = constants.EPOCH_NUM
SAMPLES_COUNT = constants.SAMPLES_COUNT
STATUS = constants.STATUS
SUCCESS = constants.SUCCESS
ABORTED = constants.ABORTED
