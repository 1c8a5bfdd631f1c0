"""The logs concern: what is wrong with each run's mllog.txt (LOG-1..4).

The log is read into facts by harness.runlog (the runner's own reader; the events are parsed
with harness.mlperf, the reader of real MLPerf packages). The facts feed the timing concern and
the derivation of the run's record (harness.record, compared with result.json by the agreement
concern); here they are held against RULES.md: every line an event (LOG-1), every required key
once with its event type and value type (LOG-2), evaluations after run_start and well formed
(LOG-3, LOG-4).
"""

from __future__ import annotations

from typing import Any

from harness.check.findings import Findings
from harness.check.specview import SpecView
from harness.mlperf import MLLogEvent
from harness.runlog import EVALUATION, STATUSES, LogFacts, as_int, as_number, is_metrics, read_log
from recscale import logkeys as k
from recscale.hyperparams import HYPERPARAMETERS

PIT, START, END = "POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"
SUBMISSION_KEYS = (k.SUBMISSION_BENCHMARK, k.SUBMISSION_DIVISION, k.SUBMISSION_ORG, k.SUBMISSION_PLATFORM,
                   k.SUBMISSION_STATUS)
# Logged inside initialisation (TIME-1): key -> value kind.
INIT_KEYS: dict[str, str] = {**{entry.key: entry.kind for entry in HYPERPARAMETERS}, k.BAYES: "quality_or_null"}
ONCE: dict[str, tuple[str, str]] = {  # RULES.md LOG-2: key -> (event type, value kind)
    **{key: (PIT, "str") for key in SUBMISSION_KEYS},
    k.INIT_START: (START, "null"), k.INIT_STOP: (END, "null"), k.RUN_START: (START, "null"),
    k.RUN_STOP: (END, "null"),
    **{key: (PIT, kind) for key, kind in INIT_KEYS.items()},
    k.TRAIN_SAMPLES_PER_S: (PIT, "number"),
    k.PASS_END: (PIT, "metrics_or_null"),
}
# recscale_staging_s, recscale_cuda_graphs: logs made before they were logged have none (TIME-6)
OPTIONAL: dict[str, tuple[str, str]] = {k.ABORT_REASON: (PIT, "str"), k.STAGING_S: (PIT, "number"),
                                        k.CUDA_GRAPHS: (PIT, "bool")}
EVAL_KEYS: dict[str, tuple[str, str]] = dict(zip(EVALUATION, ((START, "null"), (END, "null"), (PIT, "metric"),
                                                              (PIT, "metrics")), strict=True))


def kind_ok(value: Any, kind: str) -> bool:
    """Whether a logged value has the LOG-2 kind."""
    if kind == "null":
        return value is None
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return as_int(value) is not None
    if kind == "number":
        return as_number(value) is not None
    if kind == "metric":
        return value is None or as_number(value) is not None
    if kind in ("metrics_or_null", "quality_or_null") and value is None:
        return True
    return is_metrics(value, allow_null=kind != "quality_or_null")


# ------------------------------------------------------------------------------------- LOG-1, 2


def parse(text: str, file: str, out: Findings) -> LogFacts:
    """LOG-1: parse; every malformed line and all other text is reported."""
    facts, problems = read_log(text, file)
    for problem in problems:
        out.error("LOG-1", file, f"{problem.path}: {problem.message}")
    if facts.other_lines:
        out.error("LOG-1", file, f"{facts.other_lines} line(s) are not :::MLLOG events")
    return facts


def _events(facts: LogFacts, key: str) -> list[MLLogEvent]:
    return [facts.events[i] for i in facts.positions.get(key, ())]


def check_presence(facts: LogFacts, out: Findings) -> None:
    """LOG-2: each required key once with its event type and value kind; evaluations present."""
    for key in ONCE | OPTIONAL:
        found = _events(facts, key)
        if len(found) > 1:
            out.error("LOG-2", facts.file, f"{key} appears {len(found)} times (lines "
                      f"{', '.join(str(e.line) for e in found[:5])}); once is required")
        elif not found and key in ONCE:
            out.error("LOG-2", facts.file, f"{key} is missing")
    for key, (etype, kind) in (ONCE | OPTIONAL | EVAL_KEYS).items():
        for event in _events(facts, key):
            if event.event_type != etype:
                out.error("LOG-2", facts.file, f"line {event.line}: {key} must be {etype}, got {event.event_type}")
            if not kind_ok(event.value, kind):
                out.error("LOG-2", facts.file, f"line {event.line}: {key} value must be {kind}, got "
                          f"{_short(event.value)}")
    stop = facts.once(k.RUN_STOP)
    if stop is not None and stop.metadata.get(k.STATUS) not in STATUSES:
        out.error("LOG-2", facts.file, f"line {stop.line}: run_stop metadata.status must be success or "
                  f"aborted, got {_short(stop.metadata.get(k.STATUS))}")
    if facts.status == k.ABORTED and not facts.count(k.ABORT_REASON):
        out.error("LOG-2", facts.file, "aborted run without recscale_abort_reason")
    if facts.status == k.SUCCESS and facts.count(k.ABORT_REASON):
        out.error("LOG-2", facts.file, "recscale_abort_reason in a successful run")
    if not facts.count(k.EVAL_ACCURACY) and not facts.diverged:
        out.error("LOG-2", facts.file, "no evaluation (eval_accuracy): only a diverged run may have none")
    for key in sorted(set(facts.positions) - set(ONCE) - set(OPTIONAL) - set(EVAL_KEYS)):
        out.note("LOG-2", facts.file, f"key {key!r} is not one RecScale logs (line {_events(facts, key)[0].line})")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------- LOG-3, 4


