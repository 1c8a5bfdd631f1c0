"""Order and timing of a run's log: TIME-1, TIME-3, TIME-4 (the clock), TIME-5, LOG-3, LOG-5, CONV-1.

Works on the LogFacts of harness.runlog (the log's events and evaluations).
"""

from __future__ import annotations

from harness.check.findings import Findings
from harness.check.logs import INIT_KEYS, SUBMISSION_KEYS
from harness.check.specview import SpecView
from harness.runlog import EVALUATION, LogFacts
from recscale import logkeys as k

CADENCE_STEPS = 2  # LOG-5 tolerance: evaluations happen at whole steps


def check_monotonic(facts: LogFacts, out: Findings) -> None:
    """TIME-4: one wall clock, never going back in file order."""
    previous = None
    for event in facts.events:
        if previous is not None and event.time_ms < previous.time_ms:
            out.error("TIME-4", facts.file, f"line {event.line}: time_ms goes back from {previous.time_ms} "
                      f"(line {previous.line}) to {event.time_ms}")
        previous = event


def check_init(facts: LogFacts, out: Findings) -> None:
    """LOG-3 (submission events first) and TIME-1 (hyper-parameters inside initialisation)."""
    init_start, init_stop, run_start = (facts.position(key) for key in (k.INIT_START, k.INIT_STOP, k.RUN_START))
    if init_start is not None:
        for key in SUBMISSION_KEYS:
            if (at := facts.position(key)) is not None and at > init_start:
                out.error("LOG-3", facts.file, f"line {facts.events[at].line}: {key} after init_start")
    if init_start is not None and init_stop is not None and init_stop < init_start:
        out.error("TIME-1", facts.file, f"line {facts.events[init_stop].line}: init_stop before init_start")
    if init_stop is not None and run_start is not None and run_start < init_stop:
        out.error("TIME-1", facts.file, f"line {facts.events[run_start].line}: run_start before init_stop: "
                  "initialisation would be on the clock")
    if init_start is None or init_stop is None:
        return
    for key in (*INIT_KEYS, k.STAGING_S):
        if (at := facts.position(key)) is not None and not init_start < at < init_stop:
            out.error("TIME-1", facts.file, f"line {facts.events[at].line}: {key} is logged outside "
                      "initialisation (between init_start and init_stop)")


def check_stop(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """TIME-3, TIME-5 and CONV-1: where run_stop is, and whether its status is the target's."""
    run_start, run_stop = facts.position(k.RUN_START), facts.position(k.RUN_STOP)
    if run_stop is None:
        return
    stop_line = facts.events[run_stop].line
    if run_start is not None and run_stop < run_start:
        out.error("LOG-3", facts.file, f"line {stop_line}: run_stop before run_start")
    evaluations = facts.evaluations
    before = [e for e in evaluations if e.position < run_stop]
    after = [e for e in evaluations if e.position > run_stop]
    hits = [i for i, e in enumerate(evaluations) if spec.reached(e.value)]
    first_hit = hits[0] if hits else None
    known = spec.reached(0.0) is not None
    if facts.status == k.SUCCESS:
        if facts.hit is None:
            out.error("TIME-3", facts.file, f"line {stop_line}: run_stop (success) must directly follow the "
                      "evaluation that reached the target")
        if known and (first_hit is None or first_hit >= len(before)):
            out.error("CONV-1", facts.file, f"line {stop_line}: status success, but no evaluation before run_stop "
                      f"reached {spec.metric} {spec.comparison} {spec.target}")
        elif known and first_hit is not None and first_hit < len(before) - 1:
            out.error("CONV-1", facts.file, f"line {evaluations[first_hit].line}: this evaluation already reached "
                      "the target; run_stop must follow the first evaluation that does")
    elif facts.status == k.ABORTED:
        if run_stop == 0 or facts.events[run_stop - 1].key != k.ABORT_REASON:
            out.error("TIME-3", facts.file, f"line {stop_line}: run_stop (aborted) must directly follow "
                      "recscale_abort_reason")
        if after:
            out.error("TIME-5", facts.file, f"line {after[0].line}: evaluation after the run_stop of an aborted run")
        if known and first_hit is not None:
            out.error("CONV-1", facts.file, f"line {evaluations[first_hit].line}: this evaluation reached the "
                      f"target ({spec.metric} {evaluations[first_hit].value}), yet the run says aborted")
    _check_tail(facts, run_stop, out)


def _check_tail(facts: LogFacts, run_stop: int, out: Findings) -> None:
    """TIME-5 and LOG-3: recscale_pass_end last; throughput after the evaluations and run_stop."""
    pass_end = facts.position(k.PASS_END)
    evaluations = facts.evaluations
    last_eval_end = evaluations[-1].position + len(EVALUATION) - 1 if evaluations else -1
    if pass_end is not None:
        if pass_end != len(facts.events) - 1:
            out.error("TIME-5", facts.file, f"line {facts.events[pass_end].line}: recscale_pass_end must be the "
                      "last event")
        if pass_end < run_stop:
            out.error("TIME-5", facts.file, f"line {facts.events[pass_end].line}: recscale_pass_end before run_stop")
    speed = facts.position(k.TRAIN_SAMPLES_PER_S)
    if speed is not None and (speed < run_stop or speed < last_eval_end or (pass_end is not None and speed > pass_end)):
        out.error("LOG-3", facts.file, f"line {facts.events[speed].line}: "
                  "recscale_train_samples_per_s belongs after run_stop and the evaluations, before recscale_pass_end")
    reason = facts.position(k.ABORT_REASON)
    if reason is not None and facts.status == k.ABORTED and reason < last_eval_end:
        out.error("LOG-3", facts.file, f"line {facts.events[reason].line}: recscale_abort_reason before the "
                  "last evaluation")


def check_cadence(facts: LogFacts, spec: SpecView, out: Findings) -> None:
    """LOG-5: evaluations at most eval_every apart, the last at the end of the run."""
    if None in (spec.eval_every, spec.batch_size, spec.train_rows, spec.passes):
        return
    assert spec.eval_every is not None and spec.batch_size is not None  # for the type checker
    tolerance = CADENCE_STEPS * spec.batch_size / (spec.train_rows * spec.passes) + 1e-9  # type: ignore[operator]
    previous = 0.0
    for evaluation in facts.evaluations:
        epoch = evaluation.epoch
        if epoch is None:
            return
        if epoch - previous > spec.eval_every + tolerance:
            out.error("LOG-5", facts.file, f"line {evaluation.line}: evaluation at epoch_num {epoch:.6g}, "
                      f"{epoch - previous:.6g} after the previous one; eval_every is {spec.eval_every}")
        previous = epoch
    if facts.evaluations and not facts.diverged and abs(previous - 1.0) > 1e-9:
        out.error("LOG-5", facts.file, f"the last evaluation is at epoch_num {previous:.6g}; a run ends with an "
                  "evaluation at the end of the pass (epoch_num 1)")
