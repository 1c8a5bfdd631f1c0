"""The TorchRec backend of the sparse arch: fbgemm's fused table-batched embedding kernels, with
the sparse optimizer applied inside backward (no sparse gradient tensor is ever materialised).

torchrec and fbgemm are imported here only, so the pure-PyTorch path never needs them.

One process: ``DLRM.sparse_arch.embedding_bag_collection`` is a torchrec
``FusedEmbeddingBagCollection`` (fbgemm's table-batched kernels, optimizer fused into backward).

Several processes (``reference.model.dlrm.build_shardable_model``): as torchrec's DLRM example
does, the collection is a plain torchrec ``EmbeddingBagCollection`` on the meta device with the
sparse optimizer registered by ``apply_optimizer_in_backward``, and the dense parts are real.
``DistributedModelParallel(model, device=..., plan=...)`` then shards the tables (plan from an
``EmbeddingShardingPlanner`` given :func:`sharding_constraints`: fbgemm's fused kernels per
shard, optimizer in backward), materialises them (torchrec's
``reset_parameters``: the same uniform(+-1/sqrt(rows)) rule, drawn from the global RNG, not from
``seed``) and wraps the dense parts data-parallel. The sparse optimizer is then
``embedding_bag_collection.fused_optimizer`` (what ``optim.build_optimizer`` picks up).
``DistributedModelParallel`` around the single-process ``FusedEmbeddingBagCollection`` is not
the way: its sharded form wraps lookups in DDP with ``device_ids``, which fails on the CPU.
tests/test_model_sharded.py checks the recipe on one CPU rank (gloo): same logits and weights as
the single-process model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from recscale.spec import SparseOptimizerSpec
from reference.data.batch import Batch
from reference.model.embeddings import SparseArch, feature_name, table_ids, table_name


def _fused_optimizer(spec: SparseOptimizerSpec) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
    """The optimizer class and kwargs torchrec maps onto fbgemm's EXACT_SGD / EXACT_ADAGRAD /
    EXACT_ROWWISE_ADAGRAD (torchrec.modules.fused_embedding_modules.convert_optimizer_type_and_kwargs)."""
    import torchrec.optim

    if spec.name == "sgd":
        return torch.optim.SGD, {"lr": spec.lr}
    if spec.name == "adagrad":
        return torch.optim.Adagrad, {"lr": spec.lr, "eps": spec.eps}
    if spec.name == "rowwise_adagrad":
        return torchrec.optim.RowWiseAdagrad, {"lr": spec.lr, "eps": spec.eps}
    raise ValueError(f"no fused embedding optimizer for {spec.name!r}")


class TorchRecSparseArch(SparseArch):
    """``FusedEmbeddingBagCollection`` over a ``KeyedJaggedTensor`` built from the Batch."""

    def __init__(
        self, rows: Sequence[int], dim: int, optimizer: SparseOptimizerSpec, device: torch.device,
        *, shardable: bool = False,
    ) -> None:
        """``shardable``: an ``EmbeddingBagCollection`` on the meta device for DistributedModelParallel
        (see the module docstring); ``device`` is then where the ids are mapped onto rows."""
        if dim % 4:  # fbgemm's table-batched kernels assert it; say so before they do
            raise ValueError(f"the torchrec backend (fbgemm) needs model.embedding.dim to be a multiple of 4, "
                             f"got {dim}: use a multiple of 4 or --backend torch")
        super().__init__(rows, dim, device)
        from torchrec.modules.embedding_configs import EmbeddingBagConfig
        from torchrec.modules.embedding_modules import EmbeddingBagCollection
        from torchrec.modules.fused_embedding_modules import FusedEmbeddingBagCollection
        from torchrec.optim.apply_optimizer_in_backward import apply_optimizer_in_backward

        self.optimizer_spec = optimizer
        self.keys = [feature_name(i) for i in range(len(rows))]
        tables = [
            EmbeddingBagConfig(
                name=table_name(i), embedding_dim=dim, num_embeddings=num_rows, feature_names=[feature_name(i)]
            )
            for i, num_rows in enumerate(rows)
        ]
        optimizer_type, optimizer_kwargs = _fused_optimizer(optimizer)
        self.embedding_bag_collection: torch.nn.Module
        if shardable:
            self.embedding_bag_collection = EmbeddingBagCollection(tables=tables, device=torch.device("meta"))
            apply_optimizer_in_backward(optimizer_type, self.embedding_bag_collection.parameters(), optimizer_kwargs)
        else:
            self.embedding_bag_collection = FusedEmbeddingBagCollection(
                tables=tables, optimizer_type=optimizer_type, optimizer_kwargs=optimizer_kwargs, device=device
            )

    def tables(self) -> list[torch.Tensor]:
        bags = self.embedding_bag_collection.embedding_bags
        return [bags[table_name(i)].weight for i in range(self.num_features)]

    def fused_optimizer(self) -> torch.optim.Optimizer:
        """The KeyedOptimizer over fbgemm's optimizer state: its step() only syncs the learning
        rate (the update already ran in backward); state_dict() exposes the accumulators.
        A method on FusedEmbeddingBagCollection, a property on DMP's sharded collections."""
        optimizer = self.embedding_bag_collection.fused_optimizer
        return optimizer() if callable(optimizer) else optimizer

    def forward(self, batch: Batch) -> torch.Tensor:
        """batch (F features, B examples) -> pooled embeddings [B, F, D]."""
        ids = table_ids(batch, self.rows)
        lengths = batch.sparse_lengths.reshape(-1)  # feature-major, as the Batch already is
        lookup = self._single_lookup()
        if lookup is not None:
            offsets = torch.ops.fbgemm.asynchronous_complete_cumsum(lengths)
            pooled = lookup(ids.int(), offsets.int(), None)
        else:
            from torchrec.sparse.jagged_tensor import KeyedJaggedTensor

            features = KeyedJaggedTensor(keys=self.keys, values=ids, lengths=lengths)
            pooled = self.embedding_bag_collection(features).values()  # [B, F * D]
        return pooled.view(batch.size, self.num_features, self.dim)

    def _single_lookup(self) -> torch.nn.Module | None:
        """The collection's one fbgemm lookup module, when the fast path applies.

        ``FusedEmbeddingBagCollection.forward`` splits the KJT per feature and concatenates the
        pieces again in table order before its single fbgemm call; the Batch is already in that
        order (one table per feature, tables in feature order), so the split and concatenation
        (about 8% of a step of the embedding-bound benchmark) are skipped by calling the lookup
        directly. Anything else (e.g. a module sharded by DistributedModelParallel, or a torchrec
        whose internals differ) takes the public path.
        """
        from torchrec.modules.fused_embedding_modules import FusedEmbeddingBagCollection

        collection = self.embedding_bag_collection
        lookups = getattr(collection, "_emb_modules", None)
        if type(collection) is FusedEmbeddingBagCollection and isinstance(lookups, list) and len(lookups) == 1:
            return lookups[0]
        return None


def sharding_constraints(arch: TorchRecSparseArch) -> dict[str, Any]:
    """Planner constraints for DistributedModelParallel: every table on fbgemm's fused kernel
    (optimizer in backward), never data-parallel.

    Left alone, the planner may make small tables data-parallel with the "dense" kernel, and then
    (torchrec 1.8, CPU) their optimizer-in-backward is not applied: the tables never train. Use as
    ``EmbeddingShardingPlanner(topology=..., constraints=sharding_constraints(model.sparse_arch))``.
    """
    from torchrec.distributed.embedding_types import EmbeddingComputeKernel
    from torchrec.distributed.planner.types import ParameterConstraints
    from torchrec.distributed.types import ShardingType

    kinds = (ShardingType.TABLE_WISE, ShardingType.ROW_WISE, ShardingType.TABLE_ROW_WISE, ShardingType.COLUMN_WISE)
    constraint = ParameterConstraints(
        sharding_types=[kind.value for kind in kinds], compute_kernels=[EmbeddingComputeKernel.FUSED.value]
    )
    return {table_name(i): constraint for i in range(arch.num_features)}
