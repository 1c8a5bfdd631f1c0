"""The multi-process path: build_shardable_model + torchrec DistributedModelParallel (one rank, gloo).

With the tables copied from the single-process model, the sharded model must train exactly like
it: same logits at every step, same weights after (tolerance as tests/test_model_parity.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from model_helpers import CPU, INTERACTIONS, multi_hot_batch, one_hot_batch, tiny_spec

from reference.model.dlrm import build_model, build_shardable_model
from reference.model.optim import build_optimizer

pytest.importorskip("torchrec")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning")
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture
def process_group(tmp_path: Path) -> Iterator[None]:
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _local(tensor: torch.Tensor) -> torch.Tensor:
    """A ShardedTensor's one local shard (one rank, table-wise: the whole table), else itself."""
    return tensor.local_shards()[0].tensor if hasattr(tensor, "local_shards") else tensor


@pytest.mark.usefixtures("process_group")
def test_sharded_model_trains_like_the_single_process_one() -> None:
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.planner import EmbeddingShardingPlanner, Topology

    from reference.model.embeddings_torchrec import sharding_constraints

    spec = tiny_spec(interaction=INTERACTIONS[1])
    single = build_model(spec, "torchrec", CPU, seed=4)
    shardable = build_shardable_model(spec, CPU, seed=4)
    planner = EmbeddingShardingPlanner(topology=Topology(world_size=1, compute_device="cpu"),
                                       constraints=sharding_constraints(shardable.sparse_arch))
    plan = planner.collective_plan(shardable, [EmbeddingBagCollectionSharder()], dist.GroupMember.WORLD)
    sharded = DistributedModelParallel(shardable, device=CPU, plan=plan)
    state = sharded.state_dict()
    with torch.no_grad():
        for key, value in single.state_dict().items():
            if "embedding_bags" in key:  # DMP drew its own tables: start both from the same ones
                _local(state[key]).copy_(value)
            else:  # the dense parts come from the seed in both
                torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    optimizers = [build_optimizer(model, spec.training.optimizer) for model in (single, sharded.module)]
    for step in range(4):
        batch = multi_hot_batch(spec, size=12, seed=step) if step % 2 else one_hot_batch(spec, size=12, seed=step)
        logits = []
        for model, optimizer in zip((single, sharded), optimizers, strict=True):
            optimizer.zero_grad()
            logits.append(model(batch))
            torch.nn.functional.binary_cross_entropy_with_logits(logits[-1], batch.labels).backward()
            optimizer.step()
        torch.testing.assert_close(logits[1], logits[0], **TOLERANCE)
    state = sharded.state_dict()
    for key, value in single.state_dict().items():
        torch.testing.assert_close(_local(state[key]), value, **TOLERANCE, msg=key)
