"""Criteo logs: the 200 real Kaggle rows convert, malformed lines are reported or counted, 1TB days, gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from recscale.cardinalities import CRITEO_KAGGLE_FEATURES_WITH_MISSING
from recscale.errors import InputError
from reference.data import criteo
from reference.data.convert import NpyWriter, convert, kaggle_parts
from reference.data.criteo import count_lines, parse_chunk, parse_log
from reference.data.loader import Dataset

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "criteo_kaggle_sample" / "train.txt"
LINES = SAMPLE.read_text().splitlines()


def reference_parse(lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """labels, dense (missing 0), hashes (missing -1), one line at a time with Python's int()."""
    fields = [line.split("\t") for line in lines]
    labels = np.array([int(f[0]) for f in fields])
    dense = np.array([[int(x or 0) for x in f[1:14]] for f in fields])
    hashes = np.array([[int(x, 16) if x else -1 for x in f[14:]] for f in fields])
    return labels, dense, hashes


def test_the_real_rows_parse_exactly() -> None:
    labels, dense, hashes = reference_parse(LINES)
    chunks = list(parse_log(SAMPLE, skip_bad=False, chunk_bytes=4096))  # many chunks, lines cut at their edges
    assert len(chunks) > 5
    np.testing.assert_array_equal(np.concatenate([c.line for c in chunks]), np.arange(1, 201))
    np.testing.assert_array_equal(np.concatenate([c.labels for c in chunks]), labels)
    np.testing.assert_array_equal(np.concatenate([c.dense for c in chunks]), dense)
    np.testing.assert_array_equal(np.concatenate([c.hashes for c in chunks]), hashes)
    assert labels.sum() == 49 and (dense < 0).any() and (hashes < 0).any() and count_lines(SAMPLE) == 200


def dlrm_ids(lines: list[str]) -> np.ndarray:
    """Ids by facebookresearch/dlrm's Kaggle preprocessing (data_utils.py): an empty field is read as the
    hash 0, so "missing" is one more value of the features that have it; here each feature's values
    are numbered in sorted order (DLRM numbers them in order of appearance: the same tables, rows permuted)."""
    columns = np.array([[int(x or "0", 16) for x in line.split("\t")[14:]] for line in lines]).T
    return np.stack([np.searchsorted(np.unique(c), c) for c in columns], axis=1)


def test_the_real_rows_convert_with_dlrms_split_and_ids(tmp_path: Path) -> None:
    manifest = convert("criteo_kaggle", [SAMPLE], tmp_path / "out", log=False)
    # 200 lines = 7 days of 29, 29, 29, 29, 28, 28, 28; days 1-6 train, the first half of day 7 eval
    assert manifest.train.rows == 172 and manifest.eval.rows == 14 and len(manifest.train.shards) == 6
    dataset = Dataset.open(tmp_path / "out")
    labels, dense, hashes = reference_parse(LINES)
    batch = next(dataset.eval_batches(14))
    np.testing.assert_allclose(batch.dense.numpy(), np.log1p(np.maximum(dense[172:186], 0)), rtol=1e-6)
    np.testing.assert_array_equal(batch.labels.numpy(), labels[172:186])
    expected = dlrm_ids(LINES)
    np.testing.assert_array_equal(batch.one_hot_ids().numpy().T, expected[172:186])
    # a table per feature of DLRM's size: the distinct values, counting missing where it occurs
    assert manifest.cardinalities == [len(set(column)) for column in expected.T]
    assert manifest.cardinalities[8] == np.unique(hashes[:, 8]).size == 2  # C9: never missing, no row for it
    assert sum(b.size for b in dataset.train_batches(50, 172, seed=0)) == 172


def test_features_missing_in_the_sample_are_those_documented_for_the_full_file() -> None:
    """The 12 features the cited sources give as having missing values in the full train.txt (the
    derivation of the named Kaggle cardinalities) are exactly the ones with empty fields in the real rows."""
    _, _, hashes = reference_parse(LINES)
    missing = {f"C{f + 1}" for f in np.flatnonzero((hashes < 0).any(axis=0))}
    assert missing == set(CRITEO_KAGGLE_FEATURES_WITH_MISSING)


def test_hashing_and_caps(tmp_path: Path) -> None:
    hashed = convert("criteo_kaggle", [SAMPLE], tmp_path / "h", ids="hash", cap=1000, eval_share=0.1, log=False)
    assert hashed.cardinalities == [1000] * 26 and (hashed.train.rows, hashed.eval.rows) == (180, 20)
    _, _, hashes = reference_parse(LINES)
    ids = np.load(tmp_path / "h/train/day_0_sparse.npy")
    np.testing.assert_array_equal(ids, np.where(hashes[:180] < 0, 0, 1 + hashes[:180] % 999))
    capped = convert("criteo_kaggle", [SAMPLE], tmp_path / "c", cap=20, log=False)
    folded = np.load(tmp_path / "c/train/day_0_sparse.npy")
    assert max(capped.cardinalities) == 20 and folded.max() < 20
    has_missing = (hashes < 0).any(axis=0)  # there, id 0 stays "missing" alone through the folding
    np.testing.assert_array_equal((folded == 0)[:, has_missing], (hashes[:29] < 0)[:, has_missing])


