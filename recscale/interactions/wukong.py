"""Wukong interaction stack (Zhang et al. 2024, "Wukong: Towards a Scaling Law for Large-Scale
Recommendation"): layers of a factorization-machine block beside a linear compression block.

The input is the n0 = F + 1 embeddings X0 = [dense, e_1, ..., e_F]: [n0, D]. Layer i maps
X_i: [n, D] to X_{i+1}: [n', D] with n' = n_F + n_L:

- FMB (factorization-machine block), the paper's optimised FM: ``FM(X) = X (X^T Y)`` with a
  learnt Y: [n, k] (k = ``fmb_rank``), i.e. n k pairwise-interaction summaries instead of the
  n^2 of X X^T; flattened, layer-normalised, and mapped by an MLP (hidden widths ``fmb_mlp``,
  ReLU between layers, last layer linear) to n_F D values, reshaped to n_F embeddings;
- LCB (linear compression block): ``W_L X`` with W_L: [n_L, n], n_L new embeddings that are
  linear recombinations of the inputs (carrying the interaction orders already reached);
- ``X_{i+1} = LayerNorm_D(concat(FMB(X_i), LCB(X_i)) + R X_i)``, R the identity when n = n',
  else a learnt linear map [n', n] over the embedding axis (the paper's residual adapter).

Stacking l layers reaches interaction orders up to 2^l. The output is the last X flattened,
n' D wide. Bias-free linear maps over the embedding axis (Y, W_L, R) and the LayerNorm placement
follow the paper's Figure 2 and clabrugere/wukong-recommendation.
The nn.Module is reference/model/interactions/wukong.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from recscale.arithmetic import LAYER_NORM_FLOPS_PER_ELEMENT, mlp_forward_flops, mlp_param_count
from recscale.interactions import InteractionParams
from recscale.limits import Count


class Params(InteractionParams):
    kind: Literal["wukong"] = "wukong"
    layers: Count = Field(2, description="number of stacked Wukong layers")
    fmb_features: Count = Field(16, description="embeddings each FM block outputs (n_F)")
    lcb_features: Count = Field(16, description="embeddings each linear compression block outputs (n_L)")
    fmb_rank: Count = Field(8, description="rank k of the optimised FM (X X^T Y with Y: n x k)")
    fmb_mlp: list[Count] = Field(default_factory=lambda: [256],
                                 description="hidden widths of the FM block MLP (empty: one linear map)")




def layer_inputs(params: Params, num_sparse: int) -> list[int]:
    """Embeddings entering each layer: F + 1, then n_F + n_L for every later layer."""
    width = params.fmb_features + params.lcb_features
    return [num_sparse + 1] + [width] * (params.layers - 1)


def fmb_widths(params: Params, num_in: int, dim: int) -> list[int]:
    """Widths of the FM block's MLP: n k in, the hidden widths, n_F D out."""
    return [num_in * params.fmb_rank, *params.fmb_mlp, params.fmb_features * dim]


def output_dim(params: Params, num_sparse: int, dim: int) -> int:
    return (params.fmb_features + params.lcb_features) * dim


def _layer_counts(params: Params, num_in: int, dim: int) -> tuple[int, int]:
    """(parameters, forward FLOPs per example) of one Wukong layer with ``num_in`` embeddings in."""
    num_out = params.fmb_features + params.lcb_features
    rank = params.fmb_rank
    widths = fmb_widths(params, num_in, dim)
    mlp_params = mlp_param_count(widths[0], widths[1:])
    mlp_flops = mlp_forward_flops(widths[0], widths[1:])
    params_count = num_in * rank + 2 * num_in * rank + mlp_params  # Y, FM LayerNorm, MLP
    flops = 4 * num_in * dim * rank  # X^T Y and X (X^T Y): n D k multiply-adds each
    flops += LAYER_NORM_FLOPS_PER_ELEMENT * num_in * rank + mlp_flops
    params_count += params.lcb_features * num_in  # W_L
    flops += 2 * params.lcb_features * num_in * dim
    if num_in != num_out:  # the residual adapter R
        params_count += num_out * num_in
        flops += 2 * num_out * num_in * dim
    params_count += 2 * dim  # the output LayerNorm over D
    flops += num_out * dim + LAYER_NORM_FLOPS_PER_ELEMENT * num_out * dim  # residual add, LayerNorm
    return params_count, flops


def param_count(params: Params, num_sparse: int, dim: int) -> int:
    return sum(_layer_counts(params, n, dim)[0] for n in layer_inputs(params, num_sparse))


def forward_flops(params: Params, num_sparse: int, dim: int) -> int:
    """Matrix products at 2 FLOPs per multiply-add, bias and residual adds at 1 per element,
    LayerNorm at LAYER_NORM_FLOPS_PER_ELEMENT per element, ReLU at 0 (see recscale/accounting.py)."""
    return sum(_layer_counts(params, n, dim)[1] for n in layer_inputs(params, num_sparse))
