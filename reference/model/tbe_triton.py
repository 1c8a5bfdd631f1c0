"""The CUDA kernel of the table-batched embedding's backward: per-row gradient sums and the sparse
optimizer in one Triton kernel (reference/model/tbe.py uses it on CUDA when Triton is installed).

The plain-PyTorch path (reference/model/tbe_ops.py: ``segment_sums`` then ``apply_update``) is its
fallback and its correctness oracle (tests/test_model_tbe_triton.py: under Triton's interpreter
on the CPU; tests/test_model_tbe_cuda.py: compiled, on a GPU). What the kernel saves: the [U, D]
gradient sums are never written to memory, and the optimizer's gathers, element-wise ops and
scatters (about ten kernels) become one pass over each touched row.

One program per touched row u: it sums the gradient rows ``sources[offsets[u]:offsets[u + 1]]``
in tiles of BLOCK_N (a fixed order: deterministic), then updates the weight row and its state as
fbgemm's EXACT_SGD / EXACT_ADAGRAD / EXACT_ROWWISE_ADAGRAD do. Rows are distinct, so no two
programs write the same memory: no atomics.

Two launches, because row counts are skewed: most rows are hit by a few ids (small tiles, few
warps: little work per program), a few by thousands (a small table, a popular id: large tiles,
more warps, so that their programs do not become the kernel's tail).

Triton is optional (it ships with the CUDA builds of PyTorch, not with the CPU ones): it is
imported when the kernel is first built, never at module import.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

import torch

from reference.model.tbe_ops import Segments, SparseUpdate

OPTIMIZER_CODES = {"sgd": 0, "adagrad": 1, "rowwise_adagrad": 2}
# (most ids of a row, fp32 values per tile, warps) of the launch for rows hit a few times, and of
# the launch for the others. Tuning knobs for the GPU: bench/bench_gpu.py measures them.
FEW_IDS, FEW_TILE_VALUES, FEW_WARPS = 8, 1024, 2
MANY_TILE_VALUES, MANY_WARPS = 8192, 8


@functools.cache
def available() -> bool:
    """Whether Triton can be imported (a CUDA build of PyTorch brings it); asked once per process."""
    try:
        import triton  # noqa: F401  (optional dependency: only the CUDA path needs it)
    except ImportError:
        return False
    return True


def interpreting() -> bool:
    """Triton's interpreter (numpy, on the CPU) is on: how the tests run the kernel without a GPU.
    It must be set before Triton is first imported (tests/test_model_tbe_triton.py)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def _kernel() -> Any:
    """The jitted kernel, imported on first use: its module imports Triton, an optional dependency."""
    return importlib.import_module("reference.model.tbe_triton_kernel").segment_update


def _next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@torch.no_grad()
def segment_update(grad: torch.Tensor, segments: Segments, weights: torch.Tensor, state: torch.Tensor,
                   update: SparseUpdate) -> None:
    """grad [B * F, D] of the pooled output; weights [R, D] and state updated in place (see above)."""
    if grad.device.type != "cuda" and not interpreting():
        raise RuntimeError(f"the Triton kernel runs on CUDA (or under TRITON_INTERPRET=1), not on {grad.device}")
    if not (weights.is_contiguous() and grad.stride(1) == 1 and (update.name != "adagrad" or state.is_contiguous())):
        raise ValueError("the Triton kernel needs a contiguous weight and state and a row-major gradient")
    if not segments.rows.numel():
        return
    dim = weights.shape[1]
    block_d = _next_power_of_2(dim)
    state_arg = state if state.numel() else weights  # SGD has no state: any valid pointer, never read
    hits = segments.offsets[1:] - segments.offsets[:-1]
    few = hits <= FEW_IDS
    few_n = max(1, min(FEW_IDS, FEW_TILE_VALUES // block_d))
    many_n = max(FEW_IDS, MANY_TILE_VALUES // block_d)
    for chosen, block_n, warps in ((few, few_n, FEW_WARPS), (~few, many_n, MANY_WARPS)):
        programs = chosen.nonzero().squeeze(1)
        if programs.numel():
            _kernel()[(programs.numel(),)](
                grad, segments.sources, segments.offsets, segments.rows, programs, weights, state_arg,
                update.lr, update.eps, dim, grad.stride(0), weights.stride(0),
                OPTIMIZER=OPTIMIZER_CODES[update.name], BLOCK_N=block_n, BLOCK_D=block_d, num_warps=warps,
            )
