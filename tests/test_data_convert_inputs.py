"""`recscale data convert` on bad input (issue 14's campaign findings): clear errors naming file and
line, never a traceback, never a silent pass; and the summary that accounts for every line."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from recscale.errors import InputError
from reference.data import criteo
from reference.data.convert import convert

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "criteo_kaggle_sample" / "train.txt"
LINES = SAMPLE.read_text().splitlines()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def cut_in(line: str, column: int, text: str, at: int) -> str:
    """The line with `text` inserted at character `at` of field `column`."""
    fields = line.split("\t")
    fields[column] = fields[column][:at] + text + fields[column][at:]
    return "\t".join(fields)


def cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["data", "convert", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


@pytest.mark.parametrize("ids", ["vocabulary", "hash"])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_gzip_names_the_file_and_the_line_reached(tmp_path: Path, ids: str, damage: str) -> None:
    data = gzip.compress(SAMPLE.read_bytes(), mtime=0)
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    else:  # bytes overwritten mid-stream: a bad deflate block
        data = data[:len(data) // 2] + bytes(64) + data[len(data) // 2 + 64:]
    path = tmp_path / "train.txt.gz"
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        convert("criteo_kaggle", [path], tmp_path / "out", ids=ids, cap=1000, log=False)  # type: ignore[arg-type]
    (problem,) = err.value.problems
    line = int(problem.file.rsplit(":", 1)[1])
    assert problem.file == f"{path}:{line}" and 1 < line <= 200, problem
    if damage == "truncated":  # the oracle: the line after the last one zlib can decompress whole
        assert line == zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data).count(b"\n") + 1
    assert f"cannot read on from line {line}: the gzip data is truncated or corrupt" in problem.message
    assert "nothing was written" in problem.message and not (tmp_path / "out").exists()


def test_a_lone_carriage_return_is_a_malformed_field_not_deleted(tmp_path: Path) -> None:
    nine = cut_in(LINES[6], 14, "\r", 4)  # C1 "05db\r9164": 9 characters, 8 of them hex
    path = write(tmp_path / "cr.txt", [*LINES[:6], nine, *LINES[7:]])
    with pytest.raises(InputError, match=rf"{path}:7: C1 '05db\\r9164' is not 8 hex digits"):
        convert("criteo_kaggle", [path], tmp_path / "out", log=False)
    skipped = convert("criteo_kaggle", [path], tmp_path / "skip", skip_bad=True, log=False)
    assert skipped.conversion.skipped_lines == 1 and skipped.train.rows == 171  # type: ignore[union-attr]
    dense = write(tmp_path / "dense.txt", [*LINES[:9], cut_in(LINES[9], 2, "\r", 0), *LINES[10:]])
    with pytest.raises(InputError, match=rf"{dense}:10: I2 '\\r\d+' is not an integer"):
        convert("criteo_kaggle", [dense], tmp_path / "dense", log=False)
    old_mac = tmp_path / "mac.txt"  # CR-only line ends: one long line
    old_mac.write_text("\r".join(LINES[:20]) + "\r")
    with pytest.raises(InputError, match=rf"{old_mac}:1: 781 columns, .* holds a carriage return"):
        convert("criteo_kaggle", [old_mac], tmp_path / "mac", log=False)
    crlf = tmp_path / "crlf.txt"  # CRLF line ends stay valid, also on the last line without its LF
    crlf.write_bytes("\r\n".join(LINES).encode() + b"\r")
    assert convert("criteo_kaggle", [crlf], tmp_path / "crlf", log=False).train.rows == 172


def test_a_line_without_end_is_refused_before_it_fills_memory(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(criteo, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(criteo, "CHUNK_BYTES", 4096)
    path = tmp_path / "blob.txt"
    path.write_bytes(b"\n".join(line.encode() for line in LINES[:30]) + b"\n" + b"7" * 50_000)
    with pytest.raises(InputError, match=rf"{path}:31: no line end \(LF\) within 10,000 bytes"):
        convert("criteo_kaggle", [path], tmp_path / "out", log=False)


@pytest.mark.parametrize("share", ["nan", "-0.5", "0", "1", "1.5", "inf"])
def test_eval_share_must_be_a_number_between_0_and_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     share: str) -> None:
    code, err = cli_convert(tmp_path, capsys, "criteo-kaggle", str(SAMPLE), "--out", str(tmp_path / "o"),
                            "--eval-share", share)
    assert code == 2 and f"--eval-share: must be a number between 0 and 1 (the share of the lines that is eval), " \
        f"got {float(share)}" in err
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.tmp-*"))


def test_too_few_lines_names_the_file_given(tmp_path: Path) -> None:
    short = write(tmp_path / "day.tsv", LINES[:13])
    with pytest.raises(InputError, match=rf"{short}: 13 lines are too few for DLRM's 7-day split"):
        convert("criteo_kaggle", [short], tmp_path / "out", log=False)
    assert convert("criteo_kaggle", [write(tmp_path / "14.tsv", LINES[:14])], tmp_path / "ok", log=False).eval.rows == 1
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    empty_gz = tmp_path / "empty.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    for path in (empty, empty_gz):
        with pytest.raises(InputError, match=rf"{path}: holds no lines"):
            convert("criteo_kaggle", [path], tmp_path / f"out-{path.name}", log=False)


def test_the_summary_accounts_for_every_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # one malformed line in day 1 (skipped) and one in the unused second half of day 7 (unused, not skipped)
    lines = [*LINES[:3], "1\tbad", *LINES[4:195], "0\tbad too", *LINES[196:]]
    path = write(tmp_path / "train.txt", lines)
    manifest = convert("criteo_kaggle", [path], tmp_path / "api", skip_bad=True, log=False)
    conv = manifest.conversion
    assert conv is not None and conv.lines == 200 and conv.skipped_lines == 1
    assert (manifest.train.rows, manifest.eval.rows) == (171, 14)  # 200 = 171 + 14 + 14 unused + 1 skipped
    assert main(["data", "convert", "criteo-kaggle", str(path), "--out", str(tmp_path / "cli"),
                 "--skip-bad-lines"]) == 0
    assert (f"{tmp_path / 'cli'}: 200 lines: 171 train, 14 eval, 14 unused (the second half of day 7, DLRM's "
            "validation half), 1 malformed skipped;") in capsys.readouterr().out
    shared = convert("criteo_kaggle", [SAMPLE], tmp_path / "share", eval_share=0.25, log=False)
    assert (shared.train.rows, shared.eval.rows, shared.conversion.lines) == (150, 50, 200)  # type: ignore[union-attr]


def test_1tb_summary_names_the_unused_half_of_the_last_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day0, day1 = write(tmp_path / "day_0", LINES[:150]), write(tmp_path / "day_1", LINES[150:])
    assert main(["data", "convert", "criteo-1tb", str(day0), str(day1), "--out", str(tmp_path / "o"),
                 "--ids", "hash", "--cardinality-cap", "1000"]) == 0
    out = capsys.readouterr().out
    assert f"  {day0}: 150 lines: 150 train, 0 eval, 0 unused\n" in out
    assert f"  {day1}: 50 lines: 0 train, 25 eval, 25 unused (the second half of the last day" in out
    assert f"{tmp_path / 'o'}: 200 lines: 150 train, 25 eval, 25 unused" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers: must be from 1 to"),
    (["--workers", "1000000"], "--workers: must be from 1 to"),
    (["--cardinality-cap", "1"], "--cardinality-cap: must be from 2"),
    (["--cardinality-cap", str(2**40)], "--cardinality-cap: must be from 2"),
    (["--eval-day", "-1"], "--eval-day: must be a day number"),
    (["--multi-hot"], "--multi-hot: applies to torchrec-npy only, not criteo-kaggle"),
    (["--train-days", "0-5"], "--train-days: applies to torchrec-npy only, not criteo-kaggle"),
])
def test_option_values_convert_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    code, err = cli_convert(tmp_path, capsys, "criteo-kaggle", str(SAMPLE), "--out", str(tmp_path / "o"), *args)
    assert code == 2 and message in err


def test_options_of_other_formats_and_bad_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = cli_convert(tmp_path, capsys, "criteo-1tb", str(SAMPLE), str(SAMPLE), "--out", str(tmp_path / "o"),
                            "--eval-share", "0.1")
    assert code == 2 and "--eval-share: applies to criteo-kaggle only, not criteo-1tb" in err
    code, err = cli_convert(tmp_path, capsys, "torchrec-npy", str(tmp_path), "--out", str(tmp_path / "o"),
                            "--train-days", "5-2")
    assert code == 2 and "--train-days: '5-2': expected a range" in err
    code, err = cli_convert(tmp_path, capsys, "criteo-kaggle", str(SAMPLE), "--out", str(SAMPLE / "under"))
    assert code == 2 and f"{SAMPLE / 'under'}: cannot create the folder: {SAMPLE} is a file" in err
    code, err = cli_convert(tmp_path, capsys, "criteo-kaggle", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2 and f"{tmp_path}: is a folder, not a log file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written anywhere


def test_malformed_lines_anywhere_are_each_reported(tmp_path: Path) -> None:
    """Non-hex hashes, over-long fields and stray separators are errors on their own line, wherever they are."""
    bad = {17: cut_in(LINES[17], 30, "x", 0), 88: cut_in(LINES[88], 5, "9" * 5000, 0),
           140: cut_in(LINES[140], 20, "\t", 3), 199: LINES[199] + "\t"}
    path = write(tmp_path / "train.txt", [bad.get(i, line) for i, line in enumerate(LINES)])
    with pytest.raises(InputError) as err:
        convert("criteo_kaggle", [path], tmp_path / "out", log=False)
    reported = [p.file for p in err.value.problems if p.file.count(":") == 1 and p.file != str(path)]
    assert reported == [f"{path}:{i + 1}" for i in sorted(bad)]
    skipped = convert("criteo_kaggle", [path], tmp_path / "skip", skip_bad=True, log=False)
    conv = skipped.conversion
    assert conv is not None and conv.skipped_lines == 3  # line 200 is in the unused half of day 7
    ids = np.load(tmp_path / "skip/train/day_0_sparse.npy")
    assert ids.shape == (28, 26)  # day 1 lost line 18
