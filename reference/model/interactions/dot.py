"""The dot interaction's nn.Module (see recscale/interactions/dot.py for the definition and the accounting)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from recscale.interactions.dot import Params, output_dim


class _PairwiseDots(torch.autograd.Function):
    """vectors [B, n, D] -> the dots of the pairs at ``pair_index`` (flat positions in n x n): [B, P].

    Autograd through ``bmm(X, X^T)`` would take two batched products for the gradient (one per
    operand); X X^T is symmetric, so one does: dX = (G + G^T) X, with G [B, n, n] holding the
    pairs' output gradients at their positions. The interaction's backward is then one bmm
    instead of two (these small batched products run far below the machine's matmul rate).
    """

    @staticmethod
    def forward(ctx: Any, vectors: torch.Tensor, pair_index: torch.Tensor) -> torch.Tensor:
        gram = torch.bmm(vectors, vectors.transpose(1, 2))  # [B, n, n]
        # The operands in the type the product ran in (bfloat16 under autocast, which backward, run
        # outside autocast, does not apply): backward's product then matches the gradient's type.
        ctx.save_for_backward(vectors.to(gram.dtype), pair_index)
        return gram.flatten(1).index_select(1, pair_index)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        vectors, pair_index = ctx.saved_tensors
        batch, n, _ = vectors.shape
        upper = grad.new_zeros(batch, n * n).index_copy_(1, pair_index, grad).view(batch, n, n)
        # Under autocast the forward's bmm ran in the lower precision the gradient arrives in (bf16):
        # the backward's product runs in it too, and the gradient returns in the vectors' own dtype.
        return torch.bmm(upper + upper.transpose(1, 2), vectors.to(grad.dtype)).to(vectors.dtype), None


class Interaction(nn.Module):
    """dense [B, D], sparse [B, F, D] -> [B, D + (F + 1) F / 2]: dense, then the pairwise dots."""

    def __init__(self, params: Params, num_sparse: int, dim: int) -> None:
        super().__init__()
        self.num_sparse = num_sparse
        self.dim = dim
        self.output_dim = output_dim(params, num_sparse, dim)
        rows, cols = torch.triu_indices(num_sparse + 1, num_sparse + 1, offset=1)
        # Flat positions of the strict upper triangle in the (F+1) x (F+1) Gram matrix, row-major
        # (the order torchrec's InteractionArch emits); a buffer so it follows .to(device).
        self.register_buffer("pair_index", rows * (num_sparse + 1) + cols, persistent=False)

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        vectors = torch.cat((dense.unsqueeze(1), sparse), dim=1)  # [B, F+1, D]
        pairs = _PairwiseDots.apply(vectors, self.pair_index)  # [B, (F+1) F / 2]
        return torch.cat((dense, pairs), dim=1)
