"""The numeric precision a run computes in (`recscale run --precision`; RULES.md SYS-3): part of
the stack, like the device or the embedding backend, not of the workload.

- ``fp32``: every float op in IEEE fp32 (on CUDA, TF32 is switched off for matmuls and cuDNN);
- ``tf32``: on CUDA, fp32 tensors with TF32 matmuls and convolutions (torch's "high" matmul
  precision); on the CPU nothing changes (there is no TF32 there), and the run still records tf32;
- ``bf16``: autocast to bfloat16 over the model's forward (:func:`in_precision`): the dense parts
  (bottom and top MLP, interaction) compute in bf16, on any device; the loss is taken of the logits
  in fp32 (as autocast would: binary_cross_entropy_with_logits is among its fp32 ops), and matmuls
  outside the forward stay fp32.

Always fp32, whatever the precision: the embedding tables and their optimizer state, and the
sparse update. The lookups (index_select / embedding_bag of fp32 rows) are not among autocast's
lower-precision ops, so the pooled embeddings stay fp32; their gradient arrives in fp32 (autocast
casts it back at the op that consumed them in bf16), and reference/model/tbe.py applies the update in
the tables' dtype. tests/test_precision.py checks that the update under bf16 autocast is the fp32 one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from recscale.system import PRECISIONS, Precision


def check(precision: str) -> Precision:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return precision  # type: ignore[return-value]


@contextlib.contextmanager
def matmul_precision(precision: Precision, device: torch.device) -> Iterator[None]:
    """Set torch's process-wide fp32 matmul/cuDNN settings for `precision` on `device`, and put back
    what was there on leaving (so that one run does not change the next one's numerics)."""
    check(precision)
    if device.type != "cuda":  # no TF32 on the CPU: fp32, tf32 and bf16 leave the settings alone
        yield
        return
    before = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    tf32 = precision == "tf32"
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before[0])  # also sets cuda.matmul.allow_tf32 back
        torch.backends.cudnn.allow_tf32 = before[1]


def autocast_dtype(precision: Precision) -> torch.dtype | None:
    """The dtype the forward autocasts to in `precision`: bfloat16 for bf16, None (no autocast) otherwise."""
    return torch.bfloat16 if check(precision) == "bf16" else None


def autocast(precision: Precision, device: torch.device) -> torch.autocast:
    """The autocast context for the forward and the loss: bfloat16 for bf16, off otherwise."""
    dtype = autocast_dtype(precision)
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


class Autocast(nn.Module):
    """`model` whose forward runs under :func:`autocast`, called (and switched between train and eval)
    as the model itself is, so that what consumes its output (the loss, the metrics) stays outside."""

    def __init__(self, model: nn.Module, precision: Precision, device: torch.device) -> None:
        super().__init__()
        self.model, self.precision, self.device = model, check(precision), device

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with autocast(self.precision, self.device):
            return self.model(*args, **kwargs)


def in_precision(model: nn.Module, precision: Precision, device: torch.device) -> nn.Module:
    """`model` computing its forward in `precision`: wrapped in Autocast for bf16, itself otherwise."""
    return Autocast(model, precision, device) if check(precision) == "bf16" else model
