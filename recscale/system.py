"""System description: MLPerf Training's fields plus RecScale's software stack (harness.machine fills it in).

Fields the machine cannot tell (submitter, division, status, cooling, storage, interconnects) are
left empty for the user to fill; the checker lists the required ones still empty (RULES.md SYS-1).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

EmbeddingBackend = Literal["torchrec", "torch"]
# Numeric precision of the stack (RULES.md SYS-3): fp32; tf32 matmuls; bf16 autocast of the dense
# parts (tables and optimizer state fp32). Part of the stack, not of the workload.
Precision = Literal["fp32", "tf32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
PRECISION_BEFORE_RECORDED: Precision = "fp32"  # what records and descriptions without one ran in


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
    precision: Precision = Field(PRECISION_BEFORE_RECORDED, description="numeric precision of every run on this "
                                 "system (fp32 for descriptions written before it was recorded)")


# Fields a submission must fill before it is checked clean (RULES.md SYS-1).
REQUIRED_FIELDS = (
    "submitter", "division", "status", "system_name", "number_of_nodes", "host_processors_per_node",
    "host_processor_model_name", "host_processor_core_count", "host_memory_capacity",
    "accelerators_per_node", "framework", "operating_system",
)
