"""One MLPerf Training run (a result file) as the summarizer counts it and as RecScale shows it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.mlperf_results.compliance import Compliance
from harness.mlperf_results.resultlog import ResultLog


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


# Closed-division targets as mlperf-logging's compliance rules state them (training_<ruleset>/
# closed_<benchmark>.yaml, ATLEAST_ONE_CHECK); tests/test_mlperf.py checks them against the installed rules.
KNOWN_TARGETS: dict[str, QualityTarget] = {
    "dlrm_dcnv2": QualityTarget("eval_accuracy", 0.80275),  # AUC, training_3.0.0 .. 6.0.0
    "dlrm": QualityTarget("eval_accuracy", 0.8025),  # AUC, training_0.7.0 .. 2.1.0
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    """One ``result_*.txt``: what mlperf-logging read from it, its compliance check, RecScale's view."""

    system: str
    index: int  # position among the system's result files, in natural order of their names
    file: Path
    log: ResultLog
    compliance: Compliance | None  # None: not checked (the round, hence the rules, is not known)
    target: QualityTarget | None

    @property
    def minutes(self) -> float | None:
        """(run_stop - run_start) / 60 / 1000 as the summarizer computes it; None when either is missing."""
        start, stop = self.log.run_start_stop()
        return None if start is None or stop is None else (stop - start) / 60 / 1000

    @property
    def drop_reason(self) -> str | None:
        """Why the summarizer does not count this run (its message first), or None when it counts it."""
        fatal = self.log.fatal
        if fatal is not None:
            where = f"line {fatal.line}: " if fatal.line else ""
            return f"{where}{fatal.message}"
        if self.compliance is None:
            return "not checked: the round is not known"
        if not self.compliance.passed:
            return f"Compliance check failed: {self.compliance.summary()}"
        start, stop = self.log.run_start_stop()
        if start is None:
            return "run_start not recorded"
        if stop is None:
            return "run_stop not recorded"
        return None

    @property
    def stops_summarizer(self) -> bool:
        """mlperf-logging raises on this file instead of dropping the run."""
        return self.log.fatal is not None or (self.compliance is not None and self.compliance.crash is not None)

    @property
    def counted(self) -> bool:
        return self.drop_reason is None

    def _value(self, key: str) -> Any:
        event = self.log.first(key)
        return None if event is None else event.value

    @property
    def status(self) -> str | None:
        event = self.log.first("run_stop")
        status = None if event is None else event.metadata.get("status")
        return status if isinstance(status, str) else None

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
            epoch = float(epoch) if _is_number(epoch) and math.isfinite(epoch) else None
            samples = e.metadata.get("samples_count")
            if not (isinstance(samples, int) and not isinstance(samples, bool)):
                seen = epoch * train if epoch is not None and _is_number(train) else math.nan
                samples = round(seen) if math.isfinite(seen) else None
            points.append(EvalPoint(epoch, samples, e.value, e.time_ms, e.line))
        return points

    @property
    def reached_target(self) -> bool | None:
        """Whether some evaluation reached the benchmark's target (None: target unknown)."""
        if self.target is None:
            return None
        return any(_is_number(p.value) and self.target.reached(float(p.value)) for p in self.evals)
