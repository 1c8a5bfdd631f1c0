"""The closed division's boards: time to target across stacks (RULES.md SCORE-1, SCORE-2).

Per workload point and system, the runs' times to target are aggregated as MLPerf's result
summarizer does, with a rule for the small run counts a scaling sweep uses. A sweep's small-data
points may never reach the target (that is what a scaling sweep shows), so systems are ranked by
the time to complete the whole sweep: the sum over its points of the aggregated time of the whole
pass (which every point must run to record its final quality).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from harness.mlperf import olympic_mean
from harness.score.inputs import DEFAULT_INPUTS, CheckInputs, Submission, sweep_points
from harness.score.leaderboard.records import ClosedBoard, ClosedRow, OpenRow, PointTime, Stack
from recscale.metrics import metric as metric_named
from recscale.records import RunResult
from recscale.system import SystemDescription

OLYMPIC_MIN_RUNS = 3  # with fewer runs nothing is dropped (SCORE-1)
Row = TypeVar("Row", ClosedRow, OpenRow)


def stack_of(description: SystemDescription | None) -> Stack:
    """The stack columns of a row, from a system description ("" where it is not described)."""
    if description is None:
        return Stack(accelerator="", framework="", embedding_backend="", device="", nodes="", host_processor="")
    accelerators = description.accelerators_per_node.strip()
    if accelerators not in ("", "0"):
        accelerator = f"{description.number_of_nodes}x{accelerators} {description.accelerator_model_name}".strip()
    else:
        cpu = description.host_processor_model_name
        accelerator = f"CPU ({cpu})" if cpu else "CPU"
    return Stack(accelerator=accelerator, framework=description.framework,
                 embedding_backend=description.embedding_backend, device=description.device,
                 nodes=description.number_of_nodes, host_processor=description.host_processor_model_name,
                 precision=description.precision)


def aggregate_times(times: Sequence[float], n_runs: int) -> tuple[float | None, str, str]:
    """Score of one point from the successful runs' times (seconds) and the number of runs (SCORE-1).

    n_runs >= 3: MLPerf's olympic mean (drop the fastest and the slowest, mean of the rest); a run
    that missed the target stands for the slowest one, and with two or more misses there is no
    score. n_runs 1 or 2: every run must reach the target; the mean of them, nothing dropped.
    Returns (score or None, rule, note).
    """
    failed = n_runs - len(times)
    if n_runs <= 0 or failed < 0:
        raise ValueError(f"{len(times)} successful times for {n_runs} runs")
    if n_runs < OLYMPIC_MIN_RUNS:
        if failed:
            return None, "mean", f"{failed} of {n_runs} run(s) did not reach the target"
        return math.fsum(times) / len(times), "mean", ""
    if failed > 1:
        return None, "olympic", f"{failed} of {n_runs} runs did not reach the target (at most 1 may miss)"
    note = "1 run did not reach the target: it counts as the slowest" if failed else ""
    return olympic_mean(list(times), n_drop=1, already_dropped=failed), "olympic", note


def _point_times(records: Sequence[RunResult], point_id: str) -> PointTime:
    runs = [r for r in records if r.point_id == point_id]
    if not runs:
        return PointTime(point_id=point_id, n_runs=0, n_success=0, time_to_target_s=None, times_s=[],
                         pass_time_s=None, rule="", note="no runs of this point")
    times = sorted(r.time_to_target_s for r in runs if r.status == "success" and r.time_to_target_s is not None)
    score, rule, note = aggregate_times(times, len(runs))
    passes = [r.pass_time_s for r in runs]
    return PointTime(point_id=point_id, n_runs=len(runs), n_success=len(times), time_to_target_s=score,
                     times_s=times, pass_time_s=aggregate_times(passes, len(passes))[0], rule=rule, note=note)


def rank_rows(keyed: Sequence[tuple[float | None, Row]]) -> list[Row]:
    """Rows with a key ranked ascending (ties by submission and system), then the unranked ones by name."""
    scored = sorted(((k, r) for k, r in keyed if k is not None), key=lambda kr: (kr[0], kr[1].submission,
                                                                              kr[1].system))
    rest = sorted((r for k, r in keyed if k is None), key=lambda r: (r.submission, r.system))
    for rank, (_, row) in enumerate(scored, start=1):
        row.rank = rank
    return [r for _, r in scored] + rest


def _row(sub: Submission, system: str, records: Sequence[RunResult], points: Sequence[str]) -> ClosedRow:
    required = max(int(r.spec.get("runs_per_point", 1)) for r in records)
    per_point = [_point_times(records, p) for p in points]
    complete = [p for p in per_point if p.n_runs >= required and p.pass_time_s is not None]
    missing = len(points) - len(complete)
    return ClosedRow(
        rank=None, submission=sub.name, submitter=sub.manifest.submitter, system=system,
        stack=stack_of(sub.systems.get(system)), points_total=len(points), points_complete=len(complete),
        points_reached=sum(p.time_to_target_s is not None for p in per_point),
        sweep_time_s=None if missing else math.fsum(p.pass_time_s for p in complete),  # type: ignore[misc]
        per_point=per_point,
        note=f"not ranked: {missing} of {len(points)} points lack their {required} run(s)" if missing else "",
    )


def closed_boards(submissions: Sequence[Submission], inputs: CheckInputs = DEFAULT_INPUTS) -> list[ClosedBoard]:
    """One board per closed-division workload: per point and system the aggregated time to target."""
    groups: dict[tuple[str, int], list[tuple[Submission, str, list[RunResult]]]] = defaultdict(list)
    for sub in submissions:
        if sub.manifest.division != "closed":
            continue
        by_key: dict[tuple[str, int, str], list[RunResult]] = defaultdict(list)
        for record in sub.records:
            by_key[(record.workload_id, record.workload_version, record.system)].append(record)
        for (workload, version, system), records in sorted(by_key.items()):
            groups[(workload, version)].append((sub, system, records))
    boards = []
    for (workload, version), entries in sorted(groups.items()):
        seen = {r.point_id for _, _, records in entries for r in records}
        points = sweep_points(workload, version, inputs, seen)
        rows = [_row(sub, system, records, points) for sub, system, records in entries]
        quality = entries[0][2][0].quality
        boards.append(ClosedBoard(workload_id=workload, workload_version=version, metric=quality.metric,
                                  target=quality.target, higher_is_better=metric_named(quality.metric).higher_is_better,
                                  points=points, rows=rank_rows([(r.sweep_time_s, r) for r in rows])))
    return boards
