"""The batch every loader yields and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Batch:
    """One mini-batch, sparse features in KeyedJaggedTensor layout (feature-major).

    dense:          [B, num_dense] float32, already transformed (log(1 + max(x, 0)) as DLRM does)
    sparse_values:  [N] int64, the raw ids (< the feature's cardinality) of feature 0 for every
                    example, then of feature 1, ...; the model maps ids onto its table rows
    sparse_lengths: [num_sparse, B] int32, ids per (feature, example): all ones for one-hot data
    labels:         [B] float32 in {0, 1}
    """

    dense: torch.Tensor
    sparse_values: torch.Tensor
    sparse_lengths: torch.Tensor
    labels: torch.Tensor

    @property
    def size(self) -> int:
        return self.labels.shape[0]

    @property
    def num_sparse(self) -> int:
        return self.sparse_lengths.shape[0]

    @classmethod
    def from_one_hot(cls, dense: torch.Tensor, ids: torch.Tensor, labels: torch.Tensor) -> Batch:
        """From ids [B, num_sparse] (one id per feature and example)."""
        batch, features = ids.shape
        return cls(
            dense=dense,
            sparse_values=ids.t().reshape(-1).to(torch.int64),
            sparse_lengths=torch.ones((features, batch), dtype=torch.int32),
            labels=labels,
        )

    def is_one_hot(self) -> bool:
        """Exactly one id per (feature, example): comparing totals alone would let a multi-hot batch
        whose lengths happen to add up to F x B pass."""
        return self.sparse_values.numel() == self.sparse_lengths.numel() and bool(
            torch.all(self.sparse_lengths == 1))

    def one_hot_ids(self) -> torch.Tensor:
        """ids [num_sparse, B] of one-hot data (the fast path of the embedding lookups)."""
        return self.sparse_values.view(self.num_sparse, self.size)

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in
                       (self.dense, self.sparse_values, self.sparse_lengths, self.labels)))
