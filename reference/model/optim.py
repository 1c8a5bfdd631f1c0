"""Optimizers of the DLRM: a dense one for the MLPs and interaction, a sparse one for the tables.

- dense (``training.optimizer.dense``): torch.optim SGD, Adagrad or Adam on every non-embedding
  parameter, with the spec's lr and eps;
- sparse (``training.optimizer.sparse``): SGD, Adagrad or row-wise Adagrad on the embedding rows
  a batch touched. On the ``torchrec`` backend fbgemm applies it inside backward (EXACT_SGD,
  EXACT_ADAGRAD, EXACT_ROWWISE_ADAGRAD); on the ``torch`` backend torch.optim SGD/Adagrad consume
  the tables' sparse gradients, and :class:`SparseRowWiseAdagrad` implements fbgemm's exact
  row-wise Adagrad for them. Both give the same update (tests/test_model_parity.py).
"""

from __future__ import annotations

from typing import Any

import torch

from recscale.spec import DenseOptimizerSpec, OptimizersSpec, SparseOptimizerSpec
from reference.model.dlrm import DLRM


class SparseRowWiseAdagrad(torch.optim.Optimizer):
    """Exact row-wise Adagrad over sparse (COO) gradients of embedding tables [rows, D].

    One accumulator per row, as fbgemm's EXACT_ROWWISE_ADAGRAD: for every row r the batch
    touched (duplicate ids summed first: "exact"), with g its gradient [D],
    ``sum[r] += mean(g^2)``, ``w[r] -= lr * g / (sqrt(sum[r]) + eps)``. Rows not touched are
    left alone (state included), unlike a dense optimizer seeing zero gradients.
    """

    def __init__(self, params: Any, lr: float, eps: float = 1e-8) -> None:
        if lr <= 0.0 or eps <= 0.0:
            raise ValueError(f"lr and eps must be positive, got lr={lr}, eps={eps}")
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        if closure is not None:
            raise ValueError("SparseRowWiseAdagrad does not take a closure")
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse or param.dim() != 2:
                    raise TypeError("SparseRowWiseAdagrad needs 2-D tables with sparse gradients")
                grad = param.grad.coalesce()  # one entry per touched row, duplicates summed
                rows, values = grad.indices()[0], grad.values()  # [U], [U, D]
                state = self.state[param]
                if "sum" not in state:
                    state["sum"] = torch.zeros(param.shape[0], dtype=param.dtype, device=param.device)
                accumulator = state["sum"]
                accumulator.index_add_(0, rows, values.square().mean(dim=1))
                scale = accumulator.index_select(0, rows).sqrt_().add_(group["eps"]).reciprocal_()
                param.index_add_(0, rows, values * scale.mul_(-group["lr"]).unsqueeze(1))


def dense_optimizer(params: list[torch.nn.Parameter], spec: DenseOptimizerSpec) -> torch.optim.Optimizer:
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps)
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=spec.lr, eps=spec.eps)
    raise ValueError(f"unknown dense optimizer {spec.name!r}")


def sparse_optimizer(params: list[torch.nn.Parameter], spec: SparseOptimizerSpec) -> torch.optim.Optimizer:
    """For the torch backend's sparse gradients."""
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps)
    if spec.name == "rowwise_adagrad":
        return SparseRowWiseAdagrad(params, lr=spec.lr, eps=spec.eps)
    raise ValueError(f"unknown sparse optimizer {spec.name!r}")


class DLRMOptimizer:
    """The dense and the sparse optimizer behind one ``zero_grad()`` / ``step()``.

    Call order per step: ``zero_grad()``, forward, ``loss.backward()`` (the torchrec backend
    updates the touched rows here), ``step()``.
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

    On the torchrec backend the sparse optimizer was fused into the tables by build_model (from
    the same workload's spec): its kind and eps must match ``spec.sparse``; its lr is set from it.
    For a model wrapped in DistributedModelParallel pass ``dmp.module`` (the DLRM, tables sharded).
    """
    dense = dense_optimizer(model.dense_parameters(), spec.dense)
    if model.backend == "torch":
        return DLRMOptimizer(dense, sparse_optimizer(model.sparse_arch.tables(), spec.sparse))
    fused_spec: SparseOptimizerSpec = model.sparse_arch.optimizer_spec
    if (fused_spec.name, fused_spec.eps) != (spec.sparse.name, spec.sparse.eps):
        raise ValueError(
            f"the torchrec tables were built with sparse optimizer {fused_spec.name} (eps {fused_spec.eps}) "
            f"but {spec.sparse.name} (eps {spec.sparse.eps}) was asked for: build the model from the same spec"
        )
    fused = model.sparse_arch.fused_optimizer()
    for group in fused.param_groups:
        group["lr"] = spec.sparse.lr
    fused.step()  # pushes the lr into fbgemm (a fused optimizer's step only syncs the lr)
    return DLRMOptimizer(dense, fused)
