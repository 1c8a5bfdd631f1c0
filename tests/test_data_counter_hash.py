"""The counter-based words: exact against a pure-Python definition, the same on every device, random-looking."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from reference.data.counter_hash import EPOCH_ROWS, StreamKey, triple32_, uniform32, uniform53, words

MASK = 0xFFFFFFFF


def triple32_reference(x: int) -> int:
    """Wellons's triple32 in unsigned 32-bit arithmetic, as published (hash-prospector)."""
    x ^= x >> 17
    x = (x * 0xED5AD4BB) & MASK
    x ^= x >> 11
    x = (x * 0xAC4C1B51) & MASK
    x ^= x >> 15
    x = (x * 0x31848BAB) & MASK
    return x ^ (x >> 14)


def word_reference(key: StreamKey, row: int, draw: int) -> int:
    """word(r, d) = T(T(r ^ k_row) ^ T(d ^ k_draw)), as the module's docstring defines it."""
    return triple32_reference(triple32_reference(row ^ key.k_row) ^ triple32_reference(draw ^ key.k_draw))


def uniform53_reference(hi: int, lo: int) -> float:
    return ((hi >> 5) * 2**26 + (lo >> 6)) / 2**53


EDGES = [0, 1, 2, 0x7FFFFFFF, 0x80000000, MASK - 1, MASK]


def test_triple32_matches_the_published_definition() -> None:
    rng = random.Random(0)
    xs = EDGES + [rng.getrandbits(32) for _ in range(20_000)]
    assert triple32_(torch.tensor(xs)).tolist() == [triple32_reference(x) for x in xs]
    assert triple32_reference(0) == 0 and triple32_reference(1) != 1  # a bijection fixing 0, as published


def test_words_match_the_reference_for_random_rows_draws_and_keys() -> None:
    rng = random.Random(1)
    for _ in range(5):
        key = StreamKey(rng.getrandbits(32), rng.getrandbits(32))
        rows = EDGES + [rng.getrandbits(32) for _ in range(300)]
        draws = [0, 1, 0x10000, 0x40001, rng.getrandbits(32)]
        got = words(key.draw_keys(draws)[:, None], key.row_states(torch.tensor(rows)))
        assert got.tolist() == [[word_reference(key, r, d) for r in rows] for d in draws]
        # elementwise too (the Zipf low words are computed for scattered (draw, row) pairs)
        pairs = [(rng.choice(draws), rng.choice(rows)) for _ in range(200)]
        flat = words(key.draw_keys([d for d, _ in pairs]), key.row_states(torch.tensor([r for _, r in pairs])))
        assert flat.tolist() == [word_reference(key, r, d) for d, r in pairs]


def test_uniforms_are_exact_conversions_in_the_unit_interval() -> None:
    rng = random.Random(2)
    his = [*EDGES, *EDGES, *(rng.getrandbits(32) for _ in range(1000))]
    los = [*EDGES, *EDGES[::-1], *(rng.getrandbits(32) for _ in range(1000))]
    got = uniform53(torch.tensor(his), torch.tensor(los)).tolist()
    assert got == [uniform53_reference(h, lo) for h, lo in zip(his, los, strict=True)]
    assert uniform32(torch.tensor(his)).tolist() == [h / 2**32 for h in his]
    assert max(got) == 1 - 2**-53 and min(got) == 0.0


def test_stream_keys_are_a_pure_function_of_the_entropy() -> None:
    assert StreamKey.derive(7, 0, 0) == StreamKey.derive(7, 0, 0)
    keys = {StreamKey.derive(seed, split, epoch) for seed in range(4) for split in range(3) for epoch in range(2)}
    assert len(keys) == 24
    assert all(0 <= k.k_row <= MASK and 0 <= k.k_draw <= MASK for k in keys)
    assert EPOCH_ROWS == 2**32  # rows of an epoch are < 2^32: one 32-bit word of row number


def test_words_look_independent_across_rows_and_draws() -> None:
    """Counts of every output bit and of the joint top bits of every pair of draws, over 2^17 rows
    of consecutive numbers: no bias a chi-square test at 1e-6 would see."""
    from scipy.stats import chi2

    key = StreamKey.derive(3, 0, 0)
    w = words(key.draw_keys(list(range(12)))[:, None], key.row_states(torch.arange(1 << 17))).numpy()
    n = w.shape[1]
    ones = np.stack([(w >> b) & 1 for b in range(32)]).sum(axis=2)  # [32, draws]
    assert np.abs(ones - n / 2).max() < 5.5 * np.sqrt(n / 4)
    top = w >> 28  # 16 cells per draw, 256 per pair
    for a in range(12):
        for b in range(a + 1, 12):
            counts = np.bincount(top[a] * 16 + top[b], minlength=256)
            statistic = ((counts - n / 256) ** 2 / (n / 256)).sum()
            assert statistic < chi2.isf(1e-6, 255), (a, b, statistic)
    # consecutive rows are as independent as any: the lag-1 correlation of a draw's uniforms
    u = w[0] / 2**32
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_words_are_the_cpu_words() -> None:
    key = StreamKey.derive(11, 1, 0)
    rows = torch.arange(EPOCH_ROWS - (1 << 20), EPOCH_ROWS)  # the largest row numbers of an epoch
    draws = list(range(41))
    cpu = words(key.draw_keys(draws)[:, None], key.row_states(rows))
    cuda = words(key.draw_keys(draws, "cuda")[:, None], key.row_states(rows.cuda()))
    assert torch.equal(cpu, cuda.cpu())
    assert torch.equal(uniform53(cpu[0], cpu[1]), uniform53(cuda[0], cuda[1]).cpu())
