"""The `data convert` part of issue 14's bad-input campaign, re-run: ~110 malformed Criteo inputs
(damaged gzip, wrong columns, CR/LF variants, bad labels, integers and hashes, huge fields, empty
files, bad options) and valid controls, each given to `recscale data convert` in its own subprocess
and folder.

    .venv/bin/python bench/bench_convert_inputs.py [--jobs 2] [--timeout 120] [--only NAME] [-v]

Each case is classified:
- traceback: a Python traceback on stderr, or an exit code other than 0 (converted) or 2 (bad input)
- wrong pass: exit 0 on input that must be refused, or a skipped-line count other than the expected
- wrong refusal: exit 2 on a valid input
- unclear: a refusal that does not name what it must (the file and line, or the option)
- hang: no exit within --timeout seconds
- stray writes: anything left in the case's folder but its inputs and, after a success, --out
Exit status 1 when any count but `ok` is not zero.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LINES = (REPO / "tests/fixtures/criteo_kaggle_sample/train.txt").read_bytes().split(b"\n")[:-1]
HASHED = ["--ids", "hash", "--cardinality-cap", "1000"]


@dataclass
class Case:
    name: str
    files: dict[str, bytes]       # inputs, written into the case's folder (the command runs there)
    args: list[str]               # after `recscale data convert`
    expect: str = "refuse"        # or "pass"
    says: tuple[str, ...] = ()    # what a refusal's message must contain
    skipped: int | None = None    # a pass: the malformed lines it must have skipped
    rows: tuple[int, int] | None = None  # a pass: (train, eval) rows


def text(lines: list[bytes], end: bytes = b"\n") -> bytes:
    return end.join(lines) + end


def replaced(index: int, column: int | None, value: bytes) -> bytes:
    """The sample with field `column` of line `index` (0-based) set to value (None: the whole line)."""
    lines = list(LINES)
    if column is None:
        lines[index] = value
    else:
        fields = lines[index].split(b"\t")
        fields[column] = value
        lines[index] = b"\t".join(fields)
    return text(lines)


def kaggle(name: str, data: bytes, says: tuple[str, ...] = (), expect: str = "refuse", extra: tuple[str, ...] = (),
           file: str = "train.txt", **kw: object) -> Case:
    return Case(name, {file: data}, ["criteo-kaggle", file, "--out", "out", *extra], expect, says, **kw)  # type: ignore[arg-type]


def bad_line(name: str, column: int | None, value: bytes, why: str) -> Case:
    """Line 7 of the sample made malformed: refused naming train.txt:7."""
    return kaggle(name, replaced(6, column, value), ("train.txt:7:", why))


def gzip_cases() -> list[Case]:
    whole = gzip.compress(text(LINES), mtime=0)
    mid = len(whole) // 2
    damaged = {
        "gz-truncated-10%": whole[: len(whole) // 10], "gz-truncated-50%": whole[:mid],
        "gz-truncated-90%": whole[: len(whole) * 9 // 10], "gz-trailer-cut": whole[:-1],
        "gz-header-only": whole[:10], "gz-zeroed-middle": whole[:mid] + bytes(64) + whole[mid + 64:],
        "gz-flipped-byte": whole[:mid] + bytes([whole[mid] ^ 0xFF]) + whole[mid + 1:],
        "gz-bad-crc": whole[:-8] + bytes(4) + whole[-4:], "gz-bad-length": whole[:-4] + b"\x01\x00\x00\x00",
        "gz-garbage-after": whole + b"garbage!", "gz-bad-method": b"\x1f\x8b\x07" + bytes(20),
    }
    cases = [kaggle(name, data, ("train.txt.gz", "truncated or corrupt"), file="train.txt.gz")
             for name, data in damaged.items()]
    cases += [kaggle(f"{name}-hash", damaged[name], ("train.txt.gz", "truncated or corrupt"), extra=tuple(HASHED),
                     file="train.txt.gz") for name in ("gz-truncated-50%", "gz-zeroed-middle")]
    cases.append(kaggle("gz-truncated-skip", damaged["gz-truncated-50%"], ("truncated or corrupt",),
                        extra=("--skip-bad-lines",), file="train.txt.gz"))
    cases.append(kaggle("gz-empty", gzip.compress(b"", mtime=0), ("train.txt.gz: holds no lines",),
                        file="train.txt.gz"))
    half = len(LINES) // 2
    members = gzip.compress(text(LINES[:half]), mtime=0) + gzip.compress(text(LINES[half:]), mtime=0)
    cases += [kaggle("gz-ok", whole, expect="pass", file="train.txt.gz", rows=(172, 14)),
              kaggle("gz-ok-two-members", members, expect="pass", file="train.txt.gz", rows=(172, 14)),
              kaggle("gz-ok-trailing-zeros", whole + bytes(16), expect="pass", file="train.txt.gz", rows=(172, 14))]
    return cases


def line_cases() -> list[Case]:
    """Columns, labels, integers and hashes, one malformed field on line 7."""
    fields = LINES[6].split(b"\t")
    cases = [
        bad_line("cols-39", None, b"\t".join(fields[:-1]), "39 columns, expected 40"),
        bad_line("cols-41", None, LINES[6] + b"\t0", "41 columns, expected 40"),
        bad_line("cols-1", None, b"garbage", "1 columns, expected 40"),
        bad_line("cols-empty-line", None, b"", "1 columns, expected 40"),
        bad_line("cols-leading-tab", None, b"\t" + LINES[6], "41 columns"),
        bad_line("cols-all-empty", None, b"\t" * 39, "label '' is not 0 or 1"),
        bad_line("cols-spaces", None, LINES[6].replace(b"\t", b" "), "1 columns, expected 40"),
        bad_line("cols-nul", 20, b"05db\x009164", "is not 8 hex digits"),
        kaggle("cols-csv", text([line.replace(b"\t", b",") for line in LINES]), ("train.txt:1:", "1 columns")),
        kaggle("cols-header", text([b"\t".join([b"label"] + [b"I%d" % i for i in range(1, 14)]
                                               + [b"C%d" % i for i in range(1, 27)]), *LINES]),
               ("train.txt:1:", "label 'label' is not 0 or 1")),
    ]
    for value in (b"2", b"-1", b"", b" 1", b"1.0", b"true"):
        cases.append(bad_line(f"label-{value.decode() or 'empty'}", 0, value, "is not 0 or 1"))
    for value in (b"12a", b"1e5", b"+5", b"-", b"--5", b"99999999999", b"2147483648", b"-2147483649", b"1.5", b" 7",
                  b"0x10"):
        cases.append(bad_line(f"int-{value.decode()}", 3, value, "I3"))
    for value in (b"05db916", b"05db91640", b"0g000000", b"ZZZZZZZZ", b" 05db916", b"05db916 ", b"-5db9164",
                  b"0x5db916", "05db91\u00e9".encode()):
        cases.append(bad_line(f"hash-{value.decode()!r}", 20, value, "C7"))
    cases.append(kaggle("hash-uppercase-ok", replaced(6, 20, b"05DB9164"), expect="pass", rows=(172, 14)))
    return cases


def crlf_cases() -> list[Case]:
    crlf = text(LINES, b"\r\n")
    mixed = b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(LINES))
    return [
        bad_line("cr-in-hash", 20, b"05db\r9164", "C7 '05db\\r9164' is not 8 hex digits"),
        bad_line("cr-in-int", 3, b"1\r2", "I3 '1\\r2' is not an integer"),
        bad_line("cr-in-label", 0, b"1\r", "label '1\\r' is not 0 or 1"),
        bad_line("cr-cr-lf", None, LINES[6] + b"\r\r", "is not 8 hex digits"),
        kaggle("cr-only-line-ends", text(LINES, b"\r"), ("train.txt:1:", "carriage return")),
        kaggle("lf-cr-line-ends", text(LINES, b"\n\r"), ("train.txt:2:", "label '\\r")),
        kaggle("cr-in-hash-skip", replaced(6, 20, b"05db\r9164"), expect="pass", extra=("--skip-bad-lines",),
               skipped=1, rows=(171, 14)),
        kaggle("crlf-ok", crlf, expect="pass", rows=(172, 14)),
        kaggle("crlf-ok-no-final-lf", crlf[:-1], expect="pass", rows=(172, 14)),
        kaggle("crlf-ok-final-cr-only", crlf[:-2] + b"\r", expect="pass", rows=(172, 14)),
        kaggle("crlf-ok-mixed", mixed, expect="pass", rows=(172, 14)),
    ]


def size_and_encoding_cases() -> list[Case]:
    rng = np.random.default_rng(14)
    return [
        bad_line("huge-hash-1MB", 20, b"a" * (1 << 20), "C7"),
        bad_line("huge-int-5MB", 3, b"7" * (5 << 20), "I3"),
        bad_line("huge-line-2MB", None, b"\t".join([b"1", *[b"9" * 50_000] * 39]), "train.txt:7:"),
        kaggle("huge-no-newline-20MB", text(LINES) + b"7" * (20 << 20), ("train.txt:201:", "no line end")),
        kaggle("binary-zeros-10MB", bytes(10 << 20), ("train.txt:1:", "no line end")),
        kaggle("binary-random-4MB", rng.integers(0, 256, 4 << 20, dtype=np.uint8).tobytes(), ("train.txt:",)),
        kaggle("utf16", text(LINES).decode().encode("utf-16"), ("train.txt:1:",)),
        kaggle("utf8-bom", b"\xef\xbb\xbf" + text(LINES), ("train.txt:1:", "label")),
        kaggle("empty", b"", ("train.txt: holds no lines",)),
        kaggle("only-newline", b"\n", ("train.txt:1:", "1 columns")),
        kaggle("only-newlines", b"\n" * 200, ("train.txt:1:", "1 columns")),
        kaggle("whitespace", b"   \n", ("train.txt:1:",)),
        kaggle("13-lines", text(LINES[:13]), ("train.txt: 13 lines are too few",)),
        kaggle("14-lines-ok", text(LINES[:14]), expect="pass", rows=(12, 1)),
        kaggle("all-bad-skip", b"x\n" * 200, ("no training rows",), extra=("--skip-bad-lines",)),
        kaggle("five-bad-skip", text([b"bad" if i in (1, 30, 60, 90, 120) else line for i, line in enumerate(LINES)]),
               expect="pass", extra=("--skip-bad-lines",), skipped=5, rows=(167, 14)),
        kaggle("bad-in-unused-skip", replaced(199, 0, b"7"), expect="pass", extra=("--skip-bad-lines",), skipped=0,
               rows=(172, 14)),
        kaggle("bad-in-unused", replaced(199, 0, b"7"), ("train.txt:200:", "label '7'")),
    ]


def option_cases() -> list[Case]:
    sample = text(LINES)
    cases = []
    for share in ("nan", "-0.5", "0", "1", "inf", "1e-400", "abc"):
        cases.append(kaggle(f"eval-share-{share}", sample, ("--eval-share",), extra=("--eval-share", share)))
    for cap in ("0", "1", "-5", str(2**40), "x"):
        cases.append(kaggle(f"cap-{cap}", sample, ("--cardinality-cap",), extra=("--cardinality-cap", cap)))
    for workers in ("0", "-1", "1000000", "two"):
        cases.append(kaggle(f"workers-{workers}", sample, ("--workers",), extra=("--workers", workers)))
    cases += [
        kaggle("hash-without-cap", sample, ("--cardinality-cap",), extra=("--ids", "hash")),
        kaggle("ids-unknown", sample, ("--ids",), extra=("--ids", "magic")),
        kaggle("multi-hot-kaggle", sample, ("--multi-hot",), extra=("--multi-hot",)),
        kaggle("eval-day-kaggle", sample, ("--eval-day",), extra=("--eval-day", "-1")),
        kaggle("train-days-kaggle", sample, ("--train-days",), extra=("--train-days", "5-2")),
        Case("kaggle-two-inputs", {"a.txt": sample, "b.txt": sample},
             ["criteo-kaggle", "a.txt", "b.txt", "--out", "out"], says=("give one train.txt",)),
        Case("1tb-one-day", {"day_0": sample}, ["criteo-1tb", "day_0", "--out", "out"], says=("at least two day",)),
        Case("1tb-eval-share", {"day_0": sample, "day_1": sample},
             ["criteo-1tb", "day_0", "day_1", "--out", "out", "--eval-share", "0.1"], says=("--eval-share",)),
        Case("1tb-empty-last-day", {"day_0": sample, "day_1": b""}, ["criteo-1tb", "day_0", "day_1", "--out", "out"],
             says=("day_1: holds no lines",)),
        Case("1tb-bad-last-day-skip", {"day_0": sample, "day_1": b"x\n" * 10},
             ["criteo-1tb", "day_0", "day_1", "--out", "out", "--skip-bad-lines"], says=("day_1: no eval rows",)),
        Case("1tb-bad-line", {"day_0": replaced(6, 3, b"x"), "day_1": sample},
             ["criteo-1tb", "day_0", "day_1", "--out", "out"], says=("day_0:7: I3 'x'",)),
        Case("1tb-truncated-gz", {"day_0": sample, "day_1.gz": gzip.compress(sample, mtime=0)[:2000]},
             ["criteo-1tb", "day_0", "day_1.gz", "--out", "out", *HASHED], says=("day_1.gz:", "truncated")),
        Case("out-is-a-file", {"train.txt": sample}, ["criteo-kaggle", "train.txt", "--out", "train.txt"],
             says=("train.txt: --out must be a new or empty folder",)),
        Case("out-under-a-file", {"train.txt": sample}, ["criteo-kaggle", "train.txt", "--out", "train.txt/out"],
             says=("train.txt/out: cannot create the folder: train.txt is a file",)),
        Case("out-not-empty", {"train.txt": sample, "out/keep": b"x"}, ["criteo-kaggle", "train.txt", "--out", "out"],
             says=("out: --out must be a new or empty folder",)),
        Case("input-is-a-folder", {"dir/x": b""}, ["criteo-kaggle", "dir", "--out", "out"], says=("dir: is a folder",)),
        Case("input-missing", {}, ["criteo-kaggle", "nope.txt", "--out", "out"], says=("nope.txt: no such file",)),
        Case("npy-on-a-text-file", {"train.txt": sample}, ["torchrec-npy", "train.txt", "--out", "out"],
             says=("train.txt",)),
        Case("npy-bad-cardinalities", {"days/x": b""}, ["torchrec-npy", "days", "--out", "out", "--cardinalities",
                                                        "0,1"], says=("--cardinalities",)),
        Case("npy-eval-share", {"days/x": b""}, ["torchrec-npy", "days", "--out", "out", "--eval-share", "0.1"],
             says=("--eval-share",)),
        Case("no-format", {"train.txt": sample}, ["csv", "train.txt", "--out", "out"], says=("invalid choice",)),
    ]
    return cases


def control_cases() -> list[Case]:
    sample = text(LINES)
    return [
        kaggle("ok-sample", sample, expect="pass", rows=(172, 14)),
        kaggle("ok-eval-share", sample, expect="pass", extra=("--eval-share", "0.1"), rows=(180, 20)),
        kaggle("ok-hash", sample, expect="pass", extra=tuple(HASHED), rows=(172, 14)),
        kaggle("ok-cap", sample, expect="pass", extra=("--cardinality-cap", "20"), rows=(172, 14)),
        Case("ok-1tb", {"day_0": text(LINES[:150]), "day_1": text(LINES[150:])},
             ["criteo-1tb", "day_0", "day_1", "--out", "out"], expect="pass", rows=(150, 25)),
        Case("ok-1tb-gz", {"day_0.gz": gzip.compress(text(LINES[:150]), mtime=0),
                           "day_1.gz": gzip.compress(text(LINES[150:]), mtime=0)},
             ["criteo-1tb", "day_0.gz", "day_1.gz", "--out", "out", *HASHED], expect="pass", rows=(150, 25)),
    ]


def run_case(case: Case, root: Path, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of one case, run in a fresh folder under root."""
    folder = root / case.name.replace("/", "_")
    folder.mkdir()
    for name, data in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    before = {p.relative_to(folder) for p in folder.rglob("*")}
    command = [sys.executable, "-m", "harness.cli", "data", "convert", *case.args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", f"no exit within {timeout:.0f} s"
    err = done.stderr.strip()
    if "Traceback" in err or done.returncode not in (0, 2):
        return "traceback", f"exit {done.returncode}: {err[-300:]}"
    out = folder / "out"
    after = {p.relative_to(folder) for p in folder.rglob("*")} - before
    stray = sorted(str(p) for p in after if done.returncode != 0 or p.parts[0] != "out")
    if stray:
        return "stray writes", ", ".join(stray[:5])
    if case.expect == "refuse":
        if done.returncode == 0:
            return "wrong pass", done.stdout.strip().splitlines()[-1]
        missing = [s for s in case.says if s not in err]
        return ("unclear", f"{missing} not in: {err[:300]}") if missing else ("ok", err.splitlines()[0][:160])
    if done.returncode != 0:
        return "wrong refusal", err[:300]
    manifest = json.loads((out / "manifest.json").read_text())
    skipped, rows = manifest["conversion"]["skipped_lines"], (manifest["train"]["rows"], manifest["eval"]["rows"])
    if (case.skipped is not None and skipped != case.skipped) or (case.rows is not None and rows != case.rows):
        return "wrong pass", f"skipped {skipped}, rows {rows}; expected {case.skipped}, {case.rows}"
    return "ok", done.stdout.strip().splitlines()[-1][:160]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as a hang")
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case, not only the failures")
    args = parser.parse_args()
    cases = [*gzip_cases(), *line_cases(), *crlf_cases(), *size_and_encoding_cases(), *option_cases(),
             *control_cases()]
    cases = [c for c in cases if not args.only or args.only in c.name]
    assert len({c.name for c in cases}) == len(cases), "case names must be unique"
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="convert-campaign-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, Path(tmp), args.timeout), cases))
    counts = Counter(outcome for outcome, _ in results)
    for case, (outcome, detail) in zip(cases, results, strict=True):
        if outcome != "ok" or args.verbose:
            print(f"{outcome:13s} {case.expect:6s} {case.name:28s} {detail}")
    expected = Counter(c.expect for c in cases)
    print(f"{len(cases)} cases ({expected['refuse']} malformed, {expected['pass']} valid controls) in "
          f"{time.perf_counter() - tic:.0f} s: " + ", ".join(f"{counts[k]} {k}" for k in
          ("ok", "traceback", "wrong pass", "wrong refusal", "unclear", "hang", "stray writes")))
    sys.exit(0 if counts["ok"] == len(cases) else 1)


if __name__ == "__main__":
    main()
