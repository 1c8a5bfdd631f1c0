"""The Triton kernel itself (imports Triton; reference/model/tbe_triton.py imports this module only
when the kernel is first used, so that Triton stays optional). See tbe_triton.py for what it does."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def segment_update(
    grad_ptr, sources_ptr, offsets_ptr, rows_ptr, segments_ptr, weights_ptr, state_ptr,
    lr, eps, dim, grad_stride, weights_stride,
    OPTIMIZER: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """One program per touched row (``segments[program]``): sum its gradient rows in tiles of BLOCK_N,
    then update the weight row and its state (OPTIMIZER 0: EXACT_SGD, 1: EXACT_ADAGRAD,
    2: EXACT_ROWWISE_ADAGRAD)."""
    segment = tl.load(segments_ptr + tl.program_id(0))
    first = tl.load(offsets_ptr + segment)
    end = tl.load(offsets_ptr + segment + 1)
    row = tl.load(rows_ptr + segment).to(tl.int64)
    cols = tl.arange(0, BLOCK_D)
    col_mask = cols < dim
    summed = tl.zeros((BLOCK_D,), dtype=tl.float32)
    for start in range(first, end, BLOCK_N):
        entries = start + tl.arange(0, BLOCK_N)
        entry_mask = entries < end
        sources = tl.load(sources_ptr + entries, mask=entry_mask, other=0).to(tl.int64)
        tile = tl.load(grad_ptr + sources[:, None] * grad_stride + cols[None, :],
                       mask=entry_mask[:, None] & col_mask[None, :], other=0.0)
        summed += tl.sum(tile.to(tl.float32), axis=0)
    weight_ptrs = weights_ptr + row * weights_stride + cols
    weight = tl.load(weight_ptrs, mask=col_mask, other=0.0)
    if OPTIMIZER == 0:
        weight -= lr * summed
    elif OPTIMIZER == 1:  # a sum of squares per value
        state_ptrs = state_ptr + row * weights_stride + cols
        accumulated = tl.load(state_ptrs, mask=col_mask, other=0.0) + summed * summed
        tl.store(state_ptrs, accumulated, mask=col_mask)
        weight -= lr * summed / (tl.sqrt(accumulated) + eps)
    else:  # one mean square per row
        accumulated = tl.load(state_ptr + row) + tl.sum(summed * summed, axis=0) / dim
        tl.store(state_ptr + row, accumulated)
        weight -= lr * summed / (tl.sqrt(accumulated) + eps)
    tl.store(weight_ptrs, weight, mask=col_mask)
