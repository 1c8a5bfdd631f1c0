"""Quality metrics of a CTR model over a whole evaluation set.

- log loss: mean binary cross-entropy of the predicted click probabilities;
- NE (normalized entropy, He et al. 2014, "Practical Lessons from Predicting Clicks on Ads at
  Facebook"): log loss divided by the entropy of the evaluated set's empirical CTR, i.e. by the
  log loss of always predicting that CTR. 1.0 is no better than the base rate; lower is better;
- AUC: area under the ROC curve, exact (torchmetrics, no threshold binning), ties handled;
- calibration: mean predicted probability / observed CTR (1.0 is calibrated).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import binary_auroc


def binary_entropy(p: float) -> float:
    """Entropy in nats of a Bernoulli(p); 0 for p in {0, 1}."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log(1.0 - p))


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """ne, logloss, auc and calibration of logits [N] against labels [N] in {0, 1}."""
    logits = logits.detach().to(torch.float64).flatten()
    labels = labels.detach().to(torch.float64).flatten()
    if logits.shape != labels.shape or logits.numel() == 0:
        raise ValueError(f"need equal, non-empty logits and labels, got {logits.shape} and {labels.shape}")
    ctr = labels.mean().item()
    logloss = F.binary_cross_entropy_with_logits(logits, labels).item()
    entropy = binary_entropy(ctr)
    probs = torch.sigmoid(logits)
    single_class = ctr in (0.0, 1.0)
    return {
        "ne": logloss / entropy if entropy > 0 else math.inf,
        "logloss": logloss,
        # AUC is undefined with one class; 0.5 (a random ranking) keeps records numeric.
        "auc": 0.5 if single_class else binary_auroc(probs, labels.to(torch.int64), thresholds=None).item(),
        "calibration": probs.mean().item() / ctr if ctr > 0 else math.inf,
    }


def evaluate_probs(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The same metrics for probabilities (e.g. a synthetic teacher's exact click probabilities)."""
    probs = probs.detach().to(torch.float64).clamp(1e-15, 1 - 1e-15)
    return evaluate_logits(torch.log(probs) - torch.log1p(-probs), labels)
