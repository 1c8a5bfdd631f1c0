"""Reading Criteo click logs: the Kaggle `train.txt` and the 1TB `day_0..day_23` files (plain or gzip).

A line is tab-separated: label, I1..I13 (integers, empty when missing, possibly negative),
C1..C26 (8 hex digits, empty when missing), and ends in LF or CRLF. The parser works on chunks of
whole lines with vectorised numpy (no per-line Python): it finds the separators, checks every field
and decodes the integers and hashes column by column. A malformed line (wrong number of columns, a
label other than 0/1, a bad integer, a hash that is not 8 hex digits, a carriage return anywhere but
before the LF) is reported with its file and line number, or skipped and counted when the caller
allows it. A file that cannot be read to its end (a truncated or corrupt gzip stream, an I/O error)
is an InputError naming the file and the line reached.
"""

from __future__ import annotations

import gzip
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from recscale.errors import InputError, Problem

T = TypeVar("T")
NUM_DENSE, NUM_SPARSE = 13, 26
COLUMNS = 1 + NUM_DENSE + NUM_SPARSE
CHUNK_BYTES = 1 << 23
# A Criteo line is about 400 bytes; a "line" that runs on past this has no line ends a reader
# recognises (CR-only line ends, a binary file) and would otherwise be buffered whole.
MAX_LINE_BYTES = 1 << 20
_MAX_DIGITS = 10  # int32 range
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_NOT_HEX = (_HEX == 255).astype(np.uint8)


def column_name(column: int) -> str:
    """0 -> label, 1..13 -> I1..I13, 14..39 -> C1..C26."""
    if column == 0:
        return "label"
    return f"I{column}" if column <= NUM_DENSE else f"C{column - NUM_DENSE}"


