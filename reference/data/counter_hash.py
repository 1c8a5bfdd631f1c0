"""Counter-based random words: each is a pure function of (key, row, draw), the same on every device.

The generator needs random numbers that do not depend on how rows are chunked, which device makes
them or in which order. Word d of row r (r < 2^32) of a stream with keys (k_row, k_draw) is

    word(r, d) = T(T(r ^ k_row) ^ T(d ^ k_draw))

with T = triple32 (Wellons, hash-prospector: three xorshift-multiply rounds, avalanche bias 0.0209,
the level of a random permutation), a bijection of 32-bit words. So for one draw, distinct rows
give distinct words; the row's state T(r ^ k_row) is computed once per row, and each word costs one
T. A split longer than 2^32 rows continues with the keys of its next epoch (StreamKey.derive takes
the epoch): rows r and r + 2^32 share nothing.

Exactness: words are unsigned 32-bit values held in int64 tensors. The only operations are xor,
right shifts of non-negative numbers, `& 0xFFFFFFFF` and products of a word (< 2^32) by a
multiplier m with |m| < 2^31 (a multiplier above 2^31 is used as m - 2^32, the same modulo 2^32),
so every product lies strictly inside (-2^63, 2^63): no overflow, no rounding, and `& 0xFFFFFFFF`
of a two's-complement int64 (which C++20 and CUDA define) is the product modulo 2^32. CPU and CUDA
(any device with int64) compute the same bits; tests/test_data_counter_hash.py pins them against a
pure-Python definition with unsigned 32-bit arithmetic.

Uniforms: float64 u = (w_hi >> 5) * 2^-27 + (w_lo >> 6) * 2^-53 (53 random bits, as numpy's
random()), or u = w * 2^-32 where 32 bits are enough; exact conversions, u in [0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MASK32 = 0xFFFFFFFF
EPOCH_ROWS = 1 << 32
# triple32 (mod 2^32): x ^= x >> 17; x *= 0xed5ad4bb; x ^= x >> 11; x *= 0xac4c1b51; x ^= x >> 15;
# x *= 0x31848bab; x ^= x >> 14: a first xorshift, then three (multiply, xorshift) steps.
FIRST_SHIFT = 17
MULTIPLY_XORSHIFT = ((0xED5AD4BB, 11), (0xAC4C1B51, 15), (0x31848BAB, 14))
_TWO_POW_M32 = 2.0**-32
_TWO_POW_M53 = 2.0**-53


def _signed(multiplier: int) -> int:
    """The multiplier in (-2^31, 2^31) with the same value modulo 2^32: a word times it stays inside int64."""
    return multiplier - (1 << 32) if multiplier >= 1 << 31 else multiplier


_STEPS = tuple((_signed(multiplier), shift) for multiplier, shift in MULTIPLY_XORSHIFT)


def triple32_(x: torch.Tensor) -> torch.Tensor:
    """triple32 of every word of x (int64, values in [0, 2^32)), in place; returns x."""
    return _multiply_xorshift_steps_(_xorshift_(x, FIRST_SHIFT))


def _xorshift_(x: torch.Tensor, shift: int, scratch: torch.Tensor | None = None) -> torch.Tensor:
    """x ^= x >> shift, in place."""
    scratch = torch.bitwise_right_shift(x, shift, out=scratch if scratch is not None else torch.empty_like(x))
    return x.bitwise_xor_(scratch)


def _multiply_xorshift_steps_(x: torch.Tensor) -> torch.Tensor:
    """triple32 after its first xorshift, in place."""
    scratch = torch.empty_like(x)
    for multiplier, shift in _STEPS:
        _xorshift_(x.mul_(multiplier).bitwise_and_(MASK32), shift, scratch)
    return x


@dataclass(frozen=True)
class StreamKey:
    """The two 32-bit keys of one stream of rows (one epoch of 2^32 rows of a split of a seed)."""

    k_row: int
    k_draw: int

    @classmethod
    def derive(cls, *entropy: int) -> StreamKey:
        """Keys from non-negative integers (seed, split, epoch, ...) through numpy's SeedSequence."""
        k_row, k_draw = np.random.SeedSequence(list(entropy)).generate_state(2, np.uint32)
        return cls(int(k_row), int(k_draw))

    def draw_keys(self, draws: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
        """T(d ^ k_draw) [len(draws)] int64 of draw numbers d in [0, 2^32)."""
        return triple32_(torch.tensor(draws, dtype=torch.int64, device=device) ^ self.k_draw)

    def row_states(self, rows: torch.Tensor) -> torch.Tensor:
        """T(r ^ k_row) [n] int64 of row numbers rows [n] int64 in [0, 2^32)."""
        return triple32_(rows ^ self.k_row)


def words(draw_keys: torch.Tensor, states: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """T(draw key ^ row state), broadcast together: e.g. draw_keys [W, 1] and states [n] -> [W, n]
    (into `out` if given). The first xorshift of T is linear, so it is applied to the keys and the
    states before they are combined: the same words, two operations fewer per word."""
    keys, rows = _xorshift_(draw_keys.clone(), FIRST_SHIFT), _xorshift_(states.clone(), FIRST_SHIFT)
    return _multiply_xorshift_steps_(torch.bitwise_xor(keys, rows, out=out))


def uniform53(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """float64 uniforms in [0, 1) with 53 random bits from two words (any equal shapes)."""
    return (((hi >> 5) << 26) | (lo >> 6)).to(torch.float64) * _TWO_POW_M53


def uniform32(word: torch.Tensor) -> torch.Tensor:
    """float64 uniforms in [0, 1) with 32 random bits from one word."""
    return word.to(torch.float64) * _TWO_POW_M32
