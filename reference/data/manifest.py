"""The on-disk data set: torchrec-style shards described by a checksummed, schema-validated manifest.

Layout of a data set folder (torchrec's `day_N_{dense,sparse,labels}.npy`, one folder per split):

    manifest.json                   DatasetManifest (schemas/dataset.schema.json)
    train/day_0_dense.npy           [rows, num_dense] int32 raw counts (or float32, already transformed)
    train/day_0_sparse.npy          [rows, num_sparse] int32/int64 ids; or day_0_sparse_multi_hot.npz
    train/day_0_labels.npy          [rows, 1] int32 in {0, 1}
    eval/...                        the same for the fixed evaluation set
    .verified.json                  sha256 already checked, per file (size, mtime, inode): a cache

Integrity policy: every open checks each file's existence, byte size and npy header (dtype and
shape) against the manifest, which is cheap. The sha256 of a file is checked on the first open after
the file changed (its size, mtime or inode differ from the record in .verified.json, which the
converters write as they go) and always by `recscale data verify`. Any disagreement is an
InputError naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, ValidationError

from recscale.errors import InputError, Problem
from recscale.io import atomic_write_json, atomic_write_text, sha256_file
from recscale.sources import SourceName

MANIFEST_FILE = "manifest.json"
VERIFIED_FILE = ".verified.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArrayMember(_Model):
    """One array inside an .npz (the MLPerf multi-hot files hold one [rows, k_f] array per feature)."""

    name: str
    shape: list[NonNegativeInt]


class ArrayFile(_Model):
    path: str = Field(description="relative to the manifest's folder")
    dtype: str = Field(description="numpy dtype string, e.g. <i4")
    shape: list[NonNegativeInt] = Field(description="of the .npy; of an .npz: [rows, ids per row in all]")
    members: list[ArrayMember] | None = Field(None, description=".npz only: its arrays, in feature order")
    bytes: NonNegativeInt
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Shard(_Model):
    name: str
    offset: NonNegativeInt = Field(0, description="first row used (the eval half of a last day)")
    rows: NonNegativeInt = Field(description="rows used, from offset")
    dense: ArrayFile
    sparse: ArrayFile
    labels: ArrayFile


class Split(_Model):
    rows: NonNegativeInt
    shards: list[Shard]


class QualityMetrics(_Model):
    ne: float
    logloss: float
    auc: float
    calibration: float


class SyntheticInfo(_Model):
    generator_version: PositiveInt
    block_rows: PositiveInt
    data_spec: dict[str, Any] = Field(description="the workload's data section, without fraction")
    teacher_bias: float
    bayes: QualityMetrics = Field(description="the eval set scored with the teacher's exact probabilities")
    teacher_probs: ArrayFile = Field(description="[eval rows] float64: the teacher's click probabilities")


class InputFile(_Model):
    path: str
    bytes: NonNegativeInt


class ConversionInfo(_Model):
    inputs: list[InputFile]
    lines: NonNegativeInt = Field(description="lines read")
    skipped_lines: NonNegativeInt = Field(description="malformed lines skipped (--skip-bad-lines)")
    skipped_examples: list[str] = Field(default_factory=list, description="the first few, file:line: why")
    id_mapping: Literal["hash", "vocabulary", "as_stored"]
    cardinality_cap: PositiveInt | None = None
    split: str = Field(description="how the train and eval rows were chosen")


class DatasetManifest(_Model):
    """A converted or generated data set: what every file holds and its checksum."""

    schema_version: Literal[1] = 1
    format: Literal["recscale-shards"] = "recscale-shards"
    source: SourceName
    created_at: str
    recscale_version: str
    num_dense: PositiveInt
    cardinalities: list[PositiveInt] = Field(description="ids of feature f are < cardinalities[f]")
    multi_hot_sizes: list[PositiveInt] | None = Field(None, description="ids per example per feature")
    dense_transform: Literal["log1p", "none"] = Field(
        description="log1p: raw counts, the loader applies log(1 + max(x, 0)); none: stored transformed")
    sparse_modulo: bool = Field(False, description="ids are taken modulo the cardinality when loaded")
    train: Split
    eval: Split
    synthetic: SyntheticInfo | None = None
    conversion: ConversionInfo | None = None

    def array_files(self) -> list[ArrayFile]:
        files = [f for split in (self.train, self.eval) for s in split.shards for f in (s.dense, s.sparse, s.labels)]
        return files + ([self.synthetic.teacher_probs] if self.synthetic else [])


# ---------------------------------------------------------------------------------- headers


def _read_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(handle)


def npy_header(path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, data offset) of a C-ordered .npy file, from its header only."""
    with path.open("rb") as handle:
        shape, fortran, dtype = _read_header(handle)
        if fortran:
            raise ValueError("Fortran-ordered arrays are not supported")
        return dtype, tuple(shape), handle.tell()


def npz_members(path: Path) -> dict[str, tuple[np.dtype, tuple[int, ...], int]]:
    """name -> (dtype, shape, byte offset of the data) of each array stored uncompressed in an .npz."""
    members = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {info.filename} is compressed: memory maps need np.savez, "
                                 "not np.savez_compressed")
            raw.seek(info.header_offset)
            local = raw.read(30)
            name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            shape, fortran, dtype = _read_header(raw)
            if fortran:
                raise ValueError(f"member {info.filename} is Fortran-ordered")
            members[info.filename.removesuffix(".npy")] = (dtype, tuple(shape), raw.tell())
    return members


