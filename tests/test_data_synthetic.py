"""The planted-teacher generator: exact Zipf sampling, distributions, determinism across chunkings and
devices, the Bayes NE."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from recscale.io import sha256_file
from recscale.spec import DataSpec
from reference.data import generate
from reference.data import synthetic as synthetic_module
from reference.data.counter_hash import EPOCH_ROWS
from reference.data.dense_profile import DENSE_PROFILE
from reference.data.generate import bayes_metrics, generate_synthetic
from reference.data.loader import Dataset
from reference.data.synthetic import (
    _TEACHER_KEY,
    B_DENSE,
    B_LIN,
    B_PAIR,
    EVAL_STREAM,
    NORMAL_CLIP,
    TRAIN_STREAM,
    SyntheticConfig,
    build_teacher,
    keyed_philox,
    teacher_table,
)
from reference.metrics import evaluate_logits, evaluate_probs

CARDS = [3, 40, 500, 500, 7, 1000]


def data_spec(train: int = 20_000, eval_: int = 6_000, **synthetic: object) -> DataSpec:
    knobs = {"seed": 3, "ctr": 0.256, "zipf_exponent": 1.1, "teacher_rank": 4, **synthetic}
    return DataSpec.model_validate({"source": "synthetic", "train_samples": train, "eval_samples": eval_,
                                    "cardinalities": CARDS, "synthetic": knobs})


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generate_synthetic(data_spec(), out, workers=1)
    return out


@pytest.fixture(scope="module")
def teacher() -> synthetic_module.Teacher:
    return build_teacher(SyntheticConfig.from_data_spec(data_spec()))


def test_teacher_parameters_depend_only_on_seed_feature_and_id() -> None:
    base = SyntheticConfig(seed=5, ctr=0.3, zipf_exponent=1.1, teacher_rank=4, teacher_scale=1.0,
                           cardinalities=(10, 50, 20))
    other = SyntheticConfig(seed=5, ctr=0.3, zipf_exponent=1.1, teacher_rank=4, teacher_scale=1.0,
                            cardinalities=(99, 50, 40))
    raw = [keyed_philox(5, _TEACHER_KEY, f).standard_normal((c, 5), dtype=np.float32).astype(np.float64)
           for f, c in enumerate(other.cardinalities)]
    t_base, t_other = teacher_table(base), teacher_table(other)
    # feature 1 keeps its rows when other features change; feature 2's first 20 ids keep theirs
    np.testing.assert_array_equal(t_base[10:60], t_other[99:149])
    np.testing.assert_array_equal(t_base[60:80], t_other[149:169])
    # the vectors are the keyed Philox draws, scaled, on a grid of about 2e-6
    k_pair = (4 * 3 * 2 / 2) ** -0.5
    np.testing.assert_allclose(t_other[149:169, 1:], raw[2][:20, 1:] * math.sqrt(B_PAIR * k_pair * 0.5), atol=2e-6)


def test_teacher_table_sums_are_exact_in_any_order() -> None:
    """The grid makes float32 bag sums and float64 sums of squares exact: any order, the same bits."""
    config = SyntheticConfig.from_data_spec(data_spec(teacher_scale=2.0))
    table = teacher_table(config)
    rng = np.random.default_rng(0)
    starts = np.cumsum([0, *CARDS[:-1]])
    lookups = starts + rng.integers(0, CARDS, size=(20_000, len(CARDS)))
    forward = np.zeros((20_000, table.shape[1]), np.float32)
    for f in range(len(CARDS)):
        forward += table[lookups[:, f]]
    backward = np.zeros_like(forward)
    for f in reversed(range(len(CARDS))):
        backward += table[lookups[:, f]]
    exact = table[lookups].astype(np.float64).sum(1)
    np.testing.assert_array_equal(forward, backward)
    np.testing.assert_array_equal(forward.astype(np.float64), exact)
    squares = forward[:, 1:].astype(np.float64) ** 2
    np.testing.assert_array_equal(squares.sum(1), squares[:, ::-1].sum(1))


def test_zipf_sampling_is_exact_inversion(teacher: synthetic_module.Teacher) -> None:
    """The guide + lazy low words + bisection give searchsorted(cdf, u53, right) for every draw,
    including u exactly on and just below the cdf's steps."""
    zipf = teacher.zipf
    rng = np.random.default_rng(1)
    n = 50_000
    hi = torch.from_numpy(rng.integers(0, 2**32, size=(len(CARDS), n)))
    lo = torch.from_numpy(rng.integers(0, 2**32, size=(len(CARDS), n)))
    for f in range(len(CARDS)):  # place u on cdf steps (>= 1/2: multiples of 2^-53) and one step below
        cdf = zipf.cdf[zipf.rank_offsets[f]:zipf.rank_offsets[f + 1]]
        steps = cdf[(cdf >= 0.5) & (cdf < 1.0)]
        m = torch.cat([steps, steps - 2.0**-53]).mul(2.0**53).long()[: n // 2]
        hi[f, : m.numel()] = (m >> 26) << 5
        lo[f, : m.numel()] = (m & (2**26 - 1)) << 6
    asked: list[int] = []

    def low_words(feature: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
        asked.append(feature.numel())
        return lo[feature, row]

    ranks = zipf.sample(hi.contiguous(), low_words)
    from reference.data.counter_hash import uniform53

    for f in range(len(CARDS)):
        expected = zipf.ranks_of(uniform53(hi[f], lo[f]), f)
        assert torch.equal(ranks[f].long(), expected), f
    assert 0 < sum(asked) < 0.2 * hi.numel()  # low words only where a bucket spans several ranks


def test_zipf_frequencies_follow_the_power_law(teacher: synthetic_module.Teacher) -> None:
    rows = teacher.generate(TRAIN_STREAM, 0, 200_000)
    f, n = 5, CARDS[5]
    rank_of_id = np.argsort(teacher.permutations[f])
    counts = np.bincount(rank_of_id[rows.sparse[:, f].numpy()], minlength=n)
    pmf = np.arange(1, n + 1) ** -1.1 / np.sum(np.arange(1, n + 1) ** -1.1)
    np.testing.assert_allclose(counts[:20] / counts.sum(), pmf[:20], rtol=0.08)
    tail = counts[100:].sum() / counts.sum()
    assert tail == pytest.approx(pmf[100:].sum(), rel=0.03)


def test_rows_are_the_same_whatever_the_chunking(teacher: synthetic_module.Teacher,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    whole = teacher.generate(TRAIN_STREAM, 0, 6_000, missing=True)  # the default chunks
    monkeypatch.setitem(synthetic_module.CHUNK_ROWS, "cpu", 333)
    monkeypatch.setitem(synthetic_module.WORDS_PER_PASS, "cpu", 1000)
    parts = [teacher.generate(TRAIN_STREAM, start, stop - start, missing=True)
             for start, stop in [(0, 1), (1, 1234), (1234, 4999), (4999, 5000)]]
    monkeypatch.delitem(synthetic_module.WORDS_PER_PASS, "cpu")  # all draws hashed in one pass, as on a GPU
    parts.append(teacher.generate(TRAIN_STREAM, 5_000, 1_000, missing=True))
    for name in ("dense", "sparse", "labels", "missing"):
        joined = torch.cat([getattr(p, name) for p in parts])
        assert torch.equal(getattr(whole, name), joined), name
    # float64 exp/log may round differently in a vectorised loop and its scalar remainder: a few ulps
    torch.testing.assert_close(torch.cat([p.probs for p in parts]), whole.probs, rtol=4e-16, atol=0)
    evaluation = teacher.generate(EVAL_STREAM, 0, 6_000)
    assert not torch.equal(evaluation.sparse, whole.sparse)  # another stream


def test_rows_past_an_epoch_continue_with_new_keys(teacher: synthetic_module.Teacher) -> None:
    across = teacher.generate(TRAIN_STREAM, EPOCH_ROWS - 3, 6)
    after = teacher.generate(TRAIN_STREAM, EPOCH_ROWS, 3)
    first = teacher.generate(TRAIN_STREAM, 0, 3)
    assert torch.equal(across.sparse[3:], after.sparse) and torch.equal(across.dense[3:], after.dense)
    assert not torch.equal(after.sparse, first.sparse)  # row 2^32 is not row 0 again


def test_calibration_hits_the_target_ctr() -> None:
    teacher = build_teacher(SyntheticConfig.from_data_spec(data_spec(ctr=0.1, seed=9)))
    rows = teacher.generate(TRAIN_STREAM, 0, 100_000)
    assert rows.probs.mean().item() == pytest.approx(0.1, abs=0.004)
    assert rows.labels.double().mean().item() == pytest.approx(0.1, abs=4 * math.sqrt(0.09 / 100_000) + 0.004)


def test_dense_counts_follow_the_profile(teacher: synthetic_module.Teacher) -> None:
    rows = teacher.generate(TRAIN_STREAM, 0, 100_000, missing=True)
    dense, missing = rows.dense.numpy(), rows.missing.numpy()
    n = dense.shape[0]
    for j, (median, _scale, share, shift) in enumerate(DENSE_PROFILE):
        assert missing[:, j].mean() == pytest.approx(share, abs=5 * math.sqrt(share * (1 - share) / n) + 1e-4), j
        assert (dense[missing[:, j], j] == 0).all()
        present = dense[~missing[:, j], j]
        # the log-logistic's median is at v = 1/2: m = floor(median) - shift, so P(x < m) <= 1/2 <= P(x <= m)
        m, tolerance = math.floor(median) - shift, 5 / math.sqrt(4 * present.size)
        assert (present < m).mean() < 0.5 + tolerance and (present <= m).mean() > 0.5 - tolerance, j
    assert (dense[:, 1] < 0).any() and dense[:, 4].max() > 100 * np.median(dense[:, 4])  # I2 negative, heavy tail


def test_generation_is_independent_of_chunking_and_workers(tmp_path: Path, generated: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "TASK_ROWS", 10_000)
    spec = data_spec(train=40_123, eval_=6_000)
    generate_synthetic(spec, tmp_path / "a", workers=2)  # forked workers, several tasks
    generate_synthetic(spec, tmp_path / "b", workers=1)  # in-process
    for name in ("train/day_0_dense.npy", "train/day_0_sparse.npy", "train/day_0_labels.npy",
                 "eval/day_0_sparse.npy", "eval/teacher_probs.npy"):
        assert sha256_file(tmp_path / "a" / name) == sha256_file(tmp_path / "b" / name), name
    # a smaller training set is a prefix of a larger one; the eval set does not depend on it
    small = np.load(generated / "train/day_0_sparse.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "a/train/day_0_sparse.npy")[: small.shape[0]], small)
    assert sha256_file(generated / "eval/day_0_sparse.npy") == sha256_file(tmp_path / "a/eval/day_0_sparse.npy")


def test_rows_look_like_criteo(generated: Path) -> None:
    dense = np.load(generated / "train/day_0_dense.npy")
    sparse = np.load(generated / "train/day_0_sparse.npy")
    labels = np.load(generated / "train/day_0_labels.npy")
    assert labels.shape == (20_000, 1) and set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 0.256) < 0.015
    assert (sparse >= 0).all() and (sparse < np.array(CARDS)).all()
    counts = [np.bincount(sparse[:, f], minlength=c) for f, c in enumerate(CARDS)]
    assert any(np.argmax(c) != 0 for c in counts)  # ids are permuted: 0 is not always the head
    assert all(np.sort(c)[::-1][0] > 5 * np.median(c) for c in counts[2:4])  # heavy head
    assert (dense[:, 0] == 0).mean() > 0.4 and (dense[:, 1] < 0).any()  # missing I1, negative I2
    assert dense[:, 4].max() > 100 * np.median(dense[:, 4])  # heavy tail


def test_eval_rows_are_not_training_rows(generated: Path) -> None:
    def rows(split: str) -> set[bytes]:
        table = np.concatenate([np.load(generated / f"{split}/day_0_dense.npy"),
                                np.load(generated / f"{split}/day_0_sparse.npy")], axis=1)
        return {row.tobytes() for row in table}

    train, evaluation = rows("train"), rows("eval")
    assert len(evaluation) == 6_000 and not train & evaluation  # a separate stream, not a resample


def _direct_probs(spec: DataSpec, dense: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    """The teacher's probabilities from its definition (the module docstring), one example at a time,
    from the raw Philox parameters (no grid, no embedding bag, no rank order)."""
    config = SyntheticConfig.from_data_spec(spec)
    teacher = build_teacher(config)
    features, rank = len(CARDS), config.teacher_rank
    params = [np.clip(keyed_philox(config.seed, _TEACHER_KEY, f).standard_normal((c, 1 + rank), dtype=np.float32),
                      -NORMAL_CLIP, NORMAL_CLIP).astype(np.float64) for f, c in enumerate(CARDS)]
    k_pair = (rank * features * (features - 1) / 2) ** -0.5
    probs = []
    for x, ids in zip(dense, sparse, strict=True):
        lin = sum(params[f][i, 0] for f, i in enumerate(ids)) / math.sqrt(features)
        vecs = [params[f][i, 1:] for f, i in enumerate(ids)]
        pair = k_pair * sum(vecs[f] @ vecs[g] for f in range(features) for g in range(f + 1, features))
        z_dense = (np.log1p(np.maximum(x, 0)) - teacher.dense_mean) / teacher.dense_std @ teacher.dense_weights
        z = teacher.bias + config.teacher_scale * (B_LIN * lin + B_PAIR * pair + B_DENSE * z_dense)
        probs.append(1 / (1 + math.exp(-z)))
    return np.array(probs)


def test_bayes_metrics_match_a_direct_computation(generated: Path) -> None:
    dataset = Dataset.open(generated)
    stored = np.load(generated / "eval/teacher_probs.npy")
    dense = np.load(generated / "eval/day_0_dense.npy")[:300]
    sparse = np.load(generated / "eval/day_0_sparse.npy")[:300]
    # the grid moves the logit by at most 26 * 3e-5 / 2 (+ 2e-6 per vector entry): |dp| < 1e-4
    np.testing.assert_allclose(stored[:300], _direct_probs(data_spec(), dense, sparse), rtol=2e-4, atol=1e-6)
    labels = np.load(generated / "eval/day_0_labels.npy")
    bayes = dataset.bayes()
    assert bayes == pytest.approx(bayes_metrics(stored, labels))
    assert bayes == pytest.approx(evaluate_probs(torch.from_numpy(stored), torch.from_numpy(labels[:, 0]).double()))
    assert 0.4 < bayes["ne"] < 0.8 and bayes["calibration"] == pytest.approx(1.0, abs=0.05)


def _train_logistic(dataset: Dataset, rows: int) -> float:
    """Eval NE of per-id logistic regression (+ dense) trained for one pass on `rows` rows."""
    torch.manual_seed(0)
    weights = torch.nn.EmbeddingBag(sum(CARDS), 1, mode="sum")
    torch.nn.init.zeros_(weights.weight)
    dense_layer = torch.nn.Linear(13, 1)
    offsets = torch.tensor(np.r_[0, np.cumsum(CARDS)[:-1]])[:, None]
    params = [*weights.parameters(), *dense_layer.parameters()]
    optimizer = torch.optim.Adagrad(params, lr=0.03)

    def logits(batch: object) -> torch.Tensor:
        ids = batch.one_hot_ids() + offsets  # type: ignore[attr-defined]
        return weights(ids.t()).squeeze(1) + dense_layer(batch.dense).squeeze(1)  # type: ignore[attr-defined]

    for batch in dataset.train_batches(256, rows, seed=0):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits(batch), batch.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        batches = list(dataset.eval_batches(4096))
        z = torch.cat([logits(b) for b in batches])
        y = torch.cat([b.labels for b in batches])
    return evaluate_logits(z, y)["ne"]


def test_more_data_helps_and_stays_above_bayes(generated: Path) -> None:
    dataset = Dataset.open(generated)
    ne_small, ne_full = _train_logistic(dataset, 5_000), _train_logistic(dataset, 20_000)
    bayes = dataset.bayes()["ne"]  # type: ignore[index]
    print(f"eval NE: 5k rows {ne_small:.4f}, 20k rows {ne_full:.4f}, Bayes {bayes:.4f}")
    assert bayes < ne_full < min(ne_small - 0.02, 1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_generates_the_cpu_rows(teacher: synthetic_module.Teacher) -> None:
    """1M rows on both devices: ids, counts and labels identical (not one difference: a count or a
    label could only differ where float64 log/exp results agree to ~1e-13 but round to different
    sides of an integer or of u, about 1e-10 of the rows); probabilities within a few ulps."""
    start, count = 123_456_789, 1 << 20
    cpu = teacher.generate(TRAIN_STREAM, start, count, "cpu")
    cuda = teacher.generate(TRAIN_STREAM, start, count, "cuda")
    for name in ("sparse", "dense", "labels"):
        mismatches = int((getattr(cpu, name) != getattr(cuda, name).cpu()).sum())
        assert mismatches == 0, f"{name}: {mismatches} of {count} rows differ"
    torch.testing.assert_close(cuda.probs.cpu(), cpu.probs, rtol=1e-12, atol=0)
