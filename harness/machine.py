"""Describe the running machine as a SystemDescription; what it cannot tell is left "" for the submitter."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from pathlib import Path
from typing import Literal

import torch

from recscale import __version__
from recscale.system import EmbeddingBackend, Precision, SoftwareStack, SystemDescription


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpuinfo() -> list[tuple[str, str]]:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
    return [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines) if v]


def _cpu_model(info: list[tuple[str, str]]) -> str:
    return next((v for k, v in info if k == "model name"), platform.processor())


def _sockets_and_cores(info: list[tuple[str, str]]) -> tuple[str, str]:
    """(sockets, cores per socket) as /proc/cpuinfo reports them; "" when it does not say."""
    sockets = {v for k, v in info if k == "physical id"}
    cores = next((v for k, v in info if k == "cpu cores"), "")
    return (str(len(sockets)) if sockets else ""), cores


def _memory_capacity() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(re.findall(r"\d+", line)[0])
                return f"{kib / 2**20:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return ""


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def software_stack() -> SoftwareStack:
    cuda = torch.version.cuda
    return SoftwareStack(
        python=platform.python_version(),
        torch=torch.__version__,
        torchrec=_version("torchrec"),
        fbgemm_gpu=_version("fbgemm-gpu-cpu") or _version("fbgemm-gpu"),
        nvidia_dali=_version("nvidia-dali-cuda130") or _version("nvidia-dali-cuda120"),
        cuda=cuda,
        cudnn=str(torch.backends.cudnn.version()) if cuda and torch.backends.cudnn.is_available() else None,
        nccl=".".join(map(str, torch.cuda.nccl.version())) if cuda and torch.cuda.is_available() else None,
        recscale=__version__,
    )


def capture(system_name: str, backend: EmbeddingBackend, device: Literal["cpu", "cuda"],
            nodes: int = 1, status: str = "", precision: Precision = "fp32") -> SystemDescription:
    """Describe the running machine; what it cannot tell is left "" for the submitter."""
    gpus = torch.cuda.device_count() if device == "cuda" else 0
    gpu_name = torch.cuda.get_device_name(0) if gpus else ""
    gpu_memory = f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB" if gpus else ""
    stack = software_stack()
    info = _cpuinfo()
    sockets, cores = _sockets_and_cores(info)
    return SystemDescription(
        system_name=system_name,
        status=status,
        number_of_nodes=str(nodes),
        host_processors_per_node=sockets,
        host_processor_model_name=_cpu_model(info),
        host_processor_core_count=cores,
        host_processor_vcpu_count=str(os.cpu_count() or ""),
        host_memory_capacity=_memory_capacity(),
        accelerators_per_node=str(gpus),
        accelerator_model_name=gpu_name,
        accelerator_memory_capacity=gpu_memory,
        framework=f"PyTorch {stack.torch}" + (f", TorchRec {stack.torchrec}" if backend == "torchrec" else ""),
        other_software_stack=stack,
        operating_system=_os_name(),
        embedding_backend=backend,
        device=device,
        precision=precision,
    )
