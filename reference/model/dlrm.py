"""The reference DLRM, assembled from its four scalable components (TorchRec's DLRM layout):

- ``sparse_arch``: one embedding table per categorical feature (rows = the spec's
  ``model.embedding.rows(data.feature_cardinalities)``, dim D), sum-pooled -> [B, F, D];
- ``dense_arch``: the bottom MLP over the ``data.num_dense`` dense features, ReLU after every layer;
- ``interaction``: ``reference.model.interactions.interaction_class(kind)``;
- ``over_arch``: the top MLP, ReLU between layers, the last layer linear -> one logit.

Two backends hold the tables (reference/model/embeddings*.py), both with the sparse optimizer fused
into backward: ``torchrec`` (fbgemm's table-batched kernels) and ``torch`` (plain PyTorch, tables
batched into one weight: reference/model/tbe.py).
The same seed gives the same initial weights on both and on any device (reference/model/init.py).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from recscale.interactions import interaction_module
from recscale.spec import WorkloadSpec
from reference.data.batch import Batch
from reference.model.cuda_graphs import DenseHead, GraphedHead, capture
from reference.model.embeddings import SparseArch, TorchSparseArch
from reference.model.init import init_dense, init_table
from reference.model.interactions import interaction_class
from reference.model.mlp import mlp

Backend = Literal["torchrec", "torch"]
BACKENDS: tuple[Backend, ...] = ("torchrec", "torch")
# Components in recscale/accounting.py's terms, and the submodule holding each.
COMPONENTS: dict[str, str] = {
    "embedding": "sparse_arch",
    "bottom_mlp": "dense_arch",
    "interaction": "interaction",
    "top_mlp": "over_arch",
}


class DLRM(nn.Module):
    """Batch -> logits [B]. See the module docstring for the parts."""

    def __init__(
        self, backend: Backend, sparse_arch: SparseArch, dense_arch: nn.Module, interaction: nn.Module,
        over_arch: nn.Module,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.sparse_arch = sparse_arch
        self.dense_arch = dense_arch
        self.interaction = interaction
        self.over_arch = over_arch
        # Scale of the gradient flowing into the tables: 1/N when N processes' sums reach them.
        self.sparse_grad_scale = 1.0
        # The dense part captured as CUDA graphs (reference/model/cuda_graphs.py), once capture_graphs ran.
        self._graphed: GraphedHead | None = None

    def forward(self, batch: Batch) -> torch.Tensor:
        sparse = self.sparse_arch(batch)  # [B, F, D]
        if self.sparse_grad_scale != 1.0 and sparse.requires_grad:  # see reference/model/parallel.py
            sparse.register_hook(lambda grad: grad * self.sparse_grad_scale)
        if self._graphed is not None and self._graphed.applies(batch.dense, sparse):
            return self._graphed(batch.dense, sparse)  # [B]
        dense = self.dense_arch(batch.dense)  # [B, D]
        return self.over_arch(self.interaction(dense, sparse)).squeeze(1)  # [B]

    def capture_graphs(self, batch_size: int, autocast_dtype: torch.dtype | None = None) -> None:
        """Replay the dense part of training steps of ``batch_size`` examples as CUDA graphs from now on
        (one process on CUDA; see reference/model/cuda_graphs.py). ``autocast_dtype``: the dtype of the
        autocast the training steps run under (None: no autocast)."""
        device = next(self.dense_arch.parameters()).device
        if self.sparse_grad_scale != 1.0:
            raise ValueError("CUDA graphs are for one process: the multi-process gradient hook is not captured")
        head = DenseHead(self.dense_arch, self.interaction, self.over_arch)
        self._graphed = capture(head, batch_size, self.dense_arch[0].in_features, self.sparse_arch.num_features,
                                self.sparse_arch.dim, device, autocast_dtype)

    def dense_parameters(self) -> list[nn.Parameter]:
        """Parameters of the bottom MLP, interaction and top MLP (the dense optimizer's)."""
        return [p for name, p in self.named_parameters() if not name.startswith("sparse_arch.")]

    def param_counts(self) -> dict[str, int]:
        """Parameters per component (recscale/accounting.py's keys), counted on the built modules."""
        counts = {
            component: sum(p.numel() for p in getattr(self, attribute).parameters())
            for component, attribute in COMPONENTS.items()
        }
        return {**counts, "total": sum(counts.values())}


def _sparse_arch(spec: WorkloadSpec, backend: Backend, device: torch.device, shardable: bool = False) -> SparseArch:
    rows = spec.model.embedding.rows(spec.data.feature_cardinalities)
    dim = spec.model.embedding.dim
    if backend == "torch":
        return TorchSparseArch(rows, dim, spec.training.optimizer.sparse, device)
    if backend == "torchrec":
        from reference.model.embeddings_torchrec import TorchRecSparseArch  # torchrec only on this path

        return TorchRecSparseArch(rows, dim, spec.training.optimizer.sparse, device, shardable=shardable)
    raise ValueError(f"unknown embedding backend {backend!r}; known: {', '.join(BACKENDS)}")


def _dense_parts(spec: WorkloadSpec) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(dense_arch, interaction, over_arch) on the CPU, not yet initialised."""
    model = spec.model
    num_sparse, dim = spec.data.num_sparse, model.embedding.dim
    dense_arch = mlp(spec.data.num_dense, model.bottom_mlp, relu_after_last=True)
    module = interaction_module(model.interaction.kind)
    interaction = interaction_class(model.interaction.kind)(model.interaction, num_sparse, dim)
    over_arch = mlp(module.output_dim(model.interaction, num_sparse, dim), model.top_mlp, relu_after_last=False)
    return dense_arch, interaction, over_arch


def _cuda_index(device: torch.device) -> list[int]:
    """The CUDA device whose RNG building on ``device`` may draw from (none off CUDA)."""
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


def build_model(spec: WorkloadSpec, backend: Backend, device: torch.device, seed: int) -> DLRM:
    """The DLRM of a resolved workload point, its weights a function of ``seed`` alone.

    ``device`` may be ``cpu``, ``cuda[:i]`` or ``meta`` (shapes only, nothing allocated or
    initialised: for parameter accounting). Both backends fuse
    ``spec.training.optimizer.sparse`` into their tables here; pass the same spec's optimizers to
    reference.model.optim.build_optimizer. For several processes see build_shardable_model.
    """
    device = torch.device(device)
    return _build(spec, backend, device, device, seed)


def build_shardable_model(spec: WorkloadSpec, device: torch.device, seed: int) -> DLRM:
    """The torchrec DLRM to wrap in ``torchrec.distributed.DistributedModelParallel``.

    As in torchrec's DLRM example: the dense parts are built on ``device`` from ``seed``; the
    tables are a torchrec EmbeddingBagCollection on the meta device with the sparse optimizer
    applied in backward, for DMP to shard, materialise and fuse (reference/model/embeddings_torchrec.py).
    """
    device = torch.device(device)
    return _build(spec, "torchrec", device, torch.device("meta"), seed, shardable=True)


def table_seed(seed: int) -> int:
    """The seed the tables are drawn from (reference/model/parallel.py redraws them after sharding)."""
    return _seeds(seed)[0]


def _seeds(seed: int) -> tuple[int, int]:
    """Independent seeds for the tables and for the dense parts (numpy's SeedSequence), so that the
    dense weights do not depend on whether this process initialises the tables (DMP does not)."""
    tables, dense = (int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(2))
    return tables, dense


def _build(
    spec: WorkloadSpec, backend: Backend, device: torch.device, table_device: torch.device, seed: int,
    shardable: bool = False,
) -> DLRM:
    """Dense parts on ``device``, tables on ``table_device``; whatever is not on meta is seeded."""
    if "cuda" in (device.type, table_device.type) and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    # Modules draw a default init from the global RNG while they are built; it is overwritten
    # below, and the caller's random stream must not depend on which model was built.
    with torch.random.fork_rng(devices=_cuda_index(device)):
        dense_arch, interaction, over_arch = _dense_parts(spec)  # on the CPU, where init draws
        sparse_arch = _sparse_arch(spec, backend, device, shardable)
    table_seed, dense_seed = _seeds(seed)
    if table_device.type != "meta":
        generator = torch.Generator().manual_seed(table_seed)
        for table in sparse_arch.tables():
            init_table(table, generator)
    if device.type != "meta":
        generator = torch.Generator().manual_seed(dense_seed)
        for part in (dense_arch, interaction, over_arch):
            init_dense(part, generator)
    # Only the dense parts move: the sparse arch was built in place (and fbgemm's tables must
    # not be re-wrapped by Module.to).
    dense_arch, interaction, over_arch = (part.to(device) for part in (dense_arch, interaction, over_arch))
    return DLRM(backend, sparse_arch, dense_arch, interaction, over_arch)
