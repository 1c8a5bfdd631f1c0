"""MLPerf Training dlrm_dcnv2 results on the leaderboard: the summarizer's scores and the learning curves."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from harness.score.leaderboard.mlperf import find_packages, mlperf_rows, round_of
from recscale.errors import InputError

V40 = FIXTURES / "mlperf_training_v4.0"
V31 = FIXTURES / "mlperf_training_v3.1"
# The fixtures' README (computed with mlperf-logging 4.1.68's result summarizer logic).
EXPECTED = {"eos_n16_ngc24.04_merlin_hugectr": 0.9896, "eos_ngc23.09_merlin_hugectr": 3.8361}


@pytest.fixture(scope="module")
def rows():
    return mlperf_rows([V31, V40], n_boot=300, seed=0, level=0.95)


def test_scores_equal_the_readme(rows) -> None:
    assert {r.system: round(r.score_minutes, 4) for r in rows} == EXPECTED
    assert [(r.rank, r.round) for r in rows] == [(1, "v4.0"), (2, "v3.1")]  # fewer minutes ranks first
    assert all(r.n_runs == r.n_converged == 10 for r in rows)


def test_scores_equal_mlperf_loggings_summarizer(rows) -> None:
    summarizer = pytest.importorskip("mlperf_logging.result_summarizer.result_summarizer")
    for row, folder, ruleset in ((rows[0], V40, "4.0.0"), (rows[1], V31, "3.1.0")):
        bench = folder / "NVIDIA" / "results" / row.system / "dlrm_dcnv2"
        score, _, _ = summarizer._compute_strong_score_standalone(
            "dlrm_dcnv2", row.system, False, str(bench), "training", ruleset)
        assert row.score_minutes == pytest.approx(score, rel=1e-12)


def test_rows_carry_the_stack_and_the_runs(rows) -> None:
    v40 = rows[0]
    assert v40.source == "mlperf_training_v4.0/NVIDIA" and v40.submitter == "NVIDIA"
    assert v40.stack.accelerator == "16x8 NVIDIA H100-SXM5-80GB"
    assert v40.stack.framework.startswith("NVIDIA Merlin HugeCTR")
    assert v40.train_samples == 4195197692 and v40.global_batch_size == 135168
    assert len(v40.run_minutes) == 10 and v40.run_minutes == sorted(v40.run_minutes)
    assert [r.index for r in v40.runs] == list(range(10))


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
            assert run.eval_samples[-1] <= row.train_samples and run.final_auc >= 0.80275


def test_find_packages(tmp_path: Path) -> None:
    assert find_packages(V40) == [V40 / "NVIDIA"]
    assert find_packages(FIXTURES) == [V31 / "NVIDIA", V40 / "NVIDIA"]
    assert find_packages(V40 / "NVIDIA") == [V40 / "NVIDIA"]
    with pytest.raises(InputError, match="no MLPerf submitter folder"):
        find_packages(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        find_packages(tmp_path / "missing")


def test_round_of() -> None:
    assert round_of(Path("x/training_results_v4.0/NVIDIA")) == "v4.0"
    assert round_of(Path("mlperf_training_v3.1")) == "v3.1"
    assert round_of(Path("results/NVIDIA")) == ""