def mangle(line: str, column: int, value: str) -> str:
    fields = line.split("\t")
    fields[column] = value
    return "\t".join(fields)


@pytest.mark.parametrize(("column", "value", "message"), [
    (None, None, "39 columns, expected 40"),
    (0, "2", "label '2' is not 0 or 1"),
    (3, "12a", "I3 '12a' is not an integer"),
    (5, "99999999999", "I5 '99999999999' is not an integer"),
    (14, "05db916", "C1 '05db916' is not 8 hex digits"),
    (20, "0g000000", "C7 '0g000000' is not 8 hex digits"),
])
def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path, column: int | None, value: str | None,
                                                         message: str) -> None:
    bad = LINES[6].rsplit("\t", 1)[0] if column is None else mangle(LINES[6], column, value)  # type: ignore[arg-type]
    path = tmp_path / "train.txt"
    path.write_text("\n".join([*LINES[:6], bad, *LINES[7:]]) + "\n")
    with pytest.raises(InputError) as err:
        convert("criteo_kaggle", [path], tmp_path / "out", log=False)
    assert f"{path}:7: {message}" in str(err.value)
    manifest = convert("criteo_kaggle", [path], tmp_path / "skip", skip_bad=True, log=False)
    assert manifest.conversion.skipped_lines == 1 and manifest.train.rows == 171  # type: ignore[union-attr]
    assert manifest.conversion.skipped_examples[0].startswith(f"{path}:7: {message}")  # type: ignore[union-attr]


def test_parser_edge_cases() -> None:
    good = LINES[0]
    text = f"{good}\r\n\n{good}\n-{good}\n{mangle(good, 2, '-')}\n{mangle(good, 2, '-7')}\n"
    parsed = parse_chunk(text.encode(), first_line=10)
    np.testing.assert_array_equal(parsed.line, [10, 12, 15])  # CRLF accepted; empty line, "-0", "-" rejected
    assert [line for line, _ in parsed.bad] == [11, 13, 14]
    assert parsed.dense[2, 1] == -7
    assert "1 columns" in parsed.bad[0][1] and parsed.bad[1][1] == "label '-0' is not 0 or 1"


def test_criteo_1tb_days_plain_and_gzip(tmp_path: Path) -> None:
    day0, day1 = tmp_path / "day_0", tmp_path / "day_1.gz"
    day0.write_text("\n".join(LINES[:120]) + "\n")
    with gzip.open(day1, "wt") as handle:
        handle.write("\n".join(LINES[120:]))  # no final newline
    manifest = convert("criteo_1tb", [day0, day1], tmp_path / "out", ids="hash", cap=2**20, log=False)
    assert manifest.train.rows == 120 and manifest.eval.rows == 40  # MLPerf: the first half of the last day
    assert [s.name for s in manifest.eval.shards] == ["day_1"]
    labels, _, _ = reference_parse(LINES)
    np.testing.assert_array_equal(np.load(tmp_path / "out/eval/day_1_labels.npy")[:, 0], labels[120:160])
    with pytest.raises(InputError, match="at least two day files"):
        convert("criteo_1tb", [day0], tmp_path / "one", ids="hash", cap=100, log=False)


def test_kaggle_split_matches_dlrm_on_the_full_file() -> None:
    parts = kaggle_parts(Path("train.txt"), 45_840_617, None)
    train = sum(p.stop - p.first for p in parts if p.split == "train")
    assert train == 39_291_958 and parts[-1].stop - parts[-1].first == 3_274_330  # workloads/dlrm-criteo-kaggle


def test_npy_writer_round_trips(tmp_path: Path) -> None:
    writer = NpyWriter(tmp_path / "x.npy", np.int32, 3)
    parts = [np.arange(6).reshape(2, 3), np.arange(30).reshape(10, 3)]
    for part in parts:
        writer.append(part)
    writer.close()
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.concatenate(parts))


def test_cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kaggle"
    assert main(["data", "convert", "criteo-kaggle", str(SAMPLE), "--out", str(out)]) == 0
    # every line accounted for: 6 days of train, the first half of day 7 eval, its second half unused
    assert f"{out}: 200 lines: 172 train, 14 eval, 14 unused (the second half of day 7" in capsys.readouterr().out
    assert main(["data", "verify", str(out)]) == 0
    assert main(["data", "convert", "criteo-kaggle", str(SAMPLE), "--out", str(out)]) == 2  # not empty
    assert main(["data", "convert", "criteo-kaggle", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.tmp-*"))  # nothing half-written left


def test_parallel_parsing_gives_the_same_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(criteo, "CHUNK_BYTES", 4096)  # 200 lines -> a dozen chunks over forked workers
    one = convert("criteo_kaggle", [SAMPLE], tmp_path / "one", log=False, workers=1)
    two = convert("criteo_kaggle", [SAMPLE], tmp_path / "two", log=False, workers=2)
    assert [f.sha256 for f in one.array_files()] == [f.sha256 for f in two.array_files()]
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join([*LINES[:150], mangle(LINES[150], 20, "xyz"), *LINES[151:]]) + "\n")
    with pytest.raises(InputError, match=r"bad\.txt:151: C7 'xyz' is not 8 hex digits"):
        convert("criteo_kaggle", [bad], tmp_path / "bad", log=False, workers=2)
