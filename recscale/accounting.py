"""Parameter counts, training FLOPs and embedding bytes per example of a workload's DLRM, per
component (embedding, bottom_mlp, interaction, top_mlp) and in total.

Pure arithmetic on the spec: no torch, so the scorer can call it (the interaction modules keep
their nn.Module behind a lazy import). tests/test_flops.py checks the parameter counts against
``sum(p.numel())`` of the built model, the MLPerf DLRM-DCNv2 config (26B) included.

FLOP convention (per training example, forward + backward):

- a multiply-add of a matrix product counts 2 FLOPs; a bias add, a residual add or an
  element-wise product 1 FLOP per element; a LayerNorm 7 FLOPs per element (see
  reference/model/arithmetic.py); ReLU, concatenation, reshapes and gathers 0. The sigmoid, the loss
  and the optimizer updates are not counted (the usual "6 N D" convention);
- model FLOPs: what the architecture needs, not what a kernel happens to compute (the dot
  interaction counts its (F+1)F/2 distinct pairs, not the full Gram matrix bmm produces);
- dense components (bottom MLP, interaction, top MLP): backward = 2 x forward (the gradients
  with respect to the inputs and to the weights), so training = 3 x forward;
- embeddings: the forward sum-pooling counts one add per looked-up value (ids x D); the backward
  accumulates the pooled gradient into each looked-up row (ids x D). So training = 2 x ids x D.

ids per example = one per feature (one-hot) unless ``ids_per_feature`` says otherwise (the
Criteo 1TB multi-hot sizes of MLPerf: recscale.cardinalities.CRITEO_1TB_MULTI_HOT_SIZES).

Embedding bytes per example (fp32 tables, 4 bytes a value): the forward reads every looked-up
row (ids x D x 4); the update reads and writes every touched row (2 x ids x D x 4) and its
optimizer state (SGD: none; Adagrad: D values, 2 x ids x D x 4; row-wise Adagrad: one value,
2 x ids x 4). Rows are counted per id (duplicates within a batch are not merged: that depends on
the batch, not the example); index and gradient traffic is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from recscale.arithmetic import mlp_forward_flops, mlp_param_count
from recscale.interactions import interaction_module
from recscale.spec import WorkloadSpec

COMPONENTS = ("embedding", "bottom_mlp", "interaction", "top_mlp")
BYTES_PER_VALUE = 4  # fp32 tables and optimizer state
BACKWARD_PER_FORWARD = 2  # dense layers: input gradients + weight gradients
# Optimizer state values per table row, as multiples of (D, 1): Adagrad keeps D, row-wise one.
_STATE_VALUES_PER_ROW: dict[str, tuple[int, int]] = {"sgd": (0, 0), "adagrad": (1, 0), "rowwise_adagrad": (0, 1)}


def _ids(spec: WorkloadSpec, ids_per_feature: Sequence[int] | None) -> int:
    """Ids looked up per example, over all features."""
    if ids_per_feature is None:
        return spec.data.num_sparse
    if len(ids_per_feature) != spec.data.num_sparse or min(ids_per_feature) < 0:
        raise ValueError(
            f"ids_per_feature needs {spec.data.num_sparse} non-negative counts, got {list(ids_per_feature)}"
        )
    return sum(ids_per_feature)


def _interaction_in(spec: WorkloadSpec) -> tuple[object, int, int]:
    return spec.model.interaction, spec.data.num_sparse, spec.model.embedding.dim


def top_mlp_inputs(spec: WorkloadSpec) -> int:
    """Width of the interaction's output, the top MLP's input."""
    params, num_sparse, dim = _interaction_in(spec)
    return interaction_module(params.kind).output_dim(params, num_sparse, dim)


def param_counts(spec: WorkloadSpec) -> dict[str, int]:
    """Trainable parameters per component and in total."""
    model = spec.model
    params, num_sparse, dim = _interaction_in(spec)
    counts = {
        "embedding": sum(model.embedding.rows(spec.data.feature_cardinalities)) * dim,
        "bottom_mlp": mlp_param_count(spec.data.num_dense, model.bottom_mlp),
        "interaction": interaction_module(params.kind).param_count(params, num_sparse, dim),
        "top_mlp": mlp_param_count(top_mlp_inputs(spec), model.top_mlp),
    }
    return {**counts, "total": sum(counts.values())}


def forward_flops_per_example(spec: WorkloadSpec, ids_per_feature: Sequence[int] | None = None) -> dict[str, int]:
    """Forward FLOPs per example per component and in total (the convention above)."""
    model = spec.model
    params, num_sparse, dim = _interaction_in(spec)
    flops = {
        "embedding": _ids(spec, ids_per_feature) * dim,
        "bottom_mlp": mlp_forward_flops(spec.data.num_dense, model.bottom_mlp),
        "interaction": interaction_module(params.kind).forward_flops(params, num_sparse, dim),
        "top_mlp": mlp_forward_flops(top_mlp_inputs(spec), model.top_mlp),
    }
    return {**flops, "total": sum(flops.values())}


def train_flops_per_example(spec: WorkloadSpec, ids_per_feature: Sequence[int] | None = None) -> dict[str, int]:
    """Forward + backward FLOPs per training example per component and in total."""
    forward = forward_flops_per_example(spec, ids_per_feature)
    flops = {"embedding": 2 * forward["embedding"]}  # pooling adds + gradient accumulation
    for component in COMPONENTS[1:]:
        flops[component] = (1 + BACKWARD_PER_FORWARD) * forward[component]
    return {**flops, "total": sum(flops.values())}


def embedding_bytes_per_example(spec: WorkloadSpec, ids_per_feature: Sequence[int] | None = None) -> int:
    """Bytes of embedding tables and optimizer state read or written per training example."""
    ids, dim = _ids(spec, ids_per_feature), spec.model.embedding.dim
    per_dim, per_row = _STATE_VALUES_PER_ROW[spec.training.optimizer.sparse.name]
    values_per_id = dim + 2 * dim + 2 * (per_dim * dim + per_row)  # read; read+write row; read+write state
    return ids * values_per_id * BYTES_PER_VALUE
