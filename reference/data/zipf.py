"""Exact Zipf sampling by inversion for all features at once, on any device.

Feature f has ranks r = 0..n_f-1 with P(r) ∝ (r + 1)^-s, mapped to ids by a permutation. The rank of
a 53-bit uniform u is searchsorted(cdf_f, u, right), with cdf_f built once in float64 on the CPU.
Only comparisons of float64 numbers decide it, so every device gives the same rank. Ranks come as
positions in the features' concatenated rank space (rank_offsets[f] + rank): the teacher keeps its
parameters in that order, so the frequent ids' rows sit together in the caches.

Speed: u's bucket j = floor(u * 2^B_f) (2^B_f >= 16 n_f, at least 2^12 and at most 2^20 buckets)
is the top B_f bits of its high word. Most buckets lie inside one rank's cdf step and give its rank
in one lookup from the high word alone. The rest (the tail, where a bucket spans several ranks: 4%
of the draws for the Kaggle vocabularies capped at 100k, 16% for 1M ids) need the low word, computed
only for them, and a bisection between the ranks at the bucket's two ends, for all features
together in a fixed number of steps (no data-dependent loop, no device synchronisation but the one
that finds those draws). Memory: two int32 (or int64) per bucket, 8 MB for 2^20 buckets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from reference.data.counter_hash import uniform53

MIN_BUCKET_BITS, MAX_BUCKET_BITS, BUCKETS_PER_ID = 12, 20, 16


def zipf_cdf(exponent: float, n: int) -> np.ndarray:
    """[n] float64 cdf of P(rank r) ∝ (r + 1)^-exponent, its last value exactly 1."""
    cdf = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -exponent)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


def _guide(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(guide [2^B + 1]: the rank of u = j / 2^B, the first of bucket j; single [2^B + 1]: bucket j's
    only rank, -1 where it spans several, the last -1) for the B of len(cdf) ranks."""
    n = cdf.size
    bits = min(MAX_BUCKET_BITS, max(MIN_BUCKET_BITS, math.ceil(math.log2(BUCKETS_PER_ID * n))))
    edges = np.arange((1 << bits) + 1, dtype=np.float64) / (1 << bits)  # exact: a power of two
    guide = np.minimum(np.searchsorted(cdf, edges, side="right"), n - 1)
    # bucket j holds one rank when its start and its end (u = (j + 1) / 2^B) fall on the same one
    single = np.append(np.where(guide[1:] == guide[:-1], guide[:-1], -1), -1)
    return guide, single


@dataclass(frozen=True)
class ZipfTables:
    """Every feature's tables, concatenated, on one device."""

    cdf: torch.Tensor             # [sum n_f] float64, by rank position
    permutation: torch.Tensor     # [sum n_f] rank position -> id (int32, int64 beyond 2^31 ids)
    guide: torch.Tensor           # [sum (2^B_f + 1)] rank positions (int32, int64 beyond 2^31)
    single: torch.Tensor          # [sum (2^B_f + 1)] rank positions, -1 for a bucket that spans several
    shifts: tuple[int, ...]          # [F]: 32 - B_f
    bucket_offsets: tuple[int, ...]  # [F]: feature f's first bucket
    rank_offsets: tuple[int, ...]  # [F + 1]: feature f's ranks are positions rank_offsets[f] ... [f + 1] - 1
    steps: int                    # bisection steps that settle the widest bucket

    @classmethod
    def build(cls, exponent: float, permutations: list[np.ndarray]) -> ZipfTables:
        """On the CPU, from each feature's rank -> id permutation [n_f]."""
        cdfs = [zipf_cdf(exponent, perm.size) for perm in permutations]
        guides = [_guide(cdf) for cdf in cdfs]
        rank_offsets = np.cumsum([0] + [cdf.size for cdf in cdfs])
        widest = max(int(np.diff(guide).max(initial=0)) for guide, _ in guides)
        ids = np.int32 if max(cdf.size for cdf in cdfs) <= 2**31 else np.int64
        positions = np.int32 if rank_offsets[-1] <= 2**31 else np.int64
        starts = rank_offsets[:-1]
        guide = np.concatenate([guide + start for (guide, _), start in zip(guides, starts, strict=True)])
        single = np.concatenate([np.where(single < 0, -1, single + start)
                                 for (_, single), start in zip(guides, starts, strict=True)])
        return cls(
            cdf=torch.from_numpy(np.concatenate(cdfs)),
            permutation=torch.from_numpy(np.concatenate(permutations).astype(ids)),
            guide=torch.from_numpy(guide.astype(positions)), single=torch.from_numpy(single.astype(positions)),
            shifts=tuple(32 - int(math.log2(g.size - 1)) for g, _ in guides),
            bucket_offsets=tuple(int(o) for o in np.cumsum([0] + [g.size for g, _ in guides])[:-1]),
            rank_offsets=tuple(int(o) for o in rank_offsets), steps=max(1, math.ceil(math.log2(widest + 1))))

    def to(self, device: torch.device) -> ZipfTables:
        moved = {name: getattr(self, name).to(device) for name in ("cdf", "permutation", "guide", "single")}
        return ZipfTables(**moved, shifts=self.shifts, bucket_offsets=self.bucket_offsets,
                          rank_offsets=self.rank_offsets, steps=self.steps)

    def sample(self, hi: torch.Tensor, low_words: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Rank positions [F, n] (as guide's dtype) of the uniforms uniform53(hi, lo): hi [F, n] int64
        high words (contiguous); low_words(features [k], rows [k]) gives the low words of those draws only."""
        buckets = torch.empty_like(hi)
        ranks = torch.empty(hi.shape, dtype=self.single.dtype, device=hi.device)
        for f, (shift, offset) in enumerate(zip(self.shifts, self.bucket_offsets, strict=True)):
            # one feature at a time: a scalar shift is vectorised where a per-row one is not
            torch.bitwise_right_shift(hi[f], shift, out=buckets[f]).add_(offset)
            torch.index_select(self.single, 0, buckets[f], out=ranks[f])
        spans = torch.nonzero(ranks < 0)  # [k, 2]: (feature, row)
        if spans.numel():
            feature, row = spans[:, 0].contiguous(), spans[:, 1].contiguous()
            at = feature * hi.shape[1] + row
            u = uniform53(hi.view(-1).index_select(0, at), low_words(feature, row))
            bisected = self._bisect(u, buckets.view(-1).index_select(0, at)).to(ranks.dtype)
            ranks.view(-1).index_copy_(0, at, bisected)
        return ranks

    def _bisect(self, u: torch.Tensor, bucket: torch.Tensor) -> torch.Tensor:
        """Rank positions [k] int64 of uniforms u [k] in their buckets [k]: searchsorted(cdf_f, u, right)."""
        lo = self.guide.index_select(0, bucket).long()
        hi = self.guide.index_select(0, bucket + 1).long()
        for _ in range(self.steps):  # invariant: the rank sought is in [lo, hi]
            mid = (lo + hi) >> 1
            right = self.cdf.index_select(0, mid) <= u
            lo = torch.where(right, mid + 1, lo)
            hi = torch.where(right, hi, mid)
        return lo

    def ranks_of(self, u: torch.Tensor, feature: int) -> torch.Tensor:
        """Rank positions [N] of float64 uniforms u [N] in [0, 1) of one feature, by the definition
        (searchsorted over its cdf): what sample must give, for the tests."""
        start, stop = self.rank_offsets[feature], self.rank_offsets[feature + 1]
        return torch.searchsorted(self.cdf[start:stop], u, right=True) + start
