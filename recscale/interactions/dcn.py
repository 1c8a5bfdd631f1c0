"""DCNv2 low-rank cross network (Wang et al. 2021), as in the MLPerf DLRM-DCNv2 reference.

The input is x0 = [dense, e_1, ..., e_F] flattened, N = (F + 1) D wide; layer l computes
``x_{l+1} = x0 * (W_l (V_l x_l) + b_l) + x_l`` with V_l: [r, N], W_l: [N, r], b_l: [N] (torchrec's
``LowRankCrossNet`` inside ``InteractionDCNArch``, which MLPerf's torchrec_dlrm uses). The output is
the last x_l, N wide, which torchrec's DLRM_DCN feeds to the over arch.
The nn.Module is reference/model/interactions/dcn.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from recscale.interactions import InteractionParams
from recscale.limits import Count


class Params(InteractionParams):
    kind: Literal["dcn"] = "dcn"
    layers: Count = Field(3, description="number of cross layers")
    low_rank: Count = Field(512, description="rank of each layer's factorised weight W = U V")




def output_dim(params: Params, num_sparse: int, dim: int) -> int:
    """N = (F + 1) D: the crossed vector has the width of its input."""
    return (num_sparse + 1) * dim


def param_count(params: Params, num_sparse: int, dim: int) -> int:
    """Per layer V (r N) + W (N r) + b (N)."""
    width = output_dim(params, num_sparse, dim)
    return params.layers * (2 * width * params.low_rank + width)


def forward_flops(params: Params, num_sparse: int, dim: int) -> int:
    """Per layer: two matrix-vector products (2 N r multiply-adds = 4 N r FLOPs), then the bias
    add, the product with x0 and the residual add (one FLOP per element each, 3 N)."""
    width = output_dim(params, num_sparse, dim)
    return params.layers * (4 * width * params.low_rank + 3 * width)
