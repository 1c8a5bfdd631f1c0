"""Leaderboards: MLPerf-style aggregation with the small-n rule, closed and open ranking, stacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from score_helpers import Law, make_records, synthetic_points, system_description, write_submission

from harness.score.fits.records import FitSettings
from harness.score.inputs import find_submissions, load_submission
from harness.score.leaderboard.closed import aggregate_times, closed_boards, stack_of
from harness.score.leaderboard.open import build_entries, open_boards
from recscale.errors import InputError


@pytest.mark.parametrize(("times", "n_runs", "expected", "rule"), [
    ([10.0], 1, 10.0, "mean"),
    ([10.0, 14.0], 2, 12.0, "mean"),
    ([10.0], 2, None, "mean"),  # with 1 or 2 runs every run must reach the target
    ([], 1, None, "mean"),
    ([9.0, 10.0, 30.0], 3, 10.0, "olympic"),  # drop fastest and slowest: the median
    ([9.0, 10.0], 3, 10.0, "olympic"),  # the miss is the slowest: drop it and the fastest
    ([9.0], 3, None, "olympic"),  # two misses: no score
    ([5.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0], 10, 5.5, "olympic"),  # MLPerf: mean of the middle 8
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 10, 5.5, "olympic"),  # mean of 2..9
])
def test_aggregate_times(times: list[float], n_runs: int, expected: float | None, rule: str) -> None:
    score, got_rule, note = aggregate_times(times, n_runs)
    assert got_rule == rule
    assert score == (None if expected is None else pytest.approx(expected))
    assert (note != "") == (expected is None or len(times) < n_runs)


def test_aggregate_times_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        aggregate_times([1.0, 2.0], 1)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("subs")
    points = synthetic_points()
    slow = make_records(points, seeds=(0, 1, 2), system="cpu-a", samples_per_s=20_000)
    fast = make_records(points, seeds=(0, 1, 2), system="gpu-b", samples_per_s=200_000)
    write_submission(root / "alpha", slow, [system_description("cpu-a")], submitter="Alpha")
    write_submission(root / "beta", fast, [system_description("gpu-b", accelerator="H100", backend="torchrec")],
                     submitter="Beta")
    better = make_records(points, system="cpu-a", division="open", law=Law(alpha=0.5, b=20.0, beta=0.4))
    write_submission(root / "gamma", better, [system_description("cpu-a", division="open")], submitter="Gamma",
                     division="open")
    incomplete = make_records(points[:-1], seeds=(0, 1, 2), system="cpu-c", samples_per_s=900_000)
    write_submission(root / "delta", incomplete, [system_description("cpu-c")], submitter="Delta")
    return root, [load_submission(p, root) for p in find_submissions(root)]


def test_find_and_load_submissions(submissions) -> None:
    root, subs = submissions
    assert [s.name for s in subs] == ["alpha", "beta", "delta", "gamma"]
    assert len(subs[0].records) == 45 and set(subs[0].systems) == {"cpu-a"}
    assert find_submissions(root / "alpha") == [root / "alpha"]


def test_unreadable_record_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    records = make_records(synthetic_points()[:1])
    write_submission(tmp_path, records, [system_description("cpu-a")])
    result = next(tmp_path.glob("results/*/*/*/run_0/result.json"))
    result.write_text('{"schema_version": 1}')
    with pytest.raises(InputError) as err:
        load_submission(tmp_path, tmp_path)
    assert str(result) in str(err.value) and "not a valid run record" in str(err.value)


def test_closed_board_ranks_the_faster_system_first(submissions) -> None:
    _, subs = submissions
    (board,) = closed_boards(subs)
    assert board.workload_id == "dlrm-synthetic-scaling" and len(board.points) == 15
    ranked = [(r.rank, r.system) for r in board.rows]
    assert ranked == [(1, "gpu-b"), (2, "cpu-a"), (None, "cpu-c")]  # open submissions are not on it
    fast, slow, incomplete = board.rows
    assert slow.sweep_time_s == pytest.approx(10 * fast.sweep_time_s, rel=0.05)
    assert incomplete.sweep_time_s is None and "1 of 15 points" in incomplete.note
    assert fast.stack.accelerator == "1x1 H100" and fast.stack.embedding_backend == "torchrec"
    reached = [p for p in fast.per_point if p.time_to_target_s is not None]
    assert len(reached) == fast.points_reached and 0 < len(reached) < 15  # small data never reaches NE 0.8
    assert all(p.rule == "olympic" and p.n_runs == 3 for p in fast.per_point)
    assert all(p.time_to_target_s <= p.pass_time_s for p in reached)


def test_open_board_ranks_the_better_curve_first(submissions) -> None:
    _, subs = submissions
    entries = build_entries(subs, FitSettings(n_boot=200, seed=0, level=0.95))
    (board,) = open_boards(entries, budget_decades=1.0)
    assert board.data_budget == pytest.approx(2_000_000 * 10)
    first = board.rows[0]
    assert (first.rank, first.submission, first.division) == (1, "gamma", "open")
    truth = Law(alpha=0.5, b=20.0, beta=0.4)
    n_largest = max(r.params.total for r in subs[3].records)
    pred = first.at_data_budget
    assert pred is not None and pred.extrapolated_decades == pytest.approx(1.0)
    assert pred.quality == pytest.approx(truth.ne(n_largest, board.data_budget), rel=1e-3)
    assert pred.lo <= pred.quality <= pred.hi
    assert [r.rank for r in board.rows] == [1, 2, 3, 4]
    assert first.at_compute_budget is not None and first.compute_fit is not None
    assert first.bayes_floor == pytest.approx(Law().bayes)


def test_stack_of_cpu_and_missing_descriptions() -> None:
    cpu = stack_of(system_description("x"))
    assert cpu.accelerator == "CPU (Test CPU)" and cpu.device == "cpu"
    assert cpu.precision == "fp32"  # a description from before the precision was recorded (SYS-3)
    assert stack_of(system_description("x").model_copy(update={"precision": "bf16"})).precision == "bf16"
    assert stack_of(None).accelerator == "" and stack_of(None).precision == ""
