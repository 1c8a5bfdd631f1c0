"""The DCNv2 low-rank cross network's nn.Module (see recscale/interactions/dcn.py for the definition and accounting)."""

from __future__ import annotations

import math

import torch
from torch import nn

from recscale.interactions.dcn import Params, output_dim


class Interaction(nn.Module):
    """dense [B, D], sparse [B, F, D] -> [B, (F + 1) D]: x0 = [dense, e_1..e_F] crossed ``layers`` times.

    Parameter layout and names follow torchrec's ``LowRankCrossNet`` (``V_kernels[l]``: [r, N],
    ``W_kernels[l]``: [N, r], ``bias[l]``: [N]) so that a state dict maps one to one.
    """

    def __init__(self, params: Params, num_sparse: int, dim: int) -> None:
        super().__init__()
        width = output_dim(params, num_sparse, dim)
        self.output_dim = width
        self.V_kernels = nn.ParameterList(
            nn.Parameter(torch.empty(params.low_rank, width)) for _ in range(params.layers)
        )
        self.W_kernels = nn.ParameterList(
            nn.Parameter(torch.empty(width, params.low_rank)) for _ in range(params.layers)
        )
        self.bias = nn.ParameterList(nn.Parameter(torch.empty(width)) for _ in range(params.layers))

    @torch.no_grad()
    def init_parameters(self, generator: torch.Generator) -> None:
        """As torchrec's LowRankCrossNet: Xavier-normal kernels, zero biases."""
        for v_kernel, w_kernel, bias in zip(self.V_kernels, self.W_kernels, self.bias, strict=True):
            for kernel in (v_kernel, w_kernel):
                fan_out, fan_in = kernel.shape
                kernel.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
            bias.zero_()

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        x0 = torch.cat((dense, sparse.flatten(1)), dim=1)  # [B, N]
        x = x0
        for v_kernel, w_kernel, bias in zip(self.V_kernels, self.W_kernels, self.bias, strict=True):
            low = nn.functional.linear(x, v_kernel)  # [B, r]
            x = torch.addcmul(x, x0, nn.functional.linear(low, w_kernel, bias))  # x + x0 * (W V x + b)
        return x
