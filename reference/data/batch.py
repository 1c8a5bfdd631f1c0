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
    one_hot:        whether every (feature, example) has exactly one id, as the loader knows it from
                    the data set's layout; None: not stated, read from the lengths when asked (a host
                    sync on an accelerator, so the loaders always state it)
    """

    dense: torch.Tensor
    sparse_values: torch.Tensor
    sparse_lengths: torch.Tensor
    labels: torch.Tensor
    one_hot: bool | None = None

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
            sparse_lengths=torch.ones((features, batch), dtype=torch.int32, device=ids.device),
            labels=labels,
            one_hot=True,
        )

    def is_one_hot(self) -> bool:
        """Exactly one id per (feature, example): the loader's statement (``one_hot``) when it made one,
        else every length is checked (comparing totals alone would let a multi-hot batch whose
        lengths happen to add up to F x B pass)."""
        if self.one_hot is not None:
            return self.one_hot
        return self.sparse_values.numel() == self.sparse_lengths.numel() and bool(
            torch.all(self.sparse_lengths == 1))

    def one_hot_ids(self) -> torch.Tensor:
        """ids [num_sparse, B] of one-hot data (the fast path of the embedding lookups)."""
        return self.sparse_values.view(self.num_sparse, self.size)

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in
                       (self.dense, self.sparse_values, self.sparse_lengths, self.labels)), one_hot=self.one_hot)

    def pin_memory(self) -> Batch:
        """The batch in page-locked host memory, so that a non_blocking copy to a GPU is asynchronous."""
        return Batch(*(t.pin_memory() for t in (self.dense, self.sparse_values, self.sparse_lengths, self.labels)),
                     one_hot=self.one_hot)


class WideIds:
    """Batches from ids stored side by side per example: [B, sum k_f], feature f's k_f ids in its
    columns (the shards' layout; one column per feature when one-hot), already taken modulo their
    cardinality. The loaders that gather stored rows on a device (staged.py, dali.py) assemble their
    batches here, so that they give the host loader's layout exactly without a host sync."""

    def __init__(self, hots: tuple[int, ...], device: torch.device) -> None:
        self.hots = hots
        self.one_hot = all(k == 1 for k in hots)
        # [F, 1] ids per bag of each feature, made once: a tensor built per batch would be a blocking copy
        self.column = torch.tensor(hots, dtype=torch.int32, device=device).unsqueeze(1)
        self._lengths: dict[int, torch.Tensor] = {}  # per batch size (a pass has two): read, never written

    def batch(self, dense: torch.Tensor, wide: torch.Tensor, labels: torch.Tensor) -> Batch:
        """dense [B, D] float32, wide [B, sum k_f] integer ids, labels [B] float32 -> Batch."""
        size, features = wide.shape[0], len(self.hots)
        if self.one_hot:  # [B, F] -> feature-major [F, B] int64 in one copy
            values = torch.empty((features, size), dtype=torch.int64, device=wide.device)
            values.copy_(wide.t())
            flat = values.view(-1)
        else:  # each feature's [B, k_f] block, example by example, features one after another
            flat = torch.cat([part.reshape(-1) for part in wide.to(torch.int64).split(list(self.hots), dim=1)])
        if (lengths := self._lengths.get(size)) is None:
            lengths = self._lengths[size] = self.column.expand(features, size).contiguous()
        return Batch(dense=dense, sparse_values=flat, sparse_lengths=lengths, labels=labels.reshape(-1),
                     one_hot=self.one_hot)
