"""Optimizers of the DLRM: a dense one for the MLPs and interaction, a sparse one for the tables.

- dense (``training.optimizer.dense``): torch.optim SGD, Adagrad or Adam on every non-embedding
  parameter, with the spec's lr and eps;
- sparse (``training.optimizer.sparse``): SGD, Adagrad or row-wise Adagrad on the embedding rows
  a batch touched, fused into the tables by build_model and applied inside backward: by fbgemm
  on the ``torchrec`` backend (EXACT_SGD, EXACT_ADAGRAD, EXACT_ROWWISE_ADAGRAD), by
  reference/model/tbe.py on the ``torch`` backend, with the same semantics
  (tests/test_model_parity.py). Its optimizer object only carries the lr and exposes the state.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import torch

from recscale.spec import DenseOptimizerSpec, OptimizersSpec, SparseOptimizerSpec
from reference.model.dlrm import DLRM
from reference.model.tbe import TableBatchedEmbeddingBags


class TableBatchedOptimizer(torch.optim.Optimizer):
    """The ``torch`` backend's sparse optimizer as torch.optim sees it (like torchrec's fused one).

    The update already ran inside backward (reference/model/tbe.py); ``step()`` only hands the
    param group's lr to the tables for the next backward (so lr schedulers work), and
    ``state_dict()`` / ``load_state_dict()`` expose the tables' optimizer state (``"sum"``:
    Adagrad's [rows, D] or row-wise Adagrad's [rows] per table; none for SGD).
    """

    def __init__(self, tables: TableBatchedEmbeddingBags, lr: float) -> None:
        super().__init__(tables.tables(), {"lr": lr})
        self.tables = tables
        self._expose_state()
        self.step()

    def _expose_state(self) -> None:
        """Point ``self.state`` at the tables' state (views: the optimizer holds no copy)."""
        for param, view in zip(self.tables.tables(), self.tables.state_views(), strict=True):
            if view is not None:
                self.state[param] = {"sum": view}

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        if closure is not None:
            raise ValueError("the fused sparse optimizer does not take a closure")
        lr = self.param_groups[0]["lr"]
        if lr != self.tables.update.lr:
            self.tables.update = dataclasses.replace(self.tables.update, lr=lr)

    def state_dict(self) -> dict[str, Any]:
        self._expose_state()  # the tables' state may have moved (Module.to)
        return super().state_dict()

    @torch.no_grad()
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)  # replaces self.state with the loaded tensors
        loaded = self.state
        self.state = defaultdict(dict)
        self._expose_state()
        for param, values in loaded.items():
            if "sum" in values:
                self.state[param]["sum"].copy_(values["sum"])
        self.step()


def dense_optimizer(params: list[torch.nn.Parameter], spec: DenseOptimizerSpec) -> torch.optim.Optimizer:
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps)
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=spec.lr, eps=spec.eps)
    raise ValueError(f"unknown dense optimizer {spec.name!r}")


class DLRMOptimizer:
    """The dense and the sparse optimizer behind one ``zero_grad()`` / ``step()``.

    Call order per step: ``zero_grad()``, forward, ``loss.backward()`` (the tables' touched rows
    are updated here), ``step()``.
    """

    def __init__(self, dense: torch.optim.Optimizer, sparse: torch.optim.Optimizer) -> None:
        self.dense = dense
        self.sparse = sparse

    def zero_grad(self) -> None:
        self.dense.zero_grad(set_to_none=True)
        self.sparse.zero_grad(set_to_none=True)

    def step(self) -> None:
        self.dense.step()
        self.sparse.step()

    def state_dict(self) -> dict[str, Any]:
        return {"dense": self.dense.state_dict(), "sparse": self.sparse.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dense.load_state_dict(state["dense"])
        self.sparse.load_state_dict(state["sparse"])


def build_optimizer(model: DLRM, spec: OptimizersSpec) -> DLRMOptimizer:
    """Dense optimizer over the MLPs and interaction; sparse optimizer over the tables.

    The sparse optimizer was fused into the tables by build_model (from the same workload's spec):
    its kind and eps must match ``spec.sparse``; its lr is set from it.
    For a model wrapped in DistributedModelParallel pass ``dmp.module`` (the DLRM, tables sharded).
    """
    dense = dense_optimizer(model.dense_parameters(), spec.dense)
    fused_spec: SparseOptimizerSpec = model.sparse_arch.optimizer_spec
    if (fused_spec.name, fused_spec.eps) != (spec.sparse.name, spec.sparse.eps):
        raise ValueError(
            f"the {model.backend} tables were built with sparse optimizer {fused_spec.name} (eps {fused_spec.eps}) "
            f"but {spec.sparse.name} (eps {spec.sparse.eps}) was asked for: build the model from the same spec"
        )
    if model.backend == "torch":
        return DLRMOptimizer(dense, TableBatchedOptimizer(model.sparse_arch.embedding_bag_collection, spec.sparse.lr))
    fused = model.sparse_arch.fused_optimizer()
    for group in fused.param_groups:
        group["lr"] = spec.sparse.lr
    fused.step()  # pushes the lr into fbgemm (a fused optimizer's step only syncs the lr)
    return DLRMOptimizer(dense, fused)
