"""System description: MLPerf Training's fields plus RecScale's software stack, and auto-capture.

Fields the machine cannot tell (submitter, division, status, cooling, storage, interconnects) are
left empty for the user to fill; the checker lists the required ones still empty (RULES.md SYS-1).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EmbeddingBackend = Literal["torchrec", "torch"]


class SoftwareStack(BaseModel):
    """Versions of what ran; null where a package is not installed."""

    model_config = ConfigDict(extra="allow")  # MLPerf's other_software_stack is open-ended

    python: str
    torch: str
    torchrec: str | None = None
    fbgemm_gpu: str | None = None
    nvidia_dali: str | None = None
    cuda: str | None = None
    cudnn: str | None = None
    nccl: str | None = None
    recscale: str


class SystemDescription(BaseModel):
    """MLPerf Training system-description fields (strings, "" when unknown) plus RecScale's."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    submitter: str = ""
    division: Literal["closed", "open", ""] = ""
    status: str = Field("", description="MLPerf availability: available, preview, research, onprem, cloud")
    system_name: str
    number_of_nodes: str = "1"
    host_processors_per_node: str = ""
    host_processor_model_name: str = ""
    host_processor_core_count: str = ""
    host_processor_vcpu_count: str = ""
    host_processor_frequency: str = ""
    host_processor_caches: str = ""
    host_processor_interconnect: str = ""
    host_memory_capacity: str = ""
    host_storage_type: str = ""
    host_storage_capacity: str = ""
    host_networking: str = ""
    host_networking_topology: str = ""
    host_memory_configuration: str = ""
    accelerators_per_node: str = "0"
    accelerator_model_name: str = ""
    accelerator_host_interconnect: str = ""
    accelerator_frequency: str = ""
    accelerator_on_chip_memories: str = Field("", alias="accelerator_on-chip_memories")
    accelerator_memory_configuration: str = ""
    accelerator_memory_capacity: str = ""
    accelerator_interconnect: str = ""
    accelerator_interconnect_topology: str = ""
    cooling: str = ""
    hw_notes: str = ""
    framework: str = ""
    other_software_stack: SoftwareStack
    operating_system: str = ""
    sw_notes: str = ""
    # RecScale's own
    embedding_backend: EmbeddingBackend
    device: Literal["cpu", "cuda"]


# Fields a submission must fill before it is checked clean (RULES.md SYS-1).
REQUIRED_FIELDS = (
    "submitter", "division", "status", "system_name", "number_of_nodes", "host_processors_per_node",
    "host_processor_model_name", "host_processor_core_count", "host_memory_capacity",
    "accelerators_per_node", "framework", "operating_system",
)


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
    import torch

    from harness import __version__

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
            nodes: int = 1, status: str = "") -> SystemDescription:
    """Describe the running machine; what it cannot tell is left "" for the submitter."""
    import torch

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
    )
