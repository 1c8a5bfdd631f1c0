"""A system's score as mlperf-logging's result summarizer computes it, or why it has none.

``summarize_results`` skips a system without ``systems/<system>.json`` and stops on one whose
description lacks a field it prints; ``_compute_strong_score_standalone`` then reads every
``result_*.txt``, drops a run that fails the compliance check (or lacks run_start/run_stop), gives no
score when more runs are dropped than the benchmark allows (1; 4 for unet3d), otherwise takes the
olympic mean of the counted minutes (``_compute_olympic_average``: dropped runs stand for the slowest)
and multiplies it by ``scaling_factor`` from ``scaling.json``. Where mlperf-logging would raise
instead (an unreadable line, description or scaling.json) the whole summarizer stops; RecScale refuses
only that system and says why. The package checker (not the summarizer) also wants exactly
``get_result_file_counts`` result files: a different count is a note, not a refusal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlperf_logging.benchmark_meta import get_result_file_counts

from harness.mlperf import olympic_mean
from harness.mlperf_results.package import MLPerfPackage, MLPerfSystem
from harness.mlperf_results.rounds import USAGE

# summarize_results reads these from systems/<system>.json (a missing one stops it) ...
DESCRIPTION_FIELDS = ("division", "status", "submitter", "system_name", "host_processor_model_name",
                      "number_of_nodes", "host_processor_core_count", "host_processors_per_node",
                      "accelerator_model_name", "accelerators_per_node", "framework", "hw_notes", "sw_notes")
# ... and passes these through int() (a value int() refuses stops it too).
INTEGER_FIELDS = ("number_of_nodes", "host_processors_per_node", "accelerators_per_node")


def max_dropped_runs(benchmark: str) -> int:
    """Runs that may fail before a system has no score (``_compute_strong_score_standalone``)."""
    return 4 if benchmark == "unet3d" else 1


def required_runs(benchmark: str) -> int | None:
    """Result files the package checker requires for the benchmark (the same in every round)."""
    return get_result_file_counts(USAGE).get(benchmark)


def _int_refused(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return True
    return False


def description_problem(description: dict[str, Any]) -> str | None:
    """What in a loaded system description stops the summarizer, or None."""
    missing = [name for name in DESCRIPTION_FIELDS if name not in description]
    if missing:
        return f"lacks field(s) {', '.join(missing)}, which the summarizer reads"
    not_int = [f"{name}={description[name]!r}" for name in INTEGER_FIELDS if _int_refused(description[name])]
    if not_int:
        return f"{', '.join(not_int)}: the summarizer needs whole numbers"
    try:
        "TensorFlow" in description["framework"]  # noqa: B015 -- the test _pretty_framework makes
        ";".join(s for s in (description["hw_notes"], description["sw_notes"]) if s)
    except TypeError:
        return "framework, hw_notes and sw_notes must be text"
    return None


@dataclass(frozen=True)
class SystemScore:
    """The summarizer's outcome for one system: a score in minutes, or the reason there is none."""

    score: float | None  # olympic mean x scaling factor
    olympic_mean: float | None
    scaling_factor: float
    counted_minutes: tuple[float, ...]  # sorted
    dropped: int
    reason: str | None  # why there is no score
    notes: tuple[str, ...] = field(default=())


def _stopper(package: MLPerfPackage, system: MLPerfSystem) -> str | None:
    """Why mlperf-logging cannot get through this system at all, or None."""
    if package.round_problem:
        return package.round_problem
    description = system.description_problem
    if description is None and system.description is not None:
        problem = description_problem(system.description)
        description = f"systems/{system.name}.json {problem}; the summarizer stops on it" if problem else None
    if description:
        return description
    stopped = [run for run in system.runs if run.stops_summarizer]
    if stopped:
        return f"{stopped[0].file.name}: {stopped[0].drop_reason}"
    return system.scaling_problem


def score_system(package: MLPerfPackage, system: MLPerfSystem) -> SystemScore:
    """The score (or the reason for none) of `system`, as ``summarize_results`` would give it."""
    runs = system.runs
    counted = sorted(m for r in runs if r.counted and (m := r.minutes) is not None)
    dropped = len(runs) - len(counted)
    notes = []
    required = required_runs(package.benchmark)
    if required is not None and len(runs) != required:
        notes.append(f"{len(runs)} result files; the package checker requires {required} for {package.benchmark}")
    notes += [f"{r.file.name} dropped: {r.drop_reason}" for r in runs if not r.counted and not r.stops_summarizer]

    def outcome(reason: str | None, mean: float | None = None) -> SystemScore:
        score = None if mean is None else mean * system.scaling_factor
        return SystemScore(score, mean, system.scaling_factor, tuple(counted), dropped, reason, tuple(notes))

    stopper = _stopper(package, system)
    if stopper:
        return outcome(stopper)
    allowed = max_dropped_runs(package.benchmark)
    if dropped > allowed:
        return outcome(f"Too many non-converging runs: {dropped} of {len(runs)} dropped, at most {allowed} may be")
    if not all(math.isfinite(m) for m in counted):
        return outcome("a run's run_start or run_stop time is not a finite number")
    try:
        mean = olympic_mean(counted, n_drop=allowed, already_dropped=dropped)
    except ValueError:
        return outcome(f"{len(counted)} counted run(s): none left once the fastest and the slowest are dropped")
    return outcome(None, mean)
