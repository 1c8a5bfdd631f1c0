"""`recscale data convert`: Criteo logs -> shards + manifest, streaming (never a whole file in memory).

Splits (by line number, so a skipped malformed line only shrinks its own part):
- criteo-kaggle (default): facebookresearch/dlrm's split. train.txt is cut into 7 days of
  equal size (the first ones get the remainder); days 1-6 train (39,291,958 rows of the full file);
  the first half (rounded up) of day 7 is the eval set (DLRM's "test", 3,274,330 rows), the second
  half (DLRM's "val") is not used. `--eval-share F` instead takes the last F of the lines as eval.
- criteo-1tb: every file but the last is a training day; the first half (rounded up) of the last
  file is the eval set (MLPerf DLRM-DCNv2's validation half of day_23: 89,137,319 rows).

Ids (`--ids`): `vocabulary` (default; DLRM's Kaggle preprocessing) reads the logs twice: the first
pass collects each feature's distinct hashes, and id = 1 + the hash's index in its sorted
vocabulary (so cardinality = distinct values + 1); `hash` reads them once: id = 1 + hash mod
(cap - 1), every feature with `cap` ids. Either way id 0 is reserved for a missing value, and with a
cap, vocabulary ids above it are folded modulo (cap - 1), as DLRM's --max-ind-range does.

Training rows keep the log's (time) order, so data fraction x is the earliest x of the training
days (the loader shuffles within it). Parsing (and the id mapping) runs on `workers` forked
processes, a bounded number of 8 MB chunks in flight.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from recscale import __version__
from recscale.errors import InputError, Problem
from recscale.io import utc_now
from reference.data.criteo import NUM_DENSE, NUM_SPARSE, Parsed, check_bad, count_lines, map_chunks
from reference.data.manifest import (
    ConversionInfo,
    DatasetManifest,
    InputFile,
    Shard,
    Split,
    describe_array,
    record_verified,
    write_manifest,
)

IdMapping = Literal["vocabulary", "hash"]
_HEADER_BYTES = 128  # fixed .npy header room, rewritten with the final row count when a shard closes


class NpyWriter:
    """Appends rows to a 2-D .npy file whose row count is only known at the end."""

    def __init__(self, path: Path, dtype: np.dtype, columns: int):
        self.path, self.dtype, self.columns, self.rows = path, np.dtype(dtype), columns, 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self._file.write(self._header())

    def _header(self) -> bytes:
        header = {"descr": self.dtype.str, "fortran_order": False, "shape": (self.rows, self.columns)}
        text = repr(header).encode("latin-1")
        room = _HEADER_BYTES - 10 - 1
        return b"\x93NUMPY\x01\x00" + (_HEADER_BYTES - 10).to_bytes(2, "little") + text.ljust(room) + b"\n"

    def append(self, rows: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, self.columns).tobytes())
        self.rows += rows.shape[0]

    def close(self) -> None:
        self._file.seek(0)
        self._file.write(self._header())
        self._file.close()


@dataclass
class _Part:
    """One output shard: the lines [first, stop) of one input file."""

    split: Literal["train", "eval"]
    name: str
    source: int  # index of the input file
    first: int   # 1-based line numbers
    stop: int
    writers: list[NpyWriter] = field(default_factory=list)


def kaggle_parts(lines: int, eval_share: float | None) -> list[_Part]:
    """DLRM's split of a train.txt of `lines` lines (or a trailing eval share)."""
    if eval_share is not None:
        eval_lines = max(1, round(lines * eval_share))
        if eval_lines >= lines:
            raise InputError([Problem("--eval-share", "", f"{eval_share} leaves no training lines of {lines}")])
        return [_Part("train", "day_0", 0, 1, lines - eval_lines + 1),
                _Part("eval", "day_0", 0, lines - eval_lines + 1, lines + 1)]
    days, extra = divmod(lines, 7)
    sizes = [days + (d < extra) for d in range(7)]
    if sizes[-1] < 2:
        raise InputError([Problem("train.txt", "", f"{lines} lines are too few for DLRM's 7-day split")])
    starts = np.cumsum([1, *sizes])
    parts = [_Part("train", f"day_{d}", 0, int(starts[d]), int(starts[d + 1])) for d in range(6)]
    return [*parts, _Part("eval", "day_6", 0, int(starts[6]), int(starts[6]) + -(-sizes[6] // 2))]


def terabyte_parts(files: list[Path], last_lines: int) -> list[_Part]:
    if len(files) < 2:
        raise InputError([Problem(str(files[0]) if files else "DAY", "", "criteo-1tb needs at least two day "
                                  "files: the training days and, last, the day whose first half is the eval set")])
    parts = [_Part("train", f"day_{i}", i, 1, sys.maxsize) for i in range(len(files) - 1)]
    return [*parts, _Part("eval", f"day_{len(files) - 1}", len(files) - 1, 1, 1 + -(-last_lines // 2))]


@dataclass
class _Skips:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, path: Path, bad: list[tuple[int, str]]) -> None:
        self.count += len(bad)
        room = 10 - len(self.examples)
        self.examples += [f"{path}:{line}: {why}" for line, why in bad[:max(room, 0)]]


class IdMapper:
    """Categorical hashes [n, 26] (-1 missing) -> ids [n, 26] int32, by vocabulary or hashing."""

    def __init__(self, mode: IdMapping, cap: int | None, vocabularies: list[np.ndarray] | None = None):
        self.mode, self.cap, self.vocabularies = mode, cap, vocabularies
        if mode == "hash" and not cap:
            raise InputError([Problem("--cardinality-cap", "", "--ids hash needs a cap (ids per feature)")])

    @property
    def cardinalities(self) -> list[int]:
        if self.vocabularies is None:
            return [int(self.cap)] * NUM_SPARSE  # type: ignore[arg-type]
        return [min(v.size + 1, self.cap) if self.cap else v.size + 1 for v in self.vocabularies]

    def __call__(self, hashes: np.ndarray) -> np.ndarray:
        missing = hashes < 0
        if self.vocabularies is None:
            ids = 1 + hashes % (int(self.cap) - 1)  # type: ignore[arg-type]
        else:
            ids = np.empty_like(hashes)
            for f, vocab in enumerate(self.vocabularies):
                ids[:, f] = 1 + np.searchsorted(vocab, hashes[:, f])
            if self.cap:
                ids = np.where(ids >= self.cap, 1 + (ids - 1) % (self.cap - 1), ids)
        return np.where(missing, 0, ids).astype(np.int32)


# What forked parsing workers inherit (map_chunks): the id mapper of pass 2.
_worker_state: dict[str, IdMapper] = {}


def _last_line(parsed: Parsed) -> int:
    return max([*parsed.line[-1:].tolist(), *(line for line, _ in parsed.bad)], default=0)


def _distinct_hashes(parsed: Parsed) -> tuple[int, list[tuple[int, str]], list[np.ndarray]]:
    """Pass 1, in a worker: (last line number, malformed lines, each feature's distinct hashes)."""
    return _last_line(parsed), parsed.bad, [np.unique(column[column >= 0]) for column in parsed.hashes.T]


@dataclass
class _Mapped:
    """Pass 2, from a worker: the good lines of a chunk with their ids."""

    line: np.ndarray
    labels: np.ndarray
    dense: np.ndarray
    ids: np.ndarray
    bad: list[tuple[int, str]]
    last: int


def _map_ids(parsed: Parsed) -> _Mapped:
    ids = _worker_state["mapper"](parsed.hashes)
    return _Mapped(parsed.line, parsed.labels, parsed.dense, ids, parsed.bad, _last_line(parsed))


def collect_vocabularies(files: list[Path], skip_bad: bool, workers: int) -> tuple[list[np.ndarray], list[int]]:
    """Pass 1: each feature's sorted distinct hashes, and the line count of every file."""
    vocab = [np.zeros(0, np.int64) for _ in range(NUM_SPARSE)]
    pending: list[list[np.ndarray]] = [[] for _ in range(NUM_SPARSE)]
    lines = []
    for path in files:
        last = 0
        for last_line, bad, distinct in map_chunks(path, _distinct_hashes, workers):
            check_bad(path, bad, skip_bad)
            last = max(last, last_line)
            for f, values in enumerate(distinct):
                pending[f].append(values)
                if sum(p.size for p in pending[f]) > max(1 << 20, vocab[f].size):  # amortised merging
                    vocab[f] = np.unique(np.concatenate([vocab[f], *pending[f]]))
                    pending[f] = []
        lines.append(last)
    return [np.unique(np.concatenate([v, *p])) for v, p in zip(vocab, pending, strict=True)], lines


def convert(kind: Literal["criteo_kaggle", "criteo_1tb"], files: list[Path], out: Path, ids: IdMapping = "vocabulary",
            cap: int | None = None, eval_share: float | None = None, skip_bad: bool = False,
            log: bool = True, workers: int | None = None) -> DatasetManifest:
    """Convert Criteo logs into the shards + manifest of `out` (which must not hold a data set).

    workers: parsing processes (default: one per CPU but one, which writes the shards; with one
    worker the parsing runs in this process)."""
    missing = [Problem(str(f), "", "no such file") for f in files if not f.is_file()]
    if missing:
        raise InputError(missing)
    if (out / "manifest.json").exists():
        raise InputError([Problem(str(out), "", "already holds a data set; choose another --out or remove it")])
    if kind == "criteo_1tb" and eval_share is not None:
        raise InputError([Problem("--eval-share", "", "criteo-1tb takes its eval set from the last day file")])
    if cap is not None and cap < 2:
        raise InputError([Problem("--cardinality-cap", "", f"must be at least 2 (id 0 is 'missing'), got {cap}")])
    say = print if log else (lambda *_: None)
    workers = workers or max(1, len(os.sched_getaffinity(0)) - 1)
    if ids == "vocabulary":
        say(f"pass 1/2: vocabularies of {len(files)} file(s)")
        vocabularies, lines = collect_vocabularies(files, skip_bad, workers)
        mapper = IdMapper(ids, cap, vocabularies)
    else:
        mapper = IdMapper(ids, cap)
        # only the split needs line counts: of train.txt (Kaggle) or of the last day (1TB)
        lines = [count_lines(f) if f == files[-1] or kind == "criteo_kaggle" else 0 for f in files]
    parts = kaggle_parts(lines[0], eval_share) if kind == "criteo_kaggle" else terabyte_parts(files, lines[-1])
    skips = _Skips()
    lines_read = 0
    say(f"{'pass 2/2: ' if ids == 'vocabulary' else ''}writing shards")
    for index, path in enumerate(files):
        mine = [p for p in parts if p.source == index]
        for part in mine:
            folder = out / part.split
            part.writers = [NpyWriter(folder / f"{part.name}_dense.npy", np.int32, NUM_DENSE),
                            NpyWriter(folder / f"{part.name}_sparse.npy", np.int32, NUM_SPARSE),
                            NpyWriter(folder / f"{part.name}_labels.npy", np.int32, 1)]
        last_line = 0
        _worker_state["mapper"] = mapper
        for chunk in map_chunks(path, _map_ids, workers):
            check_bad(path, chunk.bad, skip_bad)
            skips.add(path, chunk.bad)
            last_line = max(last_line, chunk.last)
            for part in mine:
                lo, hi = np.searchsorted(chunk.line, [part.first, part.stop])
                if hi > lo:
                    for writer, rows in zip(part.writers, (chunk.dense, chunk.ids, chunk.labels), strict=True):
                        writer.append(rows[lo:hi])
            if chunk.line.size and chunk.line[-1] >= max(p.stop for p in mine) - 1:
                break  # the rest of this file is in no part (DLRM's unused half of day 7)
        _worker_state.clear()
        lines_read += last_line
        for part in mine:
            for writer in part.writers:
                writer.close()
        say(f"  {path}: {sum(p.writers[0].rows for p in mine):,} rows")
    if skips.count:
        say(f"skipped {skips.count} malformed line(s); first: {skips.examples[0]}")
    return _finish(kind, files, out, parts, mapper, ids, cap, eval_share, skips, lines_read, __version__)


def _finish(kind: Literal["criteo_kaggle", "criteo_1tb"], files: list[Path], out: Path, parts: list[_Part],
            mapper: IdMapper, ids: IdMapping, cap: int | None, eval_share: float | None, skips: _Skips,
            lines: int, version: str) -> DatasetManifest:
    def split(name: str) -> Split:
        shards = []
        for part in (p for p in parts if p.split == name):
            dense, sparse, labels = (describe_array(out, w.path) for w in part.writers)
            shards.append(Shard(name=part.name, rows=part.writers[0].rows, dense=dense, sparse=sparse, labels=labels))
        return Split(rows=sum(s.rows for s in shards), shards=shards)

    how = (f"last {eval_share} of the lines is eval" if eval_share is not None else
           "DLRM: 7 equal days, days 1-6 train, first half of day 7 eval" if kind == "criteo_kaggle" else
           "MLPerf: all files but the last train, first half of the last file eval")
    manifest = DatasetManifest(
        source=kind, created_at=utc_now(), recscale_version=version, num_dense=NUM_DENSE,
        cardinalities=mapper.cardinalities, dense_transform="log1p", train=split("train"), eval=split("eval"),
        conversion=ConversionInfo(inputs=[InputFile(path=os.path.abspath(f), bytes=f.stat().st_size) for f in files],
                                  lines=lines, skipped_lines=skips.count, skipped_examples=skips.examples,
                                  id_mapping=ids, cardinality_cap=cap, split=how),
    )
    if manifest.train.rows == 0 or manifest.eval.rows == 0:
        raise InputError([Problem(str(files[0]), "", f"no {'training' if manifest.train.rows == 0 else 'eval'} "
                                  "rows after the split (too few lines?)")])
    record_verified(out, manifest.array_files())
    write_manifest(out, manifest)
    return manifest
