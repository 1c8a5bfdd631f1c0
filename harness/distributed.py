"""Process-group plumbing for multi-process runs (`torchrun --nproc_per_node=N -m harness.cli run`).

One process: every method is the identity. Several: one torch.distributed process group, gloo with
`--device cpu` and NCCL with `--device cuda`; rank 0 writes the files and takes the decisions; the
model is built by reference.model.parallel (TorchRec's DistributedModelParallel: tables sharded,
dense parts data-parallel).

Where the collectives' tensors live: on `comm_device`, the process's own GPU under NCCL and the CPU
under gloo. NCCL has no CPU path, so a flag reduced as a CPU tensor fails there ("No backend type
associated with device type cpu"): that bug stopped every multi-GPU run at its first divergence
check. A gloo group beside NCCL for host-side objects was the other way; it is not taken because
(1) one group keeps one total order of collectives, so a rank out of step shows up in one place
instead of two groups waiting on each other; (2) the big payload (evaluation logits) is already on
the GPU, and NCCL gathers it there without a copy to the host first; (3) the small ones (a flag, a
decision, a metrics dict) cost one device round trip each, a few per evaluation or per run.
Object collectives pick their device from the current CUDA device, so `from_env` binds each process
to GPU LOCAL_RANK (`torch.cuda.set_device` and `init_process_group(device_id=...)`) before anything
else runs, and `from_main` names `comm_device` explicitly on top.

A process group that the caller initialised before (e.g. a test forcing NCCL with one process) is
joined as it is, whatever its size: its collectives then run for real, even with world size 1.
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
    local_world_size: int = 1  # processes on this machine (torchrun's LOCAL_WORLD_SIZE)
    backend: str | None = None  # the process group's backend ("gloo", "nccl"); None: one process, no group

    @classmethod
    def single(cls) -> Distributed:
        return cls()

    @classmethod
    def from_env(cls, device: str) -> Distributed:
        """Join the process group torchrun set up (WORLD_SIZE > 1) or one initialised already, or run alone."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1 and not torch_dist.is_initialized():
            return cls.single()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if not torch_dist.is_initialized():
            if device == "cuda":
                torch_dist.init_process_group(backend="nccl", device_id=bind_gpu(local_rank))
            else:
                torch_dist.init_process_group(backend="gloo")
        backend = str(torch_dist.get_backend())
        if backend == "nccl":  # also for a group the caller made: object collectives use the current GPU
            bind_gpu(local_rank)
        world_size = torch_dist.get_world_size()
        return cls(rank=torch_dist.get_rank(), world_size=world_size, local_rank=local_rank,
                   local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size))), backend=backend)

    @property
    def grouped(self) -> bool:
        """True when a process group exists (its collectives run, even with one process)."""
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def comm_device(self) -> torch.device:
        """Where this process's collective tensors live: its GPU under NCCL, else the CPU."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def device(self, kind: str) -> torch.device:
        if kind == "cuda":
            return bind_gpu(self.local_rank)
        return torch.device("cpu")

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on any."""
        if not self.grouped:
            return flag
        value = torch.tensor([int(flag)], device=self.comm_device)
        torch_dist.all_reduce(value, op=torch_dist.ReduceOp.MAX)
        return bool(value.item())

    def from_main(self, value: T) -> T:
        """Rank 0's `value` on every rank: a decision (skip a finished run, a run failed) or a result
        (the metrics of an evaluation) is taken once, by rank 0, so that the ranks never fall out of
        step. The other ranks' `value` is ignored."""
        if not self.grouped:
            return value
        box: list[object] = [value if self.is_main else None]
        torch_dist.broadcast_object_list(box, src=0, device=self.comm_device)
        return box[0]  # type: ignore[return-value]

    def gather_to_main(self, tensor: torch.Tensor) -> list[torch.Tensor] | None:
        """Every rank's `tensor` on rank 0, in rank order (None on the other ranks).

        The tensors may differ in length along dim 0 (same trailing shape and dtype): each rank
        pads its own to the longest, one gather sends them to rank 0 only, and rank 0 cuts the
        padding off. They travel on `comm_device` and arrive there."""
        if not self.grouped:
            return [tensor]
        local = tensor.to(self.comm_device)
        length = torch.tensor([local.shape[0]], dtype=torch.int64, device=self.comm_device)
        lengths = [torch.empty_like(length) for _ in range(self.world_size)]
        torch_dist.all_gather(lengths, length)
        sizes = [int(n.item()) for n in lengths]
        padded = local.new_zeros((max(sizes), *local.shape[1:]))
        padded[: local.shape[0]] = local
        parts = [torch.empty_like(padded) for _ in range(self.world_size)] if self.is_main else None
        torch_dist.gather(padded, gather_list=parts, dst=0)
        if parts is None:
            return None
        return [part[:size] for part, size in zip(parts, sizes, strict=True)]

    def barrier(self) -> None:
        if not self.grouped:
            return
        if self.backend == "nccl":
            torch_dist.barrier(device_ids=[self.local_rank])
        else:
            torch_dist.barrier()

    def close(self) -> None:
        if self.grouped and torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def bind_gpu(local_rank: int) -> torch.device:
    """Make GPU `local_rank` this process's current CUDA device (object collectives and the model use it)."""
    if not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise RuntimeError(f"LOCAL_RANK {local_rank} has no GPU of its own: torch sees {count} CUDA device(s); "
                           f"start at most {count} processes per machine (torchrun --nproc_per_node)")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)
