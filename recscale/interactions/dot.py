"""Pairwise dot-product interaction (DLRM, Naumov et al. 2019).

The bottom MLP's output and the F pooled embeddings are F + 1 vectors of dimension D; the
interaction is the dense vector followed by the dot product of every distinct pair (the strictly
upper triangle of their Gram matrix, no self-interaction), as torchrec's ``InteractionArch`` and
facebookresearch/dlrm's ``interact_features`` (``arch_interaction_itself=False``) compute it.
No parameters. The nn.Module is reference/model/interactions/dot.py.
"""

from __future__ import annotations

from typing import Literal

from recscale.interactions import InteractionParams


class Params(InteractionParams):
    kind: Literal["dot"] = "dot"




def num_pairs(num_sparse: int) -> int:
    """Distinct pairs among the F + 1 vectors (dense + F embeddings)."""
    return (num_sparse + 1) * num_sparse // 2


def output_dim(params: Params, num_sparse: int, dim: int) -> int:
    """D (the dense vector) + (F + 1) F / 2 (the pairwise dots)."""
    return dim + num_pairs(num_sparse)


def param_count(params: Params, num_sparse: int, dim: int) -> int:
    return 0


def forward_flops(params: Params, num_sparse: int, dim: int) -> int:
    """One D-long dot product (D multiply-adds = 2 D FLOPs) per distinct pair.

    Model FLOPs: the batched matrix product computes the whole (F+1)^2 Gram matrix, the model
    needs only its strictly upper triangle, which is what is counted.
    """
    return 2 * dim * num_pairs(num_sparse)