def collect_evaluations(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """LOG-3 and LOG-4: evaluations after run_start, well formed, increasing; their values."""
    run_start = facts.position(k.RUN_START)
    starts = sorted([e.position for e in facts.evaluations] + facts.stray + facts.broken)
    for i in starts:
        if run_start is None or i < run_start:
            out.error("LOG-3", facts.file, f"line {facts.events[i].line}: {facts.events[i].key} before run_start")
    for i in facts.stray:
        out.error("LOG-4", facts.file, f"line {facts.events[i].line}: {facts.events[i].key} outside an evaluation")
    for i in facts.broken:
        window = facts.events[i:i + len(EVALUATION)]
        out.error("LOG-4", facts.file, f"line {facts.events[i].line}: an evaluation is eval_start, eval_stop, "
                  f"eval_accuracy, recscale_eval_metrics in a row; got {', '.join(e.key for e in window)}")
    for evaluation in facts.evaluations:
        epoch = evaluation.epoch
        if epoch is None:
            out.error("LOG-4", facts.file, f"line {evaluation.line}: the four events of an evaluation need one "
                      f"numeric metadata.epoch_num, got {evaluation.epochs}")
        elif not 0.0 < epoch <= 1.0 + 1e-9:
            out.error("LOG-4", facts.file, f"line {evaluation.line}: epoch_num {epoch} is not in (0, 1]")
        if evaluation.samples is None:
            out.error("LOG-4", facts.file, f"line {evaluation.events[2].line}: eval_accuracy and "
                      f"recscale_eval_metrics need one int metadata.samples_count, got {evaluation.counts}")
    _check_increasing(facts, spec, out)
    _check_values(facts, spec, out)


def _check_increasing(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    for before, after in zip(facts.evaluations, facts.evaluations[1:], strict=False):
        if before.epoch is not None and after.epoch is not None and after.epoch <= before.epoch:
            out.error("LOG-4", facts.file, f"line {after.line}: epoch_num {after.epoch} does not increase "
                      f"(previous {before.epoch})")
        if before.samples is not None and after.samples is not None and after.samples <= before.samples:
            out.error("LOG-4", facts.file, f"line {after.line}: samples_count {after.samples} does not increase "
                      f"(previous {before.samples})")
    train = as_int(facts.value(k.TRAIN_SAMPLES))
    if train is not None and spec.passes is not None:
        for evaluation in facts.evaluations:
            if evaluation.samples is not None and evaluation.samples > train * spec.passes:
                out.error("LOG-4", facts.file, f"line {evaluation.line}: samples_count {evaluation.samples} is "
                          f"more than train_samples x passes = {train * spec.passes}")


def _check_values(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """eval_accuracy is the spec's metric; pass_end is the last evaluation's metrics (LOG-4)."""
    if spec.metric is not None:
        for evaluation in facts.evaluations:
            metrics = evaluation.metrics
            if metrics is not None and metrics[spec.metric] != evaluation.value:
                out.error("LOG-4", facts.file, f"line {evaluation.line}: eval_accuracy {evaluation.value!r} is not "
                          f"the {spec.metric} of recscale_eval_metrics ({metrics[spec.metric]!r})")
    end = facts.once(k.PASS_END)
    if end is None:
        return
    samples = as_int(end.metadata.get(k.SAMPLES_COUNT))
    last = facts.evaluations[-1] if facts.evaluations else None
    if samples is None or samples < 0:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end needs an int metadata.samples_count")
    elif last is not None and last.samples is not None and samples < last.samples:
        out.error("LOG-4", facts.file, f"line {end.line}: the pass ends at {samples} samples, before the last "
                  f"evaluation ({last.samples})")
    epoch = as_number(end.metadata.get(k.EPOCH_NUM))
    if epoch is None or not 0.0 <= epoch <= 1.0 + 1e-9 or (not facts.diverged and abs(epoch - 1.0) > 1e-9):
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end metadata.epoch_num must be 1 (the "
                  f"whole pass; less only when diverged), got {end.metadata.get(k.EPOCH_NUM)!r}")
    if facts.diverged and end.value is not None:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end of a diverged run must be null")
    elif not facts.diverged and last is not None and end.value != last.metrics:
        out.error("LOG-4", facts.file, f"line {end.line}: recscale_pass_end value is not the last evaluation's "
                  "metrics")
