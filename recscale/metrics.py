"""The quality metrics, named once: what each means, which way is better, how it becomes a loss.

Every evaluation records every metric below (RunResult.curve, MLLOG ``recscale_eval_metrics``);
a workload's quality target names one of those marked ``target``. The scaling fits need a
lower-is-better loss that tends to a floor: a metric that is lower-is-better is its own loss, a
higher-is-better one becomes ``best - value`` (AUC: 1 - AUC).

Adding a metric is one entry here plus its computation in reference/metrics.py (``COMPUTE``,
keyed by the same name; tests/test_metrics.py checks the two agree), then ``recscale schemas``.
The record models (recscale.records), the spec's quality target (recscale.spec), the log checks
and the scorer read this registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One quality metric of a CTR model over an evaluation set."""

    name: str
    description: str
    higher_is_better: bool
    best: float  # the value of a perfect model (the loss of a higher-is-better metric is best - value)
    target: bool  # whether a workload's quality target may name it
    # Targets must lie in this interval (low, high], the values a model can reach and beat.
    target_low: float = 0.0
    target_high: float = math.inf
    # Every value the metric can take lies in [low, high]: records and logs outside it are refused.
    low: float = 0.0
    high: float = math.inf

    def reached(self, value: float, target: float) -> bool:
        """Whether ``value`` meets ``target`` in this metric's direction (a non-finite value never does)."""
        if not math.isfinite(value):
            return False
        return value >= target if self.higher_is_better else value <= target

    def possible(self, value: float) -> bool:
        """Whether ``value`` is finite and one this metric can take."""
        return math.isfinite(value) and self.low <= value <= self.high

    def to_loss(self, value: float) -> float:
        """The lower-is-better loss the scaling fits use (only target metrics have one)."""
        if not self.target:
            raise ValueError(f"metric {self.name!r} is not a quality target: it has no loss to fit")
        return self.best - value if self.higher_is_better else value

    def from_loss(self, loss: float) -> float:
        return self.best - loss if self.higher_is_better else loss

    @property
    def loss_definition(self) -> str:
        """The loss as a formula of the metric's name (``ne``, ``1 - auc``)."""
        return f"{self.best:g} - {self.name}" if self.higher_is_better else self.name

    def comparison(self) -> str:
        return ">=" if self.higher_is_better else "<="


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("ne", "normalized entropy: log loss / entropy of the eval set's CTR (He et al. 2014)",
               higher_is_better=False, best=0.0, target=True),
        Metric("logloss", "mean binary cross-entropy of the predicted click probabilities",
               higher_is_better=False, best=0.0, target=True),
        Metric("auc", "area under the ROC curve, exact (ties handled)",
               higher_is_better=True, best=1.0, target=True, target_low=0.5, target_high=1.0, high=1.0),
        # Best at 1 from either side: a diagnostic, neither a target nor a loss.
        Metric("calibration", "mean prediction / observed CTR (1 is calibrated)",
               higher_is_better=False, best=1.0, target=False),
    )
}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
TARGET_METRICS: tuple[str, ...] = tuple(name for name, metric in METRICS.items() if metric.target)


def metric(name: str) -> Metric:
    """The registered metric ``name``; a KeyError naming the known ones otherwise."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return METRICS[name]
