"""The planted-teacher generator: exact Zipf sampling, determinism across chunkings, the Bayes NE."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from recscale.io import sha256_file
from recscale.spec import DataSpec
from reference.data import generate
from reference.data.generate import bayes_metrics, generate_synthetic
from reference.data.loader import Dataset
from reference.data.synthetic import (
    _TEACHER_KEY,
    B_DENSE,
    B_LIN,
    B_PAIR,
    BLOCK_ROWS,
    SyntheticConfig,
    Teacher,
    ZipfSampler,
    build_teacher,
    keyed_philox,
)

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


@pytest.mark.parametrize("n", [1, 3, 17, 1000, 70_000])
def test_zipf_sampler_is_exact_inversion(n: int) -> None:
    permutation = np.random.default_rng(n).permutation(n).astype(np.int32)
    sampler = ZipfSampler.build(1.1, permutation)
    u = np.random.default_rng(0).random(200_000)
    u[:3] = [0.0, np.nextafter(1.0, 0.0), sampler.cdf[0] if n > 1 else 0.5]  # 0, the largest double < 1, a cdf step
    expected = permutation[np.searchsorted(sampler.cdf, u, side="right")]
    np.testing.assert_array_equal(sampler.sample(u), expected)


def test_zipf_frequencies_follow_the_power_law() -> None:
    n, exponent = 1000, 1.1
    sampler = ZipfSampler.build(exponent, np.arange(n, dtype=np.int32))
    counts = np.bincount(sampler.sample(np.random.default_rng(1).random(400_000)), minlength=n)
    expected = np.arange(1, n + 1) ** -exponent / np.sum(np.arange(1, n + 1) ** -exponent)
    top = counts[:20] / counts.sum()
    np.testing.assert_allclose(top, expected[:20], rtol=0.08)


def test_teacher_parameters_depend_only_on_seed_feature_and_id() -> None:
    base = SyntheticConfig(seed=5, ctr=0.3, zipf_exponent=1.1, teacher_rank=4, teacher_scale=1.0,
                           cardinalities=(10, 50, 20))
    other = SyntheticConfig(seed=5, ctr=0.3, zipf_exponent=1.1, teacher_rank=4, teacher_scale=1.0,
                            cardinalities=(99, 50, 40))
    raw = [keyed_philox(5, _TEACHER_KEY, f).standard_normal((c, 5), dtype=np.float32)
           for f, c in enumerate(other.cardinalities)]
    t_base, t_other = Teacher(base).table, Teacher(other).table
    # feature 1 keeps its rows when other features change; feature 2's first 20 ids keep theirs
    np.testing.assert_array_equal(t_base[10:60], t_other[99:149])
    np.testing.assert_array_equal(t_base[60:80], t_other[149:169])
    ratio = t_other[149:169, 1:] / raw[2][:20, 1:]  # the vectors are the keyed Philox draws, scaled
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-5)


def test_generation_is_independent_of_chunking_and_workers(tmp_path: Path, generated: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "BLOCKS_PER_TASK", 1)
    spec = data_spec(train=2 * BLOCK_ROWS + 123, eval_=6_000)
    generate_synthetic(spec, tmp_path / "a", workers=2)  # forked workers, one block per task
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
    """The teacher's probabilities from its definition, one example at a time (no embedding bag)."""
    config = SyntheticConfig.from_data_spec(spec)
    teacher = build_teacher(config)
    features, rank = len(CARDS), config.teacher_rank
    params = [keyed_philox(config.seed, _TEACHER_KEY, f).standard_normal((c, 1 + rank), dtype=np.float32)
              .astype(np.float64) for f, c in enumerate(CARDS)]
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
    np.testing.assert_allclose(stored[:300], _direct_probs(data_spec(), dense, sparse), rtol=2e-4, atol=1e-6)
    labels = np.load(generated / "eval/day_0_labels.npy")
    bayes = dataset.bayes()
    assert bayes == pytest.approx(bayes_metrics(stored, labels))
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
    from reference.metrics import evaluate_logits

    return evaluate_logits(z, y)["ne"]


def test_more_data_helps_and_stays_above_bayes(generated: Path) -> None:
    dataset = Dataset.open(generated)
    ne_small, ne_full = _train_logistic(dataset, 5_000), _train_logistic(dataset, 20_000)
    bayes = dataset.bayes()["ne"]  # type: ignore[index]
    print(f"eval NE: 5k rows {ne_small:.4f}, 20k rows {ne_full:.4f}, Bayes {bayes:.4f}")
    assert bayes < ne_full < min(ne_small - 0.02, 1.0)
