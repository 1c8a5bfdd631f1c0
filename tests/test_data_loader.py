"""The loader: nested fractions, seeded order, per-rank slices, batch layout, integrity checks, caching."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import CARDS, write_dataset

from harness.cli import main
from recscale.errors import InputError
from recscale.load import load_workload
from recscale.resources import load_schema
from recscale.spec import DataSpec
from reference.data import generate
from reference.data.loader import SHUFFLE_BLOCK, BlockOrder, Dataset, open_dataset
from reference.data.manifest import record_verified


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    write_dataset(tmp_path, [1000, 37, 2000], eval_rows=301)
    return Dataset.open(tmp_path)


def visited(dataset: Dataset, batch_size: int, rows: int, seed: int, rank: int = 0, world: int = 1) -> list[np.ndarray]:
    return [torch.expm1(b.dense[:, 0]).round().long().numpy() for b in
            dataset.train_batches(batch_size, rows, seed, rank, world)]


@pytest.mark.parametrize("rows", [1, 31, 32, 33, 1000, 1037, 3037])
def test_block_order_is_a_permutation(rows: int) -> None:
    order = BlockOrder(rows, seed=4)
    np.testing.assert_array_equal(np.sort(order.rows(np.arange(rows))), np.arange(rows))


def test_a_pass_visits_each_row_of_the_fraction_once(dataset: Dataset) -> None:
    for rows in (500, 1037, 3037):
        batches = visited(dataset, 256, rows, seed=1)
        assert len(batches) == dataset.train_batches_total(256, rows) == -(-rows // 256)
        assert [b.size for b in batches[:-1]] == [256] * (len(batches) - 1)  # the partial last batch is kept
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(rows))


def test_fractions_are_nested_and_eval_is_disjoint(dataset: Dataset) -> None:
    quarter = set(np.concatenate(visited(dataset, 100, 759, seed=1)))
    half = set(np.concatenate(visited(dataset, 100, 1518, seed=2)))
    assert quarter < half  # a prefix of one fixed order, whatever the seed
    eval_rows = np.concatenate([torch.expm1(b.dense[:, 0]).numpy() for b in dataset.eval_batches(64)])
    assert eval_rows.size == 0 or not set(eval_rows.round().astype(int)) & half


def test_seed_fixes_the_order(dataset: Dataset) -> None:
    first, again, other = (np.concatenate(visited(dataset, 128, 3037, seed=s)) for s in (5, 5, 6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.sort(first))  # shuffled at all


@pytest.mark.parametrize("world", [2, 3, 4])
def test_ranks_split_every_global_batch(dataset: Dataset, world: int) -> None:
    whole = visited(dataset, 100, 1037, seed=3)
    parts = [visited(dataset, 100, 1037, seed=3, rank=r, world=world) for r in range(world)]
    assert all(len(p) == len(whole) for p in parts)
    for step, batch in enumerate(whole):
        joined = np.concatenate([p[step] for p in parts])
        np.testing.assert_array_equal(np.sort(joined), np.sort(batch))
        sizes = [p[step].size for p in parts]
        assert max(sizes) - min(sizes) <= 1


def test_batch_layout(dataset: Dataset) -> None:
    batch = next(dataset.eval_batches(5, rank=1, world_size=2))  # rows 3, 4 of the eval set
    assert batch.size == 2 and batch.dense.dtype == torch.float32 and batch.dense.shape == (2, 13)
    numbers = np.array([1_000_003, 1_000_004])
    np.testing.assert_allclose(batch.dense[:, 0].numpy(), np.log1p(numbers), rtol=1e-6)  # log(1 + max(x, 0))
    assert (batch.dense[:, 1] == 0).all() and (batch.dense[:, 2:] == 0).all()
    expected = np.concatenate([numbers % c for c in CARDS])  # feature-major, as a KeyedJaggedTensor
    np.testing.assert_array_equal(batch.sparse_values.numpy(), expected)
    assert batch.sparse_values.dtype == torch.int64 and batch.is_one_hot()
    assert batch.sparse_lengths.dtype == torch.int32 and batch.sparse_lengths.shape == (3, 2)
    np.testing.assert_array_equal(batch.labels.numpy(), (numbers % 2).astype(np.float32))
    assert sum(b.size for b in dataset.eval_batches(64)) == 301


def test_tampering_is_caught(tmp_path: Path) -> None:
    write_dataset(tmp_path, [100], eval_rows=10)
    Dataset.open(tmp_path)  # records the verified checksums
    path = tmp_path / "train/day_0_sparse.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256") as err:
        Dataset.open(tmp_path)
    assert "train/day_0_sparse.npy" in str(err.value)
    assert main(["data", "verify", str(tmp_path)]) == 2


def test_shape_disagreement_is_caught(tmp_path: Path) -> None:
    write_dataset(tmp_path, [100], eval_rows=10)
    np.save(tmp_path / "eval/day_9_labels.npy", np.zeros((11, 1), np.int32))
    with pytest.raises(InputError, match=r"size|holds"):
        Dataset.open(tmp_path, checksums="none")


def test_verified_checksums_are_not_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = write_dataset(tmp_path, [100], eval_rows=10)
    record_verified(tmp_path, manifest.array_files())
    from reference.data import manifest as manifest_module

    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: pytest.fail(f"hashed {path}"))
    Dataset.open(tmp_path)
    assert main(["data", "info", str(tmp_path)]) == 0


def _smoke_spec(**data: object) -> object:
    spec = load_workload(Path(__file__).resolve().parent.parent / "workloads/smoke.yaml")
    fields = {**spec.data.model_dump(), "train_samples": 3000, "eval_samples": 1000, **data}
    return spec.model_copy(update={"data": DataSpec.model_validate(fields)})


def test_open_dataset_generates_once_and_shares_across_fractions(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_dataset(_smoke_spec(fraction=0.5), tmp_path)
    calls = []
    monkeypatch.setattr(generate, "generate_synthetic", lambda *a, **k: calls.append(a))
    second = open_dataset(_smoke_spec(fraction=1.0), tmp_path)
    assert first.root == second.root and not calls
    assert first.train_rows == 3000 and first.eval_rows == 1000 and first.bayes() is not None
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [first.root.name]


def test_a_failed_generation_leaves_nothing_that_looks_complete(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".synthetic-0123456789ab.tmp-old").mkdir()  # left by a killed run

    def crash(data: object, out: Path, workers: object = None) -> None:
        (out / "train").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "generate_synthetic", crash)
    monkeypatch.setattr(generate, "data_spec_key", lambda data: ("0123456789ab", {}))
    with pytest.raises(KeyboardInterrupt):
        open_dataset(_smoke_spec(), tmp_path)
    assert sorted(os.listdir(tmp_path)) == [".synthetic-0123456789ab.lock"]


def test_open_dataset_checks_the_workload_against_the_data(tmp_path: Path) -> None:
    write_dataset(tmp_path / "real", [100], eval_rows=10)
    spec = _smoke_spec(source="npy", path=str(tmp_path / "real"), synthetic=None, train_samples=50, eval_samples=10,
                       cardinalities=CARDS, cardinality_cap=None)
    dataset = open_dataset(spec, tmp_path)
    assert dataset.train_rows == 50 and dataset.bayes() is None and dataset.cardinalities == tuple(CARDS)
    with pytest.raises(InputError, match="wants 500 rows"):
        open_dataset(spec.model_copy(update={"data": spec.data.model_copy(update={"train_samples": 500})}), tmp_path)
    with pytest.raises(InputError, match="no converted data set"):
        open_dataset(spec.model_copy(update={"data": spec.data.model_copy(update={"path": str(tmp_path)})}), tmp_path)


def test_shuffle_block_keeps_gathers_local() -> None:
    order = BlockOrder(10 * SHUFFLE_BLOCK, seed=0).rows(np.arange(SHUFFLE_BLOCK))
    assert np.all(np.diff(order) == 1)  # the first block of the pass is one run of consecutive rows


def test_cli_generate_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    document = yaml.safe_load((Path(__file__).resolve().parent.parent / "workloads/smoke.yaml").read_text())
    document["data"].update(train_samples=2000, eval_samples=500)
    document["training"].update(batch_size=256)  # the smallest point (half of 2,000 rows) holds a whole batch
    workload = tmp_path / "tiny.yaml"
    workload.write_text(yaml.safe_dump(document))
    out = tmp_path / "data"
    assert main(["data", "generate", str(workload), "--out", str(out), "--workers", "1"]) == 0
    assert "2,000 train + 500 eval rows; Bayes-optimal eval NE" in capsys.readouterr().out
    assert main(["data", "generate", str(workload), "--out", str(out)]) == 0  # already there: kept
    assert main(["data", "verify", str(out)]) == 0 and main(["data", "info", str(out)]) == 0
    assert "bayes (eval)  ne" in capsys.readouterr().out
    (tmp_path / "other").mkdir()
    (tmp_path / "other/notes.txt").write_text("mine")
    assert main(["data", "generate", str(workload), "--out", str(tmp_path / "other")]) == 2
    assert (tmp_path / "other/notes.txt").read_text() == "mine"
    assert main(["data", "generate", "dlrm-criteo-kaggle", "--out", str(tmp_path / "real")]) == 2


def test_manifest_matches_the_committed_schema(tmp_path: Path) -> None:
    import json

    import jsonschema


    write_dataset(tmp_path, [10], eval_rows=4)
    document = json.loads((tmp_path / "manifest.json").read_text())
    jsonschema.validate(document, load_schema("dataset"))
    document["train"]["shards"][0]["dense"]["sha256"] = "not-a-checksum"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, load_schema("dataset"))
    (tmp_path / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match="invalid manifest"):
        Dataset.open(tmp_path)
