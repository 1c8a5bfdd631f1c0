"""Small workloads and batches for the model tests (tests/test_model*.py, test_flops.py)."""

from __future__ import annotations

import copy
from typing import Any

import torch

from recscale.spec import WorkloadSpec
from reference.data.batch import Batch
from reference.model.dlrm import BACKENDS

CPU = torch.device("cpu")
CARDINALITIES = [7, 30, 3, 50]
BASE: dict[str, Any] = {
    "id": "tiny",
    "version": 1,
    "data": {
        "source": "synthetic", "train_samples": 1000, "eval_samples": 100, "num_dense": 3,
        "cardinalities": CARDINALITIES, "synthetic": {},
    },
    "model": {"embedding": {"dim": 4, "hash_size": 20}, "bottom_mlp": [8, 4], "interaction": {"kind": "dot"},
              "top_mlp": [6, 1]},
    "training": {"batch_size": 16, "optimizer": {"dense": {"name": "adagrad", "lr": 0.1},
                                                 "sparse": {"name": "rowwise_adagrad", "lr": 0.1}}},
    "quality": {"metric": "ne", "target": 0.9},
}
INTERACTIONS = [{"kind": "dot"}, {"kind": "dcn", "layers": 2, "low_rank": 3},
                {"kind": "wukong", "layers": 2, "fmb_features": 2, "lcb_features": 2, "fmb_rank": 2, "fmb_mlp": [8]}]


def tiny_spec(**model: Any) -> WorkloadSpec:
    document = copy.deepcopy(BASE)
    document["model"].update(model)
    return WorkloadSpec.model_validate(document)


def one_hot_batch(spec: WorkloadSpec, size: int = 8, seed: int = 0, scale: int = 1) -> Batch:
    """Ids up to ``scale`` x the cardinality (raw ids beyond the table's rows are legal)."""
    gen = torch.Generator().manual_seed(seed)
    cards = torch.tensor(spec.data.feature_cardinalities)
    ids = (torch.rand(size, len(cards), generator=gen) * cards * scale).long()
    return Batch.from_one_hot(torch.rand(size, spec.data.num_dense, generator=gen), ids,
                              (torch.rand(size, generator=gen) < 0.5).float())


def multi_hot_batch(spec: WorkloadSpec, size: int = 6, seed: int = 0) -> Batch:
    """0 to 3 ids per (feature, example), duplicates included."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(0, 4, (spec.data.num_sparse, size), generator=gen, dtype=torch.int32)
    values = [torch.randint(0, card, (int(n),), generator=gen)
              for card, n in zip(spec.data.feature_cardinalities, lengths.sum(1), strict=True)]
    return Batch(torch.rand(size, spec.data.num_dense, generator=gen), torch.cat(values), lengths,
                 (torch.rand(size, generator=gen) < 0.5).float())


def backends() -> list[str]:
    try:
        import torchrec  # noqa: F401
    except ImportError:
        return ["torch"]
    return list(BACKENDS)
