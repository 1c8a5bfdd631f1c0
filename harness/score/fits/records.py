"""The records of the scaling fits: the fit settings, fit summaries and one workload's fits.

Only pydantic here (no numpy/scipy), so `harness.schemas` imports it cheaply. Losses are
"lower is better" numbers, each metric's loss as :mod:`recscale.metrics` defines it (NE and log
loss themselves, ``1 - AUC`` for AUC).

Numbers a fit produces are rounded where they are made (:mod:`harness.score.fits.summary`):
point estimates to 6 significant digits, bootstrap interval ends to 3 (RULES.md SCORE-8).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recscale.metrics import TARGET_METRICS

DEFAULT_BOOT = 1000
DEFAULT_LEVEL = 0.95

MetricName = Literal[TARGET_METRICS]  # type: ignore[valid-type]  # the registry's target metrics
# ok: a law; at_bound: a parameter sits on a bound of its search range (not a law over this range);
# not_converged: the optimiser stopped before its tolerance (not a law either).
FitStatus = Literal["ok", "at_bound", "not_converged"]
# Why a parameter has no interval (RULES.md SCORE-3): no resamples asked for; as many distinct x as
# parameters (every resample is the same curve); too few resamples could be fitted; the interval's
# ends move with the last bits of the arithmetic (ill-conditioned, see harness.score.fits.resamples);
# or the fit is not a law (the joint fit: its intervals would never be shown, so none are made).
NoInterval = Literal["not_requested", "exactly_determined", "too_few_resamples", "ill_conditioned", "not_a_law"]
NO_INTERVAL_WORDS: dict[str, str] = {
    "not_requested": "no interval (no resamples)",
    "not_a_law": "no interval (the fit is not a law)",
    "exactly_determined": "no interval (exactly determined)",
    "too_few_resamples": "no interval (too few resamples could be fitted)",
    "ill_conditioned": "ill-conditioned: interval not reported",
}


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FitSettings(Out):
    """How every scaling fit is made (`--bootstrap`, `--seed`, `--level`): the one settings object of the scorer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_boot: int = Field(DEFAULT_BOOT, ge=0, description="bootstrap resamples per fit (0: no intervals)")
    seed: int = Field(0, ge=0, description="seed of the bootstrap resampling")
    level: float = Field(DEFAULT_LEVEL, ge=0.5, lt=1.0, description="confidence level of the intervals")


DEFAULT_FIT = FitSettings()


class Interval(Out):
    lo: float
    hi: float


class ExtrapolationSummary(Out):
    fit_x_max: float = Field(description="largest x of the refit (the held-out points lie above it)")
    held_x: list[float]
    observed: list[float] = Field(description="observed loss at each held-out x (mean of its points)")
    predicted: list[float]
    rel_error: list[float] = Field(description="(predicted - observed) / observed")
    max_abs_rel_error: float


class PowerLawSummary(Out):
    """``L(x) = a * x^-b + c`` with percentile bootstrap intervals."""

    status: FitStatus = Field(description="ok: a law; otherwise not quoted as one (status_note says why)")
    status_note: str = Field(description="why the fit is not a law, or ''")
    a: float
    b: float
    c: float = Field(description="the irreducible term: L as x grows without bound")
    a_ci: Interval | None
    b_ci: Interval | None
    c_ci: Interval | None
    no_interval: dict[Literal["a", "b", "c"], NoInterval] = Field(
        description="why a parameter has no interval (absent: it has one)")
    level: float = Field(description="confidence level of the intervals")
    n_points: int
    n_distinct: int
    x_min: float
    x_max: float
    rms_rel_residual: float = Field(description="root mean square of (fit - observed) / observed")
    b_at_bound: bool = Field(description="the exponent hit a bound of its range: the fit is not a usable law")
    n_boot: int
    n_boot_valid: int = Field(description="resamples with at least 3 distinct x (the others cannot be fitted)")
    extrapolation: ExtrapolationSummary | None
    extrapolation_note: str = ""
    notes: list[str] = Field(description="caveats: exactly determined, exponent at its bound, few resamples")
    return_per_decade: float = Field(description="mean drop of the fitted L per 10x x over x_min..x_max")
    return_per_decade_at_max: float = Field(description="local drop of the fitted L per 10x x at x_max")

    @property
    def is_law(self) -> bool:
        """Whether the fit may be quoted as a scaling law (converged, no parameter on a bound)."""
        return self.status == "ok"


class SliceFit(Out):
    """One curve along an axis, the other axes held at one value."""

    slice_label: str
    slice_value: float | None
    co_varying: list[str] = Field(description="other components that change along this curve (confounders)")
    x: list[float]
    loss: list[float]
    point_ids: list[str]
    fit: PowerLawSummary | None
    error: str | None = Field(description="why there is no fit")


class AxisFits(Out):
    axis: str
    x_label: str
    headline: int | None = Field(description="index of the slice the leaderboard quotes (the largest other axis "
                                             "among the slices whose fit is a law)")
    slices: list[SliceFit]


class ComputeOptimalSummary(Out):
    a_n: float = Field(description="N_opt ~ C^a_n, a_n = beta / (alpha + p beta)")
    b_d: float = Field(description="D_opt ~ C^b_d, b_d = alpha / (alpha + p beta)")
    g: float = Field(description="N_opt = g (C/k)^a_n, D_opt = C / (k N_opt^p)")
    k: float | None = Field(description="C = k N^p D fitted to the points' training FLOPs (least squares in logs)")
    p: float = Field(description="how training FLOPs per sample grow with N (1: C = k N D, as for a dense model)")


class JointSummary(Out):
    """``L(N, D) = E + A / N^alpha + B / D^beta`` (Chinchilla approach 3)."""

    status: FitStatus = Field(description="ok: a law; otherwise not quoted as one (status_note says why)")
    status_note: str = Field(description="why the fit is not a law, or ''")
    e: float
    a: float
    alpha: float
    b: float
    beta: float
    e_ci: Interval | None
    alpha_ci: Interval | None
    beta_ci: Interval | None
    no_interval: dict[Literal["e", "alpha", "beta"], NoInterval] = Field(
        description="why a parameter has no interval (absent: it has one)")
    n_points: int
    n_boot: int
    n_boot_converged: int = Field(description="resamples whose refit converged (only these make the intervals)")
    rms_log_residual: float
    compute_optimal: ComputeOptimalSummary | None = Field(description="only for a fit that is a law")

    @property
    def is_law(self) -> bool:
        return self.status == "ok"


class PointRow(Out):
    point_id: str
    overrides: dict[str, object]
    n_runs: int
    n_final: int = Field(description="runs with a final quality (the others diverged)")
    train_samples: int
    params: dict[str, int]
    train_flops: float
    quality: float | None = Field(description="mean final quality of the runs (the workload's metric)")
    loss: float | None


class WorkloadFits(Out):
    """The scaling fits of one workload's records: one fit per axis and slice, the joint law, the floor."""

    label: str = Field(description="whose records: submission and system, or 'all'")
    workload_id: str
    workload_version: int
    metric: MetricName
    loss_definition: str
    n_runs: int
    points: list[PointRow]
    bayes_floor: float | None = Field(description="Bayes-optimal loss of the eval set (synthetic data)")
    axes: list[AxisFits]
    joint: JointSummary | None
    joint_error: str | None