def open_log(path: Path) -> BinaryIO:
    """A binary stream of a plain or gzip-compressed log (by magic number, not by name)."""
    with _reading(path, lambda: 0):
        with path.open("rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


@contextmanager
def _reading(path: Path, line_reached: Callable[[], int]) -> Iterator[None]:
    """Turns a failure to read the log into an InputError naming the file and the line reached (0: opening)."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:  # gzip: cut short (EOFError) or damaged
        line = line_reached()
        raise InputError([Problem(f"{path}:{line}", "", f"cannot read on from line {line:,}: the gzip data is "
                                  f"truncated or corrupt ({err}); nothing was written: fetch the file again "
                                  "(`gzip -t` checks a copy)")]) from None
    except OSError as err:
        line = line_reached()
        raise InputError([Problem(f"{path}:{line}" if line else str(path), "",
                                  f"cannot read the file: {err.strerror or err}")]) from None


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[bytes, int]]:
    """(bytes of whole lines, 1-based number of their first line); the file is never read whole.

    Read in small steps (read1: one decompression step of a gzip stream), so that damage to the
    stream is reported at the line it interrupts, after everything before it was counted."""
    line = 1
    buffer = bytearray()  # the unfinished line of the last chunk, then the data read since
    with open_log(path) as stream, _reading(path, lambda: line + buffer.count(b"\n")):
        while piece := stream.read1(chunk_bytes):
            buffer += piece
            if len(buffer) < chunk_bytes:
                continue
            cut = buffer.rfind(b"\n") + 1
            if cut == 0:  # no newline yet: a long line, keep reading (up to a bound)
                _check_line_length(path, line, buffer)
                continue
            data = bytes(buffer[:cut])
            del buffer[:cut]
            yield data, line
            line += data.count(b"\n")
    if buffer:
        _check_line_length(path, line, buffer)
        yield bytes(buffer) + (b"" if buffer.endswith(b"\n") else b"\n"), line  # the last line may lack its LF


def _check_line_length(path: Path, line: int, data: bytearray) -> None:
    if len(data) > MAX_LINE_BYTES and b"\n" not in data:
        raise InputError([Problem(f"{path}:{line}", "", f"no line end (LF) within {MAX_LINE_BYTES:,} bytes: "
                                  "not a Criteo log (CR-only line ends? a binary file?)")])


def count_lines(path: Path) -> int:
    """Lines in a log (the last one may lack its newline)."""
    lines, last = 0, b"\n"
    with open_log(path) as stream, _reading(path, lambda: lines + 1):
        while block := stream.read1(CHUNK_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


@dataclass
class Parsed:
    """The good lines of a chunk."""

    line: np.ndarray     # [n] int64, 1-based line numbers in the file
    labels: np.ndarray   # [n] int32
    dense: np.ndarray    # [n, 13] int32, missing -> 0
    hashes: np.ndarray   # [n, 26] int64, the 32-bit hash values, -1 where missing
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, why) of the rest


def parse_chunk(data: bytes, first_line: int) -> Parsed:
    """Parse whole lines (each ending in \\n)."""
    if b"\r\n" in data:  # CRLF line ends; a CR anywhere else stays in its field, which is then malformed
        data = data.replace(b"\r\n", b"\n")
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.r_[0, ends[:-1] + 1]
    is_tab = buf == 9
    tabs = np.add.reduceat(is_tab, starts, dtype=np.int32) if starts.size else np.zeros(0, np.int32)
    reasons = np.zeros(ends.size, dtype=np.int16)  # 0 ok, 1 columns, 2+c bad column c
    reasons[tabs != COLUMNS - 1] = 1
    good = np.flatnonzero(reasons == 0)
    seps = np.flatnonzero(is_tab | (buf == 10))
    if good.size != ends.size:  # keep the separators of well-formed lines only
        seps = seps[(reasons == 0)[np.searchsorted(ends, seps)]]
    field_end = seps.reshape(-1, COLUMNS)
    field_start = np.empty_like(field_end)
    field_start[:, 0] = starts[good]
    field_start[:, 1:] = field_end[:, :-1] + 1
    length = field_end - field_start

    labels, ok_label = _labels(buf, field_start[:, 0], length[:, 0])
    dense, ok_dense = _integers(buf, field_start[:, 1:1 + NUM_DENSE], length[:, 1:1 + NUM_DENSE])
    hashes, ok_hash = _hashes(buf, field_start[:, 1 + NUM_DENSE:], length[:, 1 + NUM_DENSE:])
    ok = np.concatenate([ok_label[:, None], ok_dense, ok_hash], axis=1)
    row_ok = ok.all(axis=1)
    bad_rows = np.flatnonzero(~row_ok)
    reasons[good[bad_rows]] = 2 + np.argmin(ok[bad_rows], axis=1)
    bad = [(first_line + int(i), _describe(int(reasons[i]), tabs[i], data, starts[i], ends[i]))
           for i in np.flatnonzero(reasons)]
    keep = np.flatnonzero(row_ok)
    return Parsed(line=first_line + good[keep].astype(np.int64), labels=labels[keep], dense=dense[keep],
                  hashes=hashes[keep], bad=bad)


def _describe(reason: int, tabs: int, data: bytes, start: int, end: int) -> str:
    if reason == 1:
        cr = "; it holds a carriage return (CR): line ends must be LF or CRLF" if b"\r" in data[start:end] else ""
        return f"{tabs + 1} columns, expected {COLUMNS} (label, I1-I13, C1-C26, tab-separated){cr}"
    column = reason - 2
    value = data[start:end].split(b"\t")[column].decode("latin-1")[:40]
    if column == 0:
        return f"label {value!r} is not 0 or 1"
    if column <= NUM_DENSE:
        return f"{column_name(column)} {value!r} is not an integer (int32)"
    return f"{column_name(column)} {value!r} is not 8 hex digits"


def _labels(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    char = buf[np.minimum(start, buf.size - 1)]
    ok = (length == 1) & ((char == 48) | (char == 49))
    return (char == 49).astype(np.int32), ok


def _integers(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decimal integers with an optional leading '-' ([n, k] fields), empty -> 0.

    Horner's rule, digit by digit, each step over only the fields that still have digits left."""
    shape = start.shape
    start, length = start.reshape(-1), length.reshape(-1)
    negative = (length > 0) & (buf[np.minimum(start, buf.size - 1)] == 45)
    first = start + negative
    digits = length - negative
    ok = (length == 0) | ((digits >= 1) & (digits <= _MAX_DIGITS))
    value = np.zeros(start.shape, dtype=np.int64)
    active = np.flatnonzero(ok & (digits > 0))
    for k in range(_MAX_DIGITS):
        char = buf[first[active] + k].astype(np.int64) - 48
        good = (char >= 0) & (char <= 9)
        ok[active[~good]] = False
        value[active] = value[active] * 10 + char
        active = active[good & (digits[active] > k + 1)]
        if not active.size:
            break
    value = np.where(negative, -value, value)
    ok &= (value >= -(2**31)) & (value < 2**31)
    return np.where(ok, value, 0).astype(np.int32).reshape(shape), ok.reshape(shape)


def _hashes(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-hex-digit hashes ([n, k] fields) as int64, empty -> -1.

    Each field's 8 characters are read as one little-endian 64-bit word (an unaligned, overlapping
    view of the buffer), checked through a lookup table and packed into 32 bits with shifts and masks."""
    present = length == 8
    padded = np.concatenate([buf, np.zeros(8, np.uint8)])
    words = np.ndarray((buf.size,), dtype="<u8", buffer=padded, strides=(1,))  # words[i] = bytes i..i+7
    chars = words[np.where(present, start, 0)]
    not_hex = _NOT_HEX[chars.view(np.uint8)].view(np.uint64).reshape(chars.shape)  # 0 iff 8 hex digits
    ok = (length == 0) | (present & (not_hex == 0))
    u = np.uint64
    nibbles = (chars & u(0x0F0F0F0F0F0F0F0F)) + u(9) * ((chars >> u(6)) & u(0x0101010101010101))
    # char i is byte i (bits 8i..8i+7) and must land at bits 4 * (7 - i): merge neighbours, then pairs
    packed = ((nibbles << u(4)) | (nibbles >> u(8))) & u(0x00FF00FF00FF00FF)
    packed = ((packed << u(8)) | (packed >> u(16))) & u(0x0000FFFF0000FFFF)
    packed = ((packed << u(16)) | (packed >> u(32))) & u(0xFFFFFFFF)
    return np.where(present & ok, packed.astype(np.int64), -1), ok


def check_bad(path: Path, bad: list[tuple[int, str]], skip_bad: bool) -> None:
    """InputError naming file and line of the malformed lines of a chunk, unless they are to be skipped."""
    if bad and not skip_bad:
        more = [Problem(str(path), "", f"... and {len(bad) - 10} more malformed lines in the same chunk")]
        raise InputError([Problem(f"{path}:{line}", "", why) for line, why in bad[:10]]
                         + (more if len(bad) > 10 else [])
                         + [Problem(str(path), "", "fix the file, or pass --skip-bad-lines to skip and count them")])


def parse_log(path: Path, skip_bad: bool, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Parsed]:
    """The parsed chunks of a log. A malformed line raises InputError (file and line number) unless
    skip_bad, in which case it is left out (and listed in the chunk's `bad`)."""
    for data, first in read_chunks(path, chunk_bytes):
        parsed = parse_chunk(data, first)
        check_bad(path, parsed.bad, skip_bad)
        yield parsed


def map_chunks(path: Path, func: Callable[[Parsed], T], workers: int = 1,
               chunk_bytes: int | None = None) -> Iterator[T]:
    """func(parsed chunk) for every chunk of a log, in file order. With workers > 1 the parsing and
    func run in forked processes (func must be a module-level function; what it reads from module
    state is inherited at the fork), with at most 2 * workers chunks in flight, so memory stays
    bounded whatever the size of the file."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    chunks = read_chunks(path, chunk_bytes)
    if workers <= 1 or path.stat().st_size <= chunk_bytes:
        for data, first in chunks:
            yield func(parse_chunk(data, first))
        return
    with get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        for data, first in chunks:
            pending.append(pool.apply_async(_parse_then, (func, data, first)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _parse_then(func: Callable[[Parsed], T], data: bytes, first: int) -> T:
    return func(parse_chunk(data, first))


def format_lines(labels: np.ndarray, dense: np.ndarray, dense_missing: np.ndarray, hashes: np.ndarray) -> bytes:
    """Criteo TSV lines (the inverse of parse_chunk): labels [n], dense [n, 13] (empty where
    dense_missing), hashes [n, 26] 32-bit values (empty where negative)."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = (hashes[..., None].clip(0) >> np.arange(28, -1, -4)) & 15
    hex_text = digits[nibbles].view("S8")[..., 0].astype(str)
    table = np.concatenate([labels.astype(str)[:, None], np.where(dense_missing, "", dense.astype(str)),
                            np.where(hashes < 0, "", hex_text)], axis=1)
    return ("\n".join("\t".join(row) for row in table.tolist()) + "\n").encode()
