"""The dense part of a DLRM training step (bottom MLP, interaction, top MLP) replayed as CUDA graphs.

On a GPU a DLRM step of a model like study-data-gpu's is bound by the CPU launching some 500 small
operations (an H200 measured 4.2 ms a step at batch 16,384 for about 1.2 ms of arithmetic and
memory traffic). The dense part has static shapes and no host synchronisation, so it can be
captured once with ``torch.cuda.make_graphed_callables`` (forward and backward, each one graph
launch); the embedding lookups and their fused optimizer (reference/model/tbe.py) stay eager, since
their shapes depend on the ids of the batch. The graphed head computes the same function with the
same kernels: it is a drop-in replacement in autograd.

Used only where it applies: CUDA, one process (the multi-process gradient hook of
reference/model/parallel.py is not captured), training batches of the size captured (a smaller last
batch, evaluation and anything else run eagerly). Under bf16 autocast the capture runs inside
autocast with its weight-cast cache off, as PyTorch requires; the graph then holds the casts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class DenseHead(nn.Module):
    """dense features [B, num_dense], pooled embeddings [B, F, D] -> logits [B] (the dense part of DLRM)."""

    def __init__(self, dense_arch: nn.Module, interaction: nn.Module, over_arch: nn.Module) -> None:
        super().__init__()
        self.dense_arch = dense_arch
        self.interaction = interaction
        self.over_arch = over_arch

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        return self.over_arch(self.interaction(self.dense_arch(dense), sparse)).squeeze(1)


class GraphedHead:
    """The head captured for one batch size (and one precision); ``None`` from :func:`capture` where
    capture is not possible, so that callers fall back to the eager head."""

    def __init__(self, graphed: Callable[..., torch.Tensor], batch_size: int, autocast_dtype: torch.dtype | None):
        self.graphed = graphed
        self.batch_size = batch_size
        self.autocast_dtype = autocast_dtype

    def applies(self, dense: torch.Tensor, sparse: torch.Tensor) -> bool:
        """Whether this call can replay the graphs: a training call with the captured batch size."""
        return (dense.shape[0] == self.batch_size and torch.is_grad_enabled() and sparse.requires_grad
                and _autocast_dtype(dense.device) == self.autocast_dtype)

    def __call__(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        return self.graphed(dense, sparse)


def _autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The dtype autocast casts to on ``device`` now, or None when autocast is off."""
    if device.type == "cuda" and torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return None


def capture(head: DenseHead, batch_size: int, num_dense: int, num_sparse: int, dim: int,
            device: torch.device, autocast_dtype: torch.dtype | None = None) -> GraphedHead:
    """Capture ``head``'s forward and backward at ``batch_size`` on the CUDA ``device``.

    The warm-up iterations that make_graphed_callables runs do backward passes: the parameters'
    gradients are cleared afterwards, so the first real step starts as an eager one would.
    """
    if device.type != "cuda":
        raise ValueError(f"CUDA graphs need a CUDA device, not {device}")
    generator = torch.Generator(device=device).manual_seed(0)  # sample inputs: any values of the right shape
    dense = torch.randn(batch_size, num_dense, device=device, generator=generator)
    sparse = torch.randn(batch_size, num_sparse, dim, device=device, generator=generator, requires_grad=True)
    with torch.autocast("cuda", dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None,
                        cache_enabled=False):
        graphed = torch.cuda.make_graphed_callables(head, (dense, sparse))
    for parameter in head.parameters():
        parameter.grad = None
    return GraphedHead(graphed, batch_size, autocast_dtype)
