"""Heavy-tailed dense counts shaped like Criteo's I1..I13, from one 32-bit random word each.

Count j of a row, from its word w (u = w * 2^-32, uniform in [0, 1)): missing (stored as 0, as DLRM
and torchrec fill it) if u < share_j; else, with v = (u - share_j) / (1 - share_j), uniform in
[0, 1) given that it is not missing, the log-logistic value floor(median_j * (v / (1 - v))^scale_j)
- shift_j (tail index 1 / scale_j; the shift lets I2 go down to -1), capped at 2^31 - 1.

Computed in float64 on every device: two devices (or a CPU's vectorised loop and its scalar
remainder) can only give different counts where median * (v / (1 - v))^scale falls within a few
ulps of an integer, which their log and exp, each correct to about an ulp, may round to different
sides of: about 1e-12 of the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Criteo-Kaggle-like profile (medians and missing shares as in train.txt):
# (median, log-logistic scale, share missing, shift), cycled when num_dense > 13.
DENSE_PROFILE: tuple[tuple[float, float, float, int], ...] = (
    (1.0, 0.8, 0.45, 0), (3.0, 0.8, 0.00, 1), (6.0, 0.8, 0.21, 0), (4.0, 0.6, 0.22, 0),
    (2800.0, 0.7, 0.03, 0), (30.0, 0.8, 0.22, 0), (3.0, 0.8, 0.04, 0), (8.0, 0.5, 0.0005, 0),
    (40.0, 0.7, 0.04, 0), (1.0, 0.5, 0.45, 0), (1.0, 0.6, 0.04, 0), (0.5, 0.8, 0.77, 0),
    (4.0, 0.6, 0.22, 0),
)
_MAX_COUNT = 2**31 - 1
_TINY = 2.0**-60  # median * (v / (1 - v))^scale < 1e-5 there for every profile: floors to 0, as v = 0


@dataclass(frozen=True)
class DenseCounts:
    """The profile of num_dense counts as [D, 1] columns on one device (counts are computed
    feature-major, [D, n]: broadcasting along rows is what a CPU vectorises)."""

    missing_below: torch.Tensor  # int64: ceil(share * 2^32); u < share exactly when w < this
    share_words: torch.Tensor    # float64: share * 2^32 (exact)
    v_per_word: torch.Tensor     # float64: 2^-32 / (1 - share)
    log_median: torch.Tensor     # float64
    scale: torch.Tensor          # float64
    shift: torch.Tensor          # float64

    @classmethod
    def build(cls, num_dense: int, device: torch.device | str = "cpu") -> DenseCounts:
        median, scale, share, shift = np.array([DENSE_PROFILE[j % len(DENSE_PROFILE)] for j in range(num_dense)]).T

        def column(values: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
            return torch.tensor(values[:, None], dtype=dtype, device=device)

        return cls(column(np.ceil(share * 2.0**32), torch.int64), column(share * 2.0**32),
                   column(2.0**-32 / (1.0 - share)), column(np.log(median)), column(scale), column(shift))

    def counts(self, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(counts [D, n] int32, present [D, n] bool: not missing) of the words [D, n] (int64 in [0, 2^32))."""
        present = words >= self.missing_below
        # A missing count's v is negative (and zeroed below): clamped to 2^-60, no NaN or infinity sends
        # the CPU's logit/exp down their slow scalar path. A present count's v is 0 or above 2^-60, and
        # v = 0 (u exactly the share) gives floor(tiny) - shift = -shift either way.
        v = words.to(torch.float64).sub_(self.share_words).mul_(self.v_per_word).clamp_(min=_TINY)
        # exp(scale * logit(v) + log median), not median * pow(.): several times faster on the CPU
        values = v.logit_().mul_(self.scale).add_(self.log_median).exp_()
        values = values.floor_().sub_(self.shift).clamp_(max=_MAX_COUNT)
        return values.to(torch.int32).mul_(present), present  # x * bool: faster than masked_fill
