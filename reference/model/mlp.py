"""Multi-layer perceptrons of the dense arch (bottom MLP) and the over arch (top MLP)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn


def mlp(in_features: int, widths: Sequence[int], *, relu_after_last: bool) -> nn.Sequential:
    """Linear layers ``in_features -> widths[0] -> ... -> widths[-1]`` with ReLU between them.

    ``relu_after_last``: True for DLRM's bottom MLP (torchrec ``DenseArch``: ReLU after every layer),
    False for the top MLP (torchrec ``OverArch``: the last layer is linear and outputs the logit).
    [B, in_features] -> [B, widths[-1]].
    """
    layers: list[nn.Module] = []
    for i, (width_in, width_out) in enumerate(itertools.pairwise((in_features, *widths))):
        layers.append(nn.Linear(width_in, width_out))
        if relu_after_last or i < len(widths) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
