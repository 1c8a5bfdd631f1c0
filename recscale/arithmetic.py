"""Parameter and FLOP arithmetic of the building blocks, shared by recscale/accounting.py and the
interaction modules. Torch-free; the FLOP convention is written down in recscale/accounting.py."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

# FLOPs of a LayerNorm per element: mean (1 add), centre (1 sub), variance (1 mul + 1 add),
# normalise (1 mul by the reciprocal std), affine (1 mul + 1 add); the per-row scalars are O(1).
LAYER_NORM_FLOPS_PER_ELEMENT = 7


def mlp_param_count(in_features: int, widths: Sequence[int]) -> int:
    """Weights and biases of Linear layers in_features -> widths[0] -> ... -> widths[-1]."""
    return sum(a * b + b for a, b in itertools.pairwise((in_features, *widths)))


def mlp_forward_flops(in_features: int, widths: Sequence[int]) -> int:
    """Forward FLOPs per example of those layers: 2 per multiply-add, 1 per bias add, ReLU 0."""
    return sum(2 * a * b + b for a, b in itertools.pairwise((in_features, *widths)))
