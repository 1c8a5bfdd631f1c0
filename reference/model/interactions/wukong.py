"""The Wukong interaction stack's nn.Module (see recscale/interactions/wukong.py for the definition and accounting)."""

from __future__ import annotations

import math

import torch
from torch import nn

from recscale.interactions.wukong import Params, fmb_widths, layer_inputs, output_dim
from reference.model.mlp import mlp


def _kaiming_uniform(weight: torch.Tensor, fan_in: int, generator: torch.Generator) -> None:
    """uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)): nn.Linear's default, for the raw matrices here."""
    bound = 1.0 / math.sqrt(fan_in)
    weight.uniform_(-bound, bound, generator=generator)


class FactorizationMachineBlock(nn.Module):
    """X [B, n, D] -> [B, n_F, D]: MLP(LayerNorm(flatten(X (X^T Y))))."""

    def __init__(self, params: Params, num_in: int, dim: int) -> None:
        super().__init__()
        self.num_out = params.fmb_features
        self.dim = dim
        self.projection = nn.Parameter(torch.empty(num_in, params.fmb_rank))  # Y: [n, k]
        widths = fmb_widths(params, num_in, dim)
        self.norm = nn.LayerNorm(widths[0])
        self.mlp = mlp(widths[0], widths[1:], relu_after_last=False)

    @torch.no_grad()
    def init_parameters(self, generator: torch.Generator) -> None:
        _kaiming_uniform(self.projection, self.projection.shape[0], generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summary = torch.matmul(x.transpose(1, 2), self.projection)  # X^T Y: [B, D, k]
        fm = torch.bmm(x, summary)  # X (X^T Y): [B, n, k]
        out = self.mlp(self.norm(fm.flatten(1)))  # [B, n_F D]
        return out.view(-1, self.num_out, self.dim)


class EmbeddingMix(nn.Module):
    """X [B, n, D] -> W X [B, n', D]: a bias-free linear map over the embedding axis (LCB and R)."""

    def __init__(self, num_in: int, num_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_out, num_in))

    @torch.no_grad()
    def init_parameters(self, generator: torch.Generator) -> None:
        _kaiming_uniform(self.weight, self.weight.shape[1], generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.weight, x)  # [n', n] @ [B, n, D] -> [B, n', D]


class WukongLayer(nn.Module):
    """X [B, n, D] -> LayerNorm_D(concat(FMB(X), LCB(X)) + R X): [B, n_F + n_L, D]."""

    def __init__(self, params: Params, num_in: int, dim: int) -> None:
        super().__init__()
        num_out = params.fmb_features + params.lcb_features
        self.fmb = FactorizationMachineBlock(params, num_in, dim)
        self.lcb = EmbeddingMix(num_in, params.lcb_features)
        self.residual = EmbeddingMix(num_in, num_out) if num_in != num_out else nn.Identity()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.fmb(x), self.lcb(x)), dim=1)
        return self.norm(mixed + self.residual(x))


class Interaction(nn.Module):
    """dense [B, D], sparse [B, F, D] -> [B, (n_F + n_L) D]: the stacked layers over [dense, e_1..e_F]."""

    def __init__(self, params: Params, num_sparse: int, dim: int) -> None:
        super().__init__()
        self.output_dim = output_dim(params, num_sparse, dim)
        self.layers = nn.Sequential(*(WukongLayer(params, n, dim) for n in layer_inputs(params, num_sparse)))

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        x = torch.cat((dense.unsqueeze(1), sparse), dim=1)  # [B, F+1, D]
        return self.layers(x).flatten(1)
