"""Quality metrics of a CTR model over a whole evaluation set: one computation per metric of
recscale.metrics (the registry says what each means and which way is better).

- log loss: mean binary cross-entropy of the predicted click probabilities;
- NE (normalized entropy, He et al. 2014, "Practical Lessons from Predicting Clicks on Ads at
  Facebook"): log loss divided by the entropy of the evaluated set's empirical CTR, i.e. by the
  log loss of always predicting that CTR. 1.0 is no better than the base rate; lower is better;
- AUC: area under the ROC curve, exact (torchmetrics, no threshold binning), ties handled;
- calibration: mean predicted probability / observed CTR (1.0 is calibrated).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import binary_auroc

from recscale.metrics import METRIC_NAMES


def binary_entropy(p: float) -> float:
    """Entropy in nats of a Bernoulli(p); 0 for p in {0, 1}."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log(1.0 - p))


class Scored:
    """Logits [N] and labels [N] in {0, 1} of one evaluation, in float64, with what metrics share."""

    def __init__(self, logits: torch.Tensor, labels: torch.Tensor):
        self.logits = logits.detach().to(torch.float64).flatten()
        self.labels = labels.detach().to(torch.float64).flatten()
        if self.logits.shape != self.labels.shape or self.logits.numel() == 0:
            raise ValueError(f"need equal, non-empty logits and labels, got {self.logits.shape} and "
                             f"{self.labels.shape}")

    @cached_property
    def ctr(self) -> float:
        return self.labels.mean().item()

    @cached_property
    def probs(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    @cached_property
    def logloss(self) -> float:
        return F.binary_cross_entropy_with_logits(self.logits, self.labels).item()


def _ne(scored: Scored) -> float:
    entropy = binary_entropy(scored.ctr)
    return scored.logloss / entropy if entropy > 0 else math.inf


def _auc(scored: Scored) -> float:
    # AUC is undefined with one class; 0.5 (a random ranking) keeps records numeric.
    if scored.ctr in (0.0, 1.0):
        return 0.5
    return binary_auroc(scored.probs, scored.labels.to(torch.int64), thresholds=None).item()


def _calibration(scored: Scored) -> float:
    return scored.probs.mean().item() / scored.ctr if scored.ctr > 0 else math.inf


# How each registered metric is computed, keyed by its name in recscale.metrics.METRICS.
COMPUTE: dict[str, Callable[[Scored], float]] = {
    "ne": _ne,
    "logloss": lambda scored: scored.logloss,
    "auc": _auc,
    "calibration": _calibration,
}


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Every registered metric of logits [N] against labels [N] in {0, 1}, in the registry's order."""
    scored = Scored(logits, labels)
    return {name: COMPUTE[name](scored) for name in METRIC_NAMES}


def evaluate_probs(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The same metrics for probabilities (e.g. a synthetic teacher's exact click probabilities)."""
    probs = probs.detach().to(torch.float64).clamp(1e-15, 1 - 1e-15)
    return evaluate_logits(torch.log(probs) - torch.log1p(-probs), labels)
