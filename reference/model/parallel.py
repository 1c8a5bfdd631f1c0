"""The model and optimizer a run trains with: one process, or several with TorchRec's
DistributedModelParallel (DMP).

Several processes (``torchrun --nproc_per_node=N -m harness.cli run ...``) follow torchrec's DLRM
example (reference/model/embeddings_torchrec.py): the tables are sharded by an
``EmbeddingShardingPlanner`` (fbgemm's fused kernels, optimizer in backward, never data-parallel),
the dense parts are replicated and data-parallel (DDP inside DMP). Two details make N processes
train the same function as one:

- the tables DMP materialises are overwritten with the seeded ones (reference/model/init.py), so the
  initial model is a function of the seed alone, whatever the process count;
- every rank's loss is the mean over its slice of the global batch. DDP averages the dense
  gradients over ranks (the global mean), but the sharded tables *sum* the gradients that all
  ranks send them, so the gradient flowing into the lookups is scaled by 1/N
  (``DLRM.sparse_grad_scale``) to make the tables see the global mean too.

The planner is told the topology: the world size, how many of those processes share a machine
(torchrun's LOCAL_WORLD_SIZE: shards are placed so that most all-to-all traffic stays inside a
machine) and the device with its memory (a GPU's real HBM, not torchrec's 32 GB default).

The ``torch`` backend (reference/model/tbe.py) runs one process only, by decision: its sparse
optimizer is applied inside backward, so replicated tables would train the same function as one
process only if every rank all-gathered every other rank's ids and row gradients before each update
(row-wise Adagrad's state is not linear in the gradient), and every GPU would hold every table. That
is neither the one-process function for free nor a way to scale; sharding is TorchRec's job.
``require_shardable`` says so before a run starts.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from recscale.spec import WorkloadSpec
from reference.model.dlrm import Backend, build_model, build_shardable_model, table_seed
from reference.model.embeddings import table_name
from reference.model.init import init_table
from reference.model.optim import DLRMOptimizer, build_optimizer

TABLE_KEY = "sparse_arch.embedding_bag_collection.embedding_bags.{}.weight"
SHARDABLE_BACKENDS = ("torchrec",)


def require_shardable(backend: str, world_size: int) -> None:
    """Refuse several processes on a backend that cannot shard its tables (see the module docstring)."""
    if world_size > 1 and backend not in SHARDABLE_BACKENDS:
        raise ValueError(f"several processes ({world_size}) need --backend torchrec (tables sharded by "
                         f"TorchRec; fbgemm-gpu must be installed); the {backend} backend runs one process")


def build_trainable(spec: WorkloadSpec, backend: Backend, device: torch.device, seed: int,
                    world_size: int = 1, local_world_size: int | None = None) -> tuple[torch.nn.Module, DLRMOptimizer]:
    """(model, optimizer) for this process: plain with one process, DMP-sharded with several
    (`local_world_size` of them on this machine; default: all of them)."""
    if world_size == 1:
        model = build_model(spec, backend, device, seed)
        return model, build_optimizer(model, spec.training.optimizer)
    require_shardable(backend, world_size)
    return _sharded(spec, device, seed, world_size, local_world_size or world_size)


def topology(world_size: int, local_world_size: int, device: torch.device) -> Any:
    """The planner's torchrec Topology: processes, processes per machine, device kind and its memory."""
    from torchrec.distributed.planner.types import (  # lazy: torchrec is optional
        HardwareConfig,
        KernelConfig,
        TopologyFactory,
        TrainerConfig,
    )

    if world_size % local_world_size:
        raise ValueError(f"world size {world_size} is not a whole number of machines of {local_world_size} processes")
    hbm = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else None
    return TopologyFactory.create_topology(
        trainer_config=TrainerConfig(world_size=world_size, local_world_size=local_world_size),
        hardware_config=HardwareConfig(hbm_cap_bytes=hbm),
        kernel_config=KernelConfig(compute_device=device.type),
    )


def _sharded(spec: WorkloadSpec, device: torch.device, seed: int, world_size: int,
             local_world_size: int) -> tuple[torch.nn.Module, DLRMOptimizer]:
    # lazy: torchrec is optional (one-process runs need none of it)
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.planner import EmbeddingShardingPlanner

    from reference.model.embeddings_torchrec import sharding_constraints

    model = build_shardable_model(spec, device, seed)
    model.sparse_grad_scale = 1.0 / world_size
    planner = EmbeddingShardingPlanner(topology=topology(world_size, local_world_size, device),
                                       constraints=sharding_constraints(model.sparse_arch))
    plan = planner.collective_plan(model, [EmbeddingBagCollectionSharder()], dist.GroupMember.WORLD)
    sharded = DistributedModelParallel(model, device=device, plan=plan)
    _seed_tables(sharded, spec, seed)
    return sharded, build_optimizer(sharded.module, spec.training.optimizer)


@torch.no_grad()
def _seed_tables(sharded: Any, spec: WorkloadSpec, seed: int) -> None:
    """Overwrite every local shard with its slice of the seeded table (drawn whole, in table order,
    exactly as the single-process model draws it; each table is held once, transiently, on the CPU)."""
    rows = spec.model.embedding.rows(spec.data.feature_cardinalities)
    dim = spec.model.embedding.dim
    state = sharded.state_dict()
    generator = torch.Generator().manual_seed(table_seed(seed))
    for index, table_rows in enumerate(rows):
        full = torch.empty(table_rows, dim)
        init_table(full, generator)
        weight = state[TABLE_KEY.format(table_name(index))]
        for shard in weight.local_shards() if hasattr(weight, "local_shards") else []:
            (row, col), (height, width) = shard.metadata.shard_offsets, shard.metadata.shard_sizes
            shard.tensor.copy_(full[row:row + height, col:col + width])
