"""Process-group plumbing for multi-process runs (`torchrun --nproc_per_node=N -m harness.cli run`).

One process: every method is the identity. Several: torch.distributed with gloo on CPU and nccl on
CUDA; rank 0 writes the files; evaluation logits are gathered so metrics are exact over the whole
eval set. The model is built by reference.model.parallel (TorchRec's DistributedModelParallel:
tables sharded, dense parts data-parallel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as torch_dist

T = TypeVar("T")


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def single(cls) -> Distributed:
        return cls()

    @classmethod
    def from_env(cls, device: str) -> Distributed:
        """Join the process group torchrun set up (WORLD_SIZE > 1), or run alone."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls.single()
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
        return cls(rank=torch_dist.get_rank(), world_size=world_size,
                   local_rank=int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, kind: str) -> torch.device:
        if kind == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def gather_cat(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate every rank's 1-D tensor in rank order (they may differ in length)."""
        if self.world_size == 1:
            return tensor
        parts: list[torch.Tensor | None] = [None] * self.world_size
        torch_dist.all_gather_object(parts, tensor.cpu())
        return torch.cat([p for p in parts if p is not None])

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on any."""
        if self.world_size == 1:
            return flag
        value = torch.tensor([int(flag)])
        torch_dist.all_reduce(value, op=torch_dist.ReduceOp.MAX)
        return bool(value.item())

    def from_main(self, value: T) -> T:
        """Rank 0's `value` on every rank: a decision (skip a finished run, a run failed) is taken once,
        by rank 0, so that the ranks never fall out of step."""
        if self.world_size == 1:
            return value
        box: list[object] = [value if self.is_main else None]
        torch_dist.broadcast_object_list(box, src=0)
        return box[0]  # type: ignore[return-value]

    def barrier(self) -> None:
        if self.world_size > 1:
            torch_dist.barrier()

    def close(self) -> None:
        if self.world_size > 1 and torch_dist.is_initialized():
            torch_dist.destroy_process_group()
