"""Joint L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3) and its compute-optimal split."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from harness.score.fits import joint
from harness.score.fits.joint import HUBER_DELTA, fit_joint
from harness.score.fits.power_law import FitError
from harness.score.fits.summary import summarize_joint

TRUE = {"e": 0.55, "a": 40.0, "alpha": 0.3, "b": 80.0, "beta": 0.35}


def grid(n_values: int = 5, d_values: int = 5) -> tuple[np.ndarray, np.ndarray]:
    n, d = np.meshgrid(np.geomspace(1e5, 1e8, n_values), np.geomspace(1e5, 1e8, d_values))
    return n.ravel(), d.ravel()


def law(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return TRUE["e"] + TRUE["a"] * n ** -TRUE["alpha"] + TRUE["b"] * d ** -TRUE["beta"]


def test_recovers_exact_law() -> None:
    n, d = grid()
    fit = fit_joint(n, d, law(n, d))
    assert fit.e == pytest.approx(TRUE["e"], rel=1e-4)
    assert fit.a == pytest.approx(TRUE["a"], rel=1e-3)
    assert fit.b == pytest.approx(TRUE["b"], rel=1e-3)
    assert fit.alpha == pytest.approx(TRUE["alpha"], rel=1e-4)
    assert fit.beta == pytest.approx(TRUE["beta"], rel=1e-4)
    assert fit.rms_log_residual < HUBER_DELTA


def test_recovers_noisy_law_within_tolerance_and_intervals_cover_it() -> None:
    n, d = grid()
    rng = np.random.default_rng(0)
    loss = law(n, d) * np.exp(0.005 * rng.standard_normal(n.size))
    fit = fit_joint(n, d, loss, n_boot=60, seed=0)
    # 0.5% noise on 25 points: exponents within 10%, E within 5%
    assert fit.alpha == pytest.approx(TRUE["alpha"], rel=0.10)
    assert fit.beta == pytest.approx(TRUE["beta"], rel=0.10)
    assert fit.e == pytest.approx(TRUE["e"], rel=0.05)
    for name in ("e", "alpha", "beta"):
        lo, hi = fit.interval(name)  # type: ignore[misc]
        assert lo <= TRUE[name] <= hi, name


def test_compute_optimal_split() -> None:
    n, d = grid()
    fit = fit_joint(n, d, law(n, d))
    split = fit.compute_optimal(k=6.0)
    assert split is not None
    total = TRUE["alpha"] + TRUE["beta"]
    assert split.a_n == pytest.approx(TRUE["beta"] / total, rel=1e-3)
    assert split.b_d == pytest.approx(TRUE["alpha"] / total, rel=1e-3)
    # N_opt(C) minimises L on the budget curve N * D = C / k: check against a brute-force search
    compute = 1e16
    candidates = np.geomspace(1e3, 1e12, 200_001)
    losses = fit.predict(candidates, compute / 6.0 / candidates)
    assert split.n_opt(compute) == pytest.approx(candidates[np.argmin(losses)], rel=1e-3)
    assert split.n_opt(compute) * split.d_opt(compute) == pytest.approx(compute / 6.0, rel=1e-9)


@pytest.mark.parametrize(("n", "d", "loss", "message"), [
    ([1e5] * 6, [1e5, 1e6, 1e7, 1e5, 1e6, 1e7], [0.9, 0.8, 0.7, 0.9, 0.8, 0.7], "N \\(parameters\\) takes 1 distinct"),
    ([1e5, 1e6, 1e7, 1e5, 1e6, 1e7], [1e6] * 6, [0.9, 0.8, 0.7, 0.9, 0.8, 0.7], "D \\(training samples\\) takes 1"),
    ([1e5, 1e6, 1e7, 1e8], [1e5, 1e6, 1e7, 1e8], [0.9, 0.8, 0.7, 0.6], "4 points cannot determine"),
    ([1e5, 1e5, 1e5, 1e6, 1e6, 1e6], [1e5, 1e6, 1e7] * 2, [0.9, 0.8, 0.7, 0.8, 0.7, 0.6], "takes 2 distinct"),
    ([1e5, 1e6, 1e7, 1e8, 1e9], [1e5, 1e6, 1e7, 1e8, 1e9], [0.9, 0.8, float("nan"), 0.6, 0.5], "finite"),
    ([1e5, 1e6, 1e7, 1e8, 0.0], [1e5, 1e6, 1e7, 1e8, 1e9], [0.9, 0.8, 0.7, 0.6, 0.5], "positive"),
    ([1e5, 1e6, 1e7, 1e8, 1e9], [1e9, 1e8, 1e7, 1e6, 1e5], [0.7] * 5, "flat"),
])
def test_degenerate_input_is_a_clear_fit_error(n: list, d: list, loss: list, message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_joint(n, d, loss)


@pytest.mark.parametrize(("kwargs", "message"), [({"n_starts": 0}, "n_starts must be >= 1"),
                                                 ({"n_boot": -1}, "n_boot must be >= 0")])
def test_bad_settings_are_a_clear_error(kwargs: dict, message: str) -> None:
    n, d = grid()
    with pytest.raises(ValueError, match=message):
        fit_joint(n, d, law(n, d), **kwargs)


def test_a_term_the_data_do_not_measure_is_reported_at_its_bound() -> None:
    n, d = grid(4, 4)
    fit = fit_joint(n, d, TRUE["e"] + TRUE["b"] * d ** -TRUE["beta"])  # no N dependence at all
    assert fit.status == "at_bound" and "A/N^alpha term" in fit.status_note
    summary = summarize_joint(fit, k=6.0)
    assert not summary.is_law and summary.compute_optimal is None


def test_an_unconverged_fit_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def one_step(*args, **kwargs):  # L-BFGS-B stopped after one iteration, as a hard problem might
        kwargs["options"] = {**kwargs["options"], "maxiter": 1}
        return minimize(*args, **kwargs)

    monkeypatch.setattr(joint, "minimize", one_step)
    n, d = grid()
    fit = fit_joint(n, d, law(n, d), n_boot=30)
    assert fit.status == "not_converged" and fit.status_note.startswith("L-BFGS-B did not converge (")
    assert fit.n_boot_converged == 0 and fit.interval("beta") is None
    summary = summarize_joint(fit, k=6.0)
    assert summary.status == "not_converged" and summary.compute_optimal is None
    # a fit that is not a law is never quoted: no resamples are refitted for it
    assert summary.no_interval == {"e": "not_a_law", "alpha": "not_a_law", "beta": "not_a_law"}
    assert summary.n_boot == 0


def test_a_law_has_its_split_and_intervals() -> None:
    n, d = grid()
    rng = np.random.default_rng(0)
    summary = summarize_joint(fit_joint(n, d, law(n, d) * np.exp(0.005 * rng.standard_normal(n.size)), n_boot=40),
                              k=6.0)
    assert summary.is_law and summary.status_note == "" and summary.compute_optimal is not None
    assert summary.n_boot == 40 and summary.n_boot_converged == 40 and summary.no_interval == {}
    assert summary.beta_ci is not None and summary.beta_ci.lo <= summary.beta <= summary.beta_ci.hi
