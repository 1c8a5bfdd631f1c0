"""Seeded, device-independent initialisation: every weight is drawn on the CPU from one generator.

Drawing on the CPU (then copying) makes the initial model a function of the seed alone, the same
for both embedding backends and any device. The tables and the dense parts draw from two
generators seeded from the one seed (reference/model/dlrm.py), so the dense weights are the same
whether or not this process initialises the tables. The rules:

- embedding tables: uniform(-1/sqrt(rows), 1/sqrt(rows)), as facebookresearch/dlrm and torchrec's
  ``EmbeddingBagConfig`` default;
- ``nn.Linear``: weight and bias uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default
  (kaiming-uniform with a = sqrt(5));
- ``nn.LayerNorm``: ones and zeros;
- any other module that owns raw parameters defines ``init_parameters(generator)`` for them.
"""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def init_table(weight: torch.Tensor, generator: torch.Generator) -> None:
    """uniform(+-1/sqrt(rows)) into an embedding table [rows, D] on any device, drawn on the CPU."""
    bound = 1.0 / math.sqrt(weight.shape[0])
    if weight.device.type == "cpu":
        weight.uniform_(-bound, bound, generator=generator)  # in place: no second copy of a big table
    else:
        weight.copy_(torch.empty(weight.shape, dtype=weight.dtype).uniform_(-bound, bound, generator=generator))


@torch.no_grad()
def init_dense(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise every parameter of a CPU module in ``module.modules()`` order.

    Raises TypeError if some parameter has no rule (it is poisoned with NaN first, so a module
    that forgets one of its parameters is caught here rather than training from garbage).
    """
    for param in module.parameters():
        if param.device.type != "cpu":
            raise ValueError(f"init_dense draws on the CPU; got a parameter on {param.device}")
        param.fill_(math.nan)
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            bound = 1.0 / math.sqrt(sub.in_features)
            sub.weight.uniform_(-bound, bound, generator=generator)
            if sub.bias is not None:
                sub.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(sub, nn.LayerNorm):
            sub.reset_parameters()
        elif hasattr(sub, "init_parameters"):
            sub.init_parameters(generator)
    missed = [name for name, param in module.named_parameters() if torch.isnan(param).any()]
    if missed:
        raise TypeError(f"no initialisation rule for parameters {missed} of {type(module).__name__}")
