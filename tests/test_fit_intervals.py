"""Bootstrap intervals that do not change with the machine: the conditioning check and what it withholds."""

from __future__ import annotations

import numpy as np
import pytest
from score_helpers import make_records, synthetic_points, system_description, write_submission

from harness.cli import main
from harness.score.fits import blas, power_law
from harness.score.fits.power_law import fit_power_law
from harness.score.fits.resamples import ILL_CONDITIONED, PERTURBATION, Resamples, perturbed
from harness.score.fits.summary import summarize_fit

X = np.repeat(np.geomspace(1e4, 1e7, 8), 3)


def noisy_curve(seed: int = 3) -> np.ndarray:
    return (30.0 * X ** -0.35 + 0.55) * (1 + 0.005 * np.random.default_rng(seed).standard_normal(X.size))


def _resamples(base: np.ndarray, *checks: np.ndarray) -> Resamples:
    return Resamples(base[:, None], tuple(c[:, None] for c in checks), level=0.95, min_rows=100)


def test_an_interval_end_that_moves_with_the_arithmetic_is_withheld() -> None:
    base = np.linspace(0.0, 1.0, 1001)
    assert _resamples(base, base).interval(0, 0.5) == pytest.approx((0.025, 0.975))
    slightly = base + 0.1 * ILL_CONDITIONED * 0.95  # a tenth of the threshold: still well-conditioned
    assert isinstance(_resamples(base, slightly).interval(0, 0.5), tuple)
    moved = base.copy()
    moved[:30] -= 0.01  # the 2.5% percentile falls into a gap that the perturbation opened: 1% of the width
    assert _resamples(base, base, moved).interval(0, 0.5) == "ill_conditioned"
    assert _resamples(base[:50], base[:50]).interval(0, 0.5) == "too_few_resamples"
    assert _resamples(np.full(1001, np.inf), base).interval(0, 0.5) == "ill_conditioned"


def test_a_zero_width_interval_is_judged_by_the_perturbation_itself() -> None:
    exact = np.full(1001, 0.61)
    assert _resamples(exact, exact * (1 + 100 * PERTURBATION)).interval(0, 0.61) == (0.61, 0.61)
    assert _resamples(exact, exact * (1 + 1e-4)).interval(0, 0.61) == "ill_conditioned"


def test_the_perturbations_are_tiny_and_fixed() -> None:
    losses = np.array([0.9, 0.8, 0.7, 0.65])
    first, second = perturbed(losses)
    assert np.all(np.abs(first / losses - 1) <= PERTURBATION * (1 + 1e-6))
    assert np.all(np.abs(second / losses - 1) <= PERTURBATION * (1 + 1e-6))
    assert not np.array_equal(first, second) and np.array_equal(first, perturbed(losses)[0])


def test_well_posed_intervals_barely_move_under_the_check() -> None:
    fit = fit_power_law(X, noisy_curve(), n_boot=1000)
    resamples = fit.resamples
    assert resamples is not None
    ends = np.quantile(resamples.rows, [0.025, 0.975], axis=0)
    for check in resamples.checks:
        moved = np.abs(np.quantile(check, [0.025, 0.975], axis=0) - ends) / (ends[1] - ends[0])
        assert moved.max() < 1e-5  # the threshold, 1e-3, is far above
    assert all(isinstance(fit.interval_or_why(name), tuple) for name in "abc")


def test_intervals_are_the_same_on_another_blas_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    one = summarize_fit(fit_power_law(X, noisy_curve(), n_boot=1000))
    monkeypatch.setattr(blas, "FIT_THREADS", 2)
    two = summarize_fit(fit_power_law(X, noisy_curve(), n_boot=1000))
    assert two == one


@pytest.fixture
def shaken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A conditioning check whose perturbation is 1% instead of 1e-10: every interval of a fit moves."""
    monkeypatch.setattr(power_law, "perturbed", lambda losses: [losses * 1.01, losses * (1 + np.linspace(0, 0.02,
                                                                                                         losses.size))])


@pytest.mark.usefixtures("shaken")
def test_an_ill_conditioned_interval_is_reported_as_such(tmp_path) -> None:
    summary = summarize_fit(fit_power_law(X, noisy_curve(), n_boot=300))
    assert summary.c_ci is None and summary.no_interval["c"] == "ill_conditioned"
    root = tmp_path / "subs"
    write_submission(root / "alpha", make_records(synthetic_points(), seeds=(0, 1, 2), noise=0.002, division="open"),
                     [system_description("cpu-a", division="open")], division="open")
    assert main(["report", str(root / "alpha"), "--out", str(tmp_path / "report"), "--no-check", "--bootstrap",
                 "200"]) == 0
    readme = (tmp_path / "report" / "README.md").read_text(encoding="utf-8")
    assert "(ill-conditioned: interval not reported)" in readme
    assert '"ill_conditioned"' in (tmp_path / "report" / "report.json").read_text(encoding="utf-8")
