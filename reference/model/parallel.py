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


def build_trainable(spec: WorkloadSpec, backend: Backend, device: torch.device, seed: int,
                    world_size: int = 1) -> tuple[torch.nn.Module, DLRMOptimizer]:
    """(model, optimizer) for this process: plain with one process, DMP-sharded with several."""
    if world_size == 1:
        model = build_model(spec, backend, device, seed)
        return model, build_optimizer(model, spec.training.optimizer)
    if backend != "torchrec":
        raise ValueError("a multi-process run shards its tables with TorchRec's DistributedModelParallel: "
                         "use --backend torchrec (fbgemm-gpu must be installed)")
    return _sharded(spec, device, seed, world_size)


def _sharded(spec: WorkloadSpec, device: torch.device, seed: int,
             world_size: int) -> tuple[torch.nn.Module, DLRMOptimizer]:
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.planner import EmbeddingShardingPlanner, Topology

    from reference.model.embeddings_torchrec import sharding_constraints

    model = build_shardable_model(spec, device, seed)
    model.sparse_grad_scale = 1.0 / world_size
    planner = EmbeddingShardingPlanner(topology=Topology(world_size=world_size, compute_device=device.type),
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