def describe_array(root: Path, path: Path, sha256: str | None = None) -> ArrayFile:
    """The manifest entry of an existing .npy or .npz (hashing it unless sha256 is given)."""
    try:
        if path.suffix == ".npz":
            dtype, shape, members = _describe_npz(path)
        else:
            npdtype, npshape, _ = npy_header(path)
            dtype, shape, members = npdtype.str, list(npshape), None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise InputError([Problem(str(path), "", f"not a readable array file: {err}")]) from None
    return ArrayFile(path=os.path.relpath(path, root), dtype=dtype, shape=shape, members=members,
                     bytes=path.stat().st_size, sha256=sha256 or sha256_file(path))


def _describe_npz(path: Path) -> tuple[str, list[int], list[ArrayMember]]:
    found = npz_members(path)
    names = sorted(found, key=lambda n: int(n) if n.isdigit() else n)
    dtypes = {found[n][0].str for n in names}
    if len(dtypes) != 1:
        raise ValueError(f"members must share one dtype, got {sorted(dtypes)}")
    rows = {found[n][1][0] for n in names}
    if len(rows) != 1:
        raise ValueError(f"members have different row counts {sorted(rows)}")
    shape = [rows.pop(), sum(int(np.prod(found[n][1][1:])) for n in names)]
    return dtypes.pop(), shape, [ArrayMember(name=n, shape=list(found[n][1])) for n in names]


# ------------------------------------------------------------------------------- read/verify


def read_manifest(root: Path) -> DatasetManifest:
    path = root / MANIFEST_FILE
    try:
        return DatasetManifest.model_validate_json(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):  # NotADirectoryError: `root` is a file
        raise InputError([Problem(str(root), "", f"not a data set: no {MANIFEST_FILE} (convert or generate one "
                                  "with `recscale data convert` / `recscale data generate`)")]) from None
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read the manifest: {err.strerror or err}")]) from None
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError([Problem(str(path), where, f"invalid manifest: {first['msg']}")]) from None


def write_manifest(root: Path, manifest: DatasetManifest) -> None:
    atomic_write_json(root / MANIFEST_FILE, manifest)


@dataclass(frozen=True)
class _Stamp:
    size: int
    mtime_ns: int
    inode: int
    sha256: str

    @classmethod
    def of(cls, path: Path, sha256: str) -> _Stamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, sha256)


def _read_stamps(root: Path) -> dict[str, _Stamp]:
    try:
        raw = json.loads((root / VERIFIED_FILE).read_text(encoding="utf-8"))
        return {path: _Stamp(**fields) for path, fields in raw.items()}
    except (OSError, ValueError, TypeError):
        return {}


def record_verified(root: Path, files: list[ArrayFile]) -> None:
    """Remember that these files (as they are now) match their sha256; best effort (read-only dirs)."""
    stamps = _read_stamps(root)
    for entry in files:
        stamps[entry.path] = _Stamp.of(root / entry.path, entry.sha256)
    with contextlib.suppress(OSError):
        atomic_write_text(root / VERIFIED_FILE, json.dumps({k: vars(v) for k, v in stamps.items()}, indent=1))


def check_files(root: Path, manifest: DatasetManifest, checksums: Literal["changed", "all", "none"]) -> None:
    """Sizes and npy headers always; sha256 of every file ("all"), of those changed since last verified
    ("changed") or none. Raises InputError listing every disagreement."""
    problems: list[Problem] = []
    stamps = _read_stamps(root) if checksums == "changed" else {}
    verified: list[ArrayFile] = []
    for entry in manifest.array_files():
        path = root / entry.path
        problem = _check_layout(path, entry)
        if problem:
            problems.append(Problem(str(path), "", problem))
            continue
        if checksums == "none":
            continue
        stamp = stamps.get(entry.path)
        if stamp is not None and stamp == _Stamp.of(path, entry.sha256):
            continue
        actual = sha256_file(path)
        if actual != entry.sha256:
            problems.append(Problem(str(path), "", f"sha256 {actual} disagrees with the manifest's {entry.sha256}: "
                                    "the file is corrupt or was modified; convert or generate it again"))
        else:
            verified.append(entry)
    if verified:
        record_verified(root, verified)
    if problems:
        raise InputError(problems)


def _check_layout(path: Path, entry: ArrayFile) -> str | None:
    """Why the file disagrees with its manifest entry (size, dtype, shape), or None."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing (listed in the manifest)"
    if size != entry.bytes:
        return f"size {size} bytes disagrees with the manifest's {entry.bytes}"
    try:
        if entry.members is not None:
            found = npz_members(path)
            for member in entry.members:
                dtype, shape, _ = found.get(member.name, (None, None, 0))
                if dtype is None or dtype.str != entry.dtype or list(shape) != member.shape:
                    return f"array {member.name} is {dtype} {shape}, the manifest says {entry.dtype} {member.shape}"
            return None
        dtype, shape, _ = npy_header(path)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        return f"not a readable array file: {err}"
    if dtype.str != entry.dtype or list(shape) != entry.shape:
        return f"holds {dtype.str} {list(shape)}, the manifest says {entry.dtype} {entry.shape}"
    return None


def open_array(root: Path, entry: ArrayFile) -> np.ndarray | list[np.ndarray]:
    """Read-only memory map of an .npy, or of each member of an uncompressed .npz (a list)."""
    path = root / entry.path
    if entry.members is None:
        return np.load(path, mmap_mode="r")
    found = npz_members(path)
    return [np.memmap(path, dtype=found[m.name][0], mode="r", offset=found[m.name][2], shape=found[m.name][1])
            for m in entry.members]
