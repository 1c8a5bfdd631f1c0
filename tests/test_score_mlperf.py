"""MLPerf Training dlrm_dcnv2 results on the leaderboard: the summarizer's scores and the learning curves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlperf_catalog import FIXTURES, ROUNDS, SYSTEMS

from harness import cli
from harness.mlperf_results.rounds import round_from_path
from harness.score.leaderboard.mlperf import find_packages, mlperf_rows
from recscale.errors import InputError

V40 = FIXTURES / "mlperf_training_v4.0"
V31 = FIXTURES / "mlperf_training_v3.1"
EXPECTED = {s.system: s.score for s in SYSTEMS}  # the summarizer's scores (tests/mlperf_catalog.py)


@pytest.fixture(scope="module")
def rows():
    return mlperf_rows([V31, V40, ROUNDS], n_boot=200, seed=0, level=0.95)


def test_scores_equal_the_summarizers(rows) -> None:
    assert {r.system: round(r.score_minutes, 4) for r in rows} == EXPECTED
    assert [r.rank for r in rows] == list(range(1, len(SYSTEMS) + 1))  # fewer minutes ranks first
    assert [(r.system, r.round) for r in rows if r.round in ("v3.1", "v4.0")] == [
        ("eos_n16_ngc24.04_merlin_hugectr", "v4.0"), ("ESC_N8A-E12", "v4.0"), ("1xSMC-H100-SXM-80GB", "v4.0"),
        ("eos_ngc23.09_merlin_hugectr", "v3.1")]
    assert {r.source for r in rows if r.system in ("ESC_N8A-E12", "hpf_n8")} == {
        "mlperf_rounds/training_results_v4.0/ASUSTeK", "mlperf_rounds/training_results_v5.1/Cisco"}
    for row in rows:
        fixture = next(s for s in SYSTEMS if s.system == row.system)
        assert row.n_runs == 10 and row.n_converged == len(row.run_minutes) == fixture.counted
        assert row.scaling_factor == fixture.scaling_factor and row.no_score_reason is None
        assert row.score_minutes == pytest.approx(row.olympic_mean_minutes * row.scaling_factor, rel=1e-15)


def test_rows_carry_the_stack_and_the_runs(rows) -> None:
    v40 = next(r for r in rows if r.system == "eos_n16_ngc24.04_merlin_hugectr")
    assert v40.source == "mlperf_training_v4.0/NVIDIA" and v40.submitter == "NVIDIA"
    assert v40.stack.accelerator == "16x8 NVIDIA H100-SXM5-80GB"
    assert v40.stack.framework.startswith("NVIDIA Merlin HugeCTR")
    assert v40.train_samples == 4195197692 and v40.global_batch_size == 135168
    assert len(v40.run_minutes) == 10 and v40.run_minutes == sorted(v40.run_minutes)
    assert [r.index for r in v40.runs] == list(range(10))
    cisco = next(r for r in rows if r.system == "hpf_n8")
    assert [r.file for r in cisco.runs if not r.counted] == ["result_1.txt"]
    assert cisco.notes == [f"result_1.txt dropped: {cisco.runs[1].dropped_reason}"]


def test_learning_curves_are_fitted_as_one_minus_auc(rows) -> None:
    for row in rows:
        fit = row.learning_curve
        assert fit is not None and row.learning_curve_error is None
        best = max(auc for run in row.runs for auc in run.eval_auc)
        assert 0 < fit.b < 1 and 0 < fit.c < 1 - best  # the floor lies beyond the best AUC seen
        assert fit.extrapolation is not None and fit.extrapolation.max_abs_rel_error < 0.01
        assert fit.c_ci is not None and fit.c_ci.lo <= fit.c <= fit.c_ci.hi
        for run in row.runs:
            assert run.learning_curve is not None and len(run.eval_samples) == run.n_evals >= 14
            # samples seen = epoch_num x train_samples
            assert run.eval_samples[-1] <= row.train_samples
            assert (run.final_auc >= 0.80275) == run.counted  # the dropped run (Cisco's) stopped short


def test_one_broken_system_never_stops_the_round(tmp_path: Path, capsys) -> None:
    """A round folder where one system's log stops mlperf-logging: every other system is scored."""
    round_dir = tmp_path / "training_results_v4.0"
    shutil.copytree(ROUNDS / "training_results_v4.0", round_dir)
    shutil.copytree(V40 / "NVIDIA", round_dir / "NVIDIA")
    broken = round_dir / "NVIDIA" / "results" / "eos_n16_ngc24.04_merlin_hugectr" / "dlrm_dcnv2" / "result_0.txt"
    broken.write_text(broken.read_text() + ':::MLLOG {"key": "run_stop"}\n+ echo \':::SYSJSON {"a": 1}\'\n')
    assert cli.main(["score", "--mlperf", str(round_dir), "--out", str(tmp_path / "lb"), "--bootstrap", "0"]) == 0
    captured = capsys.readouterr()
    assert "mlperf   v4.0 ESC_N8A-E12: 3.8794 min (10/10 runs)" in captured.out
    assert "mlperf   v4.0 eos_n16_ngc24.04_merlin_hugectr: no score: result_0.txt: line" in captured.err
    rows = json.loads((tmp_path / "lb" / "leaderboard.json").read_text())["mlperf"]
    assert [(r["system"], r["rank"]) for r in rows][-1] == ("eos_n16_ngc24.04_merlin_hugectr", None)
    assert [round(r["score_minutes"], 4) for r in rows[:-1]] == [EXPECTED["ESC_N8A-E12"],
                                                                 EXPECTED["1xSMC-H100-SXM-80GB"]]
    assert "no field 'time_ms'" in rows[-1]["no_score_reason"]


def test_the_round_can_be_given(tmp_path: Path, capsys) -> None:
    shutil.copytree(V40 / "NVIDIA", tmp_path / "NVIDIA")
    (row,) = mlperf_rows([tmp_path], n_boot=0, seed=0, level=0.95)
    assert row.score_minutes is None and "give it with --round" in row.no_score_reason and row.round == ""
    (row,) = mlperf_rows([tmp_path], n_boot=0, seed=0, level=0.95, round_text="v4.0")
    assert row.round == "v4.0" and round(row.score_minutes, 4) == EXPECTED[row.system]
    (tmp_path / "subs").mkdir()
    assert cli.main(["score", str(tmp_path / "subs"), "--mlperf-round", "v4.0", "--out", str(tmp_path / "lb")]) == 2
    assert "give the MLPerf results with --mlperf DIR" in capsys.readouterr().err


def test_find_packages(tmp_path: Path) -> None:
    assert find_packages(V40) == [V40 / "NVIDIA"]
    assert find_packages(FIXTURES) == [V31 / "NVIDIA", V40 / "NVIDIA"]
    assert find_packages(ROUNDS) == sorted(s.root for s in SYSTEMS if s.round_dir.startswith("mlperf_rounds"))
    assert find_packages(V40 / "NVIDIA") == [V40 / "NVIDIA"]
    with pytest.raises(InputError, match="no MLPerf submitter folder"):
        find_packages(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        find_packages(tmp_path / "missing")


def test_round_of() -> None:
    assert round_from_path(Path("x/training_results_v4.0/NVIDIA")) == "v4.0"
    assert round_from_path(Path("/mlperf_training_v3.1")) == "v3.1"
    assert round_from_path(Path("/results/NVIDIA")) is None
