"""`recscale data convert`: Criteo logs -> shards + manifest, streaming (never a whole file in memory).

Splits (by line number, so a skipped malformed line only shrinks its own part):
- criteo-kaggle (default): facebookresearch/dlrm's split. train.txt is cut into 7 days of
  equal size (the first ones get the remainder); days 1-6 train (39,291,958 rows of the full file);
  the first half (rounded up) of day 7 is the eval set (DLRM's "test", 3,274,330 rows), the second
  half (DLRM's "val") is not used. `--eval-share F` instead takes the last F of the lines as eval.
- criteo-1tb: every file but the last is a training day; the first half (rounded up) of the last
  file is the eval set (MLPerf DLRM-DCNv2's validation half of day_23: 89,137,319 rows).

Every line of the inputs ends up in exactly one of: train, eval, unused (the part of the last day
that no split takes) or, with `--skip-bad-lines`, skipped; the summary line says how many went where.

Ids (`--ids`): `vocabulary` (default; DLRM's Kaggle preprocessing) reads the logs twice: the first
pass collects each feature's distinct values, "missing" being one of them in the features that have
missing values (as DLRM, which reads an empty field as the hash 0), and id = the value's index in its
feature's sorted vocabulary (missing sorts first: id 0). So a feature's cardinality is its number of
distinct values counting missing, DLRM's count, and the full Kaggle train.txt gives exactly DLRM's
table sizes (recscale/cardinalities.py). `hash` reads the logs once: id = 1 + hash mod (cap - 1),
id 0 for missing, every feature with `cap` ids. With a cap, vocabulary ids at or above it are
folded back below it (keeping a missing id 0 apart), as DLRM's --max-ind-range bounds its tables.

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
Kind = Literal["criteo_kaggle", "criteo_1tb"]
MAX_CAP = 2**31  # ids are stored as int32
UNUSED = {"criteo_kaggle": "the second half of day 7, DLRM's validation half",
          "criteo_1tb": "the second half of the last day, MLPerf's test half"}
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


def kaggle_parts(path: Path, lines: int, eval_share: float | None) -> list[_Part]:
    """DLRM's split of the train.txt `path` of `lines` lines (or a trailing eval share)."""
    if lines == 0:
        raise InputError([Problem(str(path), "", "holds no lines")])
    if eval_share is not None:
        eval_lines = max(1, round(lines * eval_share))
        if eval_lines >= lines:
            raise InputError([Problem("--eval-share", "", f"{eval_share} of the {lines} lines of {path} "
                                      "leaves no training lines")])
        return [_Part("train", "day_0", 0, 1, lines - eval_lines + 1),
                _Part("eval", "day_0", 0, lines - eval_lines + 1, lines + 1)]
    days, extra = divmod(lines, 7)
    sizes = [days + (d < extra) for d in range(7)]
    if sizes[-1] < 2:
        raise InputError([Problem(str(path), "", f"{lines} lines are too few for DLRM's 7-day split (at least 14: "
                                  "each day needs 2); --eval-share takes the eval lines off the end instead")])
    starts = np.cumsum([1, *sizes])
    parts = [_Part("train", f"day_{d}", 0, int(starts[d]), int(starts[d + 1])) for d in range(6)]
    return [*parts, _Part("eval", "day_6", 0, int(starts[6]), int(starts[6]) + -(-sizes[6] // 2))]


def terabyte_parts(files: list[Path], last_lines: int) -> list[_Part]:
    if len(files) < 2:
        raise InputError([Problem(str(files[0]) if files else "DAY", "", "criteo-1tb needs at least two day "
                                  "files: the training days and, last, the day whose first half is the eval set")])
    if last_lines == 0:
        raise InputError([Problem(str(files[-1]), "", "holds no lines (the last day file gives the eval set)")])
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
    """Categorical hashes [n, 26] (-1 missing) -> ids [n, 26] int32, by vocabulary or hashing.

    vocabularies: each feature's sorted distinct values, -1 (missing) among them where it occurs."""

    def __init__(self, mode: IdMapping, cap: int | None, vocabularies: list[np.ndarray] | None = None):
        self.mode, self.cap, self.vocabularies = mode, cap, vocabularies
        if mode == "hash" and not cap:
            raise InputError([Problem("--cardinality-cap", "", "--ids hash needs a cap (ids per feature)")])
        # 1 where id 0 is "missing", which a cap's folding leaves on its own
        self._missing_first = np.array([int(v.size > 0 and v[0] < 0) for v in vocabularies or []], np.int64)

    @property
    def cardinalities(self) -> list[int]:
        if self.vocabularies is None:
            return [int(self.cap)] * NUM_SPARSE  # type: ignore[arg-type]
        return [min(v.size, self.cap) if self.cap else v.size for v in self.vocabularies]

    def __call__(self, hashes: np.ndarray) -> np.ndarray:
        if self.vocabularies is None:
            return np.where(hashes < 0, 0, 1 + hashes % (int(self.cap) - 1)).astype(np.int32)  # type: ignore[arg-type]
        ids = np.empty_like(hashes)
        for f, vocab in enumerate(self.vocabularies):
            ids[:, f] = np.searchsorted(vocab, hashes[:, f])
        if self.cap:
            first = self._missing_first
            ids = np.where(ids >= self.cap, first + (ids - first) % (self.cap - first), ids)
        return ids.astype(np.int32)


# What forked parsing workers inherit (map_chunks): the id mapper of pass 2.
_worker_state: dict[str, IdMapper] = {}


def _last_line(parsed: Parsed) -> int:
    return max([*parsed.line[-1:].tolist(), *(line for line, _ in parsed.bad)], default=0)


def _distinct_hashes(parsed: Parsed) -> tuple[int, list[tuple[int, str]], list[np.ndarray]]:
    """Pass 1, in a worker: (last line number, malformed lines, each feature's distinct values, -1 = missing)."""
    return _last_line(parsed), parsed.bad, [np.unique(column) for column in parsed.hashes.T]


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
    """Pass 1: each feature's sorted distinct values (-1 = missing), and the line count of every file."""
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


def _check_arguments(kind: Kind, files: list[Path], out: Path, cap: int | None, eval_share: float | None) -> None:
    problems = [Problem(str(f), "", "is a folder, not a log file" if f.is_dir() else "no such file")
                for f in files if not f.is_file()]
    if (out / "manifest.json").exists():
        problems.append(Problem(str(out), "", "already holds a data set; choose another --out or remove it"))
    if eval_share is not None:
        if kind == "criteo_1tb":
            problems.append(Problem("--eval-share", "", "criteo-1tb takes its eval set from the last day file"))
        elif not 0 < eval_share < 1:  # also NaN
            problems.append(Problem("--eval-share", "", f"must be a number between 0 and 1 (the share of the "
                                    f"lines that is eval), got {eval_share}"))
    if cap is not None and not 2 <= cap <= MAX_CAP:
        problems.append(Problem("--cardinality-cap", "", f"must be from 2 (id 0 is 'missing') to {MAX_CAP:,} "
                                f"(ids are int32), got {cap}"))
    if problems:
        raise InputError(problems)


def convert(kind: Kind, files: list[Path], out: Path, ids: IdMapping = "vocabulary", cap: int | None = None,
            eval_share: float | None = None, skip_bad: bool = False, log: bool = True,
            workers: int | None = None) -> DatasetManifest:
    """Convert Criteo logs into the shards + manifest of `out` (which must not hold a data set).

    workers: parsing processes (default: one per CPU but one, which writes the shards; with one
    worker the parsing runs in this process)."""
    _check_arguments(kind, files, out, cap, eval_share)
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
    parts = (kaggle_parts(files[0], lines[0], eval_share) if kind == "criteo_kaggle"
             else terabyte_parts(files, lines[-1]))
    skips = _Skips()
    say(f"{'pass 2/2: ' if ids == 'vocabulary' else ''}writing shards")
    for index, path in enumerate(files):
        mine = [p for p in parts if p.source == index]
        skipped_before = skips.count
        lines[index] = max(lines[index], _write_parts(path, mine, mapper, out, skip_bad, skips, workers))
        train, eval_ = (sum(p.writers[0].rows for p in mine if p.split == split) for split in ("train", "eval"))
        say(f"  {path}: {line_summary(kind, lines[index], train, eval_, skips.count - skipped_before)}")
    if skips.count:
        say(f"skipped {skips.count} malformed line(s); first: {skips.examples[0]}")
    return _finish(kind, files, out, parts, mapper, ids, cap, eval_share, skips, sum(lines), __version__)


def _write_parts(path: Path, parts: list[_Part], mapper: IdMapper, out: Path, skip_bad: bool, skips: _Skips,
                 workers: int) -> int:
    """Pass 2 over one file: its parts' shards; returns the number of its last line read."""
    for part in parts:
        folder = out / part.split
        part.writers = [NpyWriter(folder / f"{part.name}_dense.npy", np.int32, NUM_DENSE),
                        NpyWriter(folder / f"{part.name}_sparse.npy", np.int32, NUM_SPARSE),
                        NpyWriter(folder / f"{part.name}_labels.npy", np.int32, 1)]
    last_line = 0
    _worker_state["mapper"] = mapper
    try:
        for chunk in map_chunks(path, _map_ids, workers):
            check_bad(path, chunk.bad, skip_bad)
            # a malformed line in no part is one of the unused lines, not a skipped one
            skips.add(path, [(line, why) for line, why in chunk.bad if any(p.first <= line < p.stop for p in parts)])
            last_line = max(last_line, chunk.last)
            for part in parts:
                lo, hi = np.searchsorted(chunk.line, [part.first, part.stop])
                if hi > lo:
                    for writer, rows in zip(part.writers, (chunk.dense, chunk.ids, chunk.labels), strict=True):
                        writer.append(rows[lo:hi])
            if last_line >= max(p.stop for p in parts) - 1:
                break  # the rest of this file is in no part (the unused half of the last day)
    finally:
        _worker_state.clear()
        for part in parts:
            for writer in part.writers:
                writer.close()
    return last_line


def line_summary(kind: str, lines: int, train: int, eval_: int, skipped: int) -> str:
    """Where the lines of the input went: '200 lines: 172 train, 14 eval, 14 unused (why)'."""
    unused = lines - train - eval_ - skipped
    why = f" ({UNUSED.get(kind, 'in no split')})" if unused else ""
    return (f"{lines:,} lines: {train:,} train, {eval_:,} eval, {unused:,} unused{why}"
            + (f", {skipped:,} malformed skipped" if skipped else ""))


def _finish(kind: Kind, files: list[Path], out: Path, parts: list[_Part], mapper: IdMapper, ids: IdMapping,
            cap: int | None, eval_share: float | None, skips: _Skips, lines: int, version: str) -> DatasetManifest:
    def split(name: str) -> Split:
        shards = []
        for part in (p for p in parts if p.split == name):
            dense, sparse, labels = (describe_array(out, w.path) for w in part.writers)
            shards.append(Shard(name=part.name, rows=part.writers[0].rows, dense=dense, sparse=sparse, labels=labels))
        return Split(rows=sum(s.rows for s in shards), shards=shards)

    train, eval_ = split("train"), split("eval")
    if train.rows == 0 or eval_.rows == 0:
        raise InputError([Problem(str(files[0] if train.rows == 0 else files[-1]), "",
                                  f"no {'training' if train.rows == 0 else 'eval'} rows after "
                                  f"the split: {line_summary(kind, lines, train.rows, eval_.rows, skips.count)}")])
    how = (f"last {eval_share} of the lines is eval" if eval_share is not None else
           "DLRM: 7 equal days, days 1-6 train, first half of day 7 eval" if kind == "criteo_kaggle" else
           "MLPerf: all files but the last train, first half of the last file eval")
    manifest = DatasetManifest(
        source=kind, created_at=utc_now(), recscale_version=version, num_dense=NUM_DENSE,
        cardinalities=mapper.cardinalities, dense_transform="log1p", train=train, eval=eval_,
        conversion=ConversionInfo(inputs=[InputFile(path=os.path.abspath(f), bytes=f.stat().st_size) for f in files],
                                  lines=lines, skipped_lines=skips.count, skipped_examples=skips.examples,
                                  id_mapping=ids, cardinality_cap=cap, split=how),
    )
    record_verified(out, manifest.array_files())
    write_manifest(out, manifest)
    return manifest
