"""Which loader a run reads its batches from (`recscale run --loader`), and where its data is held.

Every choice gives the same batches in the same order (the host loader's, reference/data/loader.py);
they differ in where the rows are gathered and how the device waits for them:

- ``device``: the point's training fraction and eval set staged in the run's device memory during
  initialisation, each pass shuffled and batched there (staged.py). On CUDA, when they do not fit
  the device, they are staged in host memory and the batches made ahead by a thread (prefetch.py);
  when they fit neither, an error says so. On the CPU the device is host memory.
- ``host``: the host loader, which reads each batch from the memory-mapped shards; on CUDA made
  ahead by a thread, in page-locked memory, copied without blocking (prefetch.py).
- ``dali``: NVIDIA DALI over the shards (dali.py; an optional extra).
- ``auto``: on CUDA ``device`` when the data fits the device or host memory, else ``host``; on the
  CPU ``host`` (staging buys a CPU nothing the page cache does not already give).

The fit rule, from the memory free when the model, its optimizer state and everything else of the
run is already there (the runner builds the model first):

- device: staged bytes <= free device memory - headroom, headroom = max(DEVICE_HEADROOM_MIN,
  DEVICE_HEADROOM_SHARE x total device memory), for the step's activations, the gradients, the
  per-batch gathers and the allocator's slack;
- host: staged bytes x copies <= HOST_SHARE x available host memory (MemAvailable), copies = the
  processes of the node that each stage their own (torchrun's LOCAL_WORLD_SIZE), leaving the rest
  to the page cache and the other processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch

from reference.data.dali import INSTALL_HINT, DaliLoader, dali_available
from reference.data.loader import Dataset, Loader
from reference.data.prefetch import Prefetcher
from reference.data.staged import StagedLoader, staged_bytes

LoaderChoice = Literal["auto", "host", "device", "dali"]
LOADER_CHOICES: tuple[str, ...] = get_args(LoaderChoice)
Kind = Literal["device", "host-staged", "host", "dali"]  # what a choice became on this machine
DEVICE_HEADROOM_MIN = 2 << 30
DEVICE_HEADROOM_SHARE = 0.1
HOST_SHARE = 0.5


class DoesNotFit(Exception):
    """``--loader device``: the point's data fits neither the device nor host memory."""


@dataclass(frozen=True)
class Pipeline:
    """The loader a run reads from, and what it is (logged with the staging time)."""

    loader: Loader
    kind: Kind
    where: str  # the device the batches are delivered on
    staged_bytes: int  # bytes held in memory (0: nothing staged)
    reason: str

    def facts(self) -> dict[str, Any]:
        """The log's account of it (metadata of recscale_staging_s)."""
        return {"loader": self.kind, "device": self.where, "staged_bytes": self.staged_bytes, "reason": self.reason}


def device_room(device: torch.device) -> int:
    """Bytes of device memory staging may take (the fit rule above)."""
    free, total = torch.cuda.mem_get_info(device)
    return int(free - max(DEVICE_HEADROOM_MIN, DEVICE_HEADROOM_SHARE * total))


def host_available() -> int:
    """MemAvailable of /proc/meminfo in bytes (physical pages free now where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def host_room(copies: int) -> int:
    """Bytes of host memory one process's staging may take (the fit rule above)."""
    return int(HOST_SHARE * host_available()) // max(1, copies)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def choose(choice: LoaderChoice, cuda: bool, need: int, device_room: int = 0, host_room: int = 0) -> tuple[Kind, str]:
    """What `choice` becomes on this machine, and why: `need` bytes to stage, the room the fit rule
    gives on the device and in host memory (only read on CUDA)."""
    if choice not in LOADER_CHOICES:
        raise ValueError(f"unknown loader {choice!r}; known: {', '.join(LOADER_CHOICES)}")
    if choice in ("dali", "host"):
        return choice, "asked for"
    if not cuda:  # the CPU's device memory is host memory; auto reads the shards (the page cache holds them)
        return ("device", "asked for") if choice == "device" else ("host", "auto on the CPU")
    if need <= device_room:
        return "device", f"{_gib(need)} fit the device ({_gib(device_room)} to spare)"
    if need <= host_room:
        return "host-staged", f"{_gib(need)} do not fit the device ({_gib(device_room)} to spare), fit host memory"
    why = (f"the point's data ({_gib(need)}) fits neither the device ({_gib(device_room)} to spare) nor host "
           f"memory ({_gib(host_room)} for this process)")
    if choice == "device":
        raise DoesNotFit(f"--loader device: {why}; use --loader host (reads each batch from the shards)")
    return "host", why


def open_pipeline(choice: LoaderChoice, dataset: Dataset, train_rows: int, device: torch.device,
                  copies: int = 1) -> Pipeline:
    """The loader for a run of `train_rows` training rows of `dataset` on `device` (see the module
    docstring); staging, when chosen, happens here."""
    need = staged_bytes(dataset, train_rows)
    cuda = device.type == "cuda"
    rooms = (device_room(device), host_room(copies)) if cuda and choice in ("auto", "device") else (0, 0)
    kind, reason = choose(choice, cuda, need, *rooms)
    loader: Loader
    if kind == "dali":
        if not dali_available():
            raise ImportError(INSTALL_HINT)
        loader = DaliLoader(dataset, device_id=(device.index or 0) if cuda else None)  # None: DALI on the CPU
    elif kind == "device":
        loader = StagedLoader(dataset, train_rows, device)
    elif kind == "host-staged":
        loader = Prefetcher(StagedLoader(dataset, train_rows, torch.device("cpu")), device)
    else:
        loader = Prefetcher(dataset, device) if cuda else dataset
    return Pipeline(loader, kind, str(device), need if kind in ("device", "host-staged") else 0, reason)
