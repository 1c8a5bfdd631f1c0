"""Atomic file writes and checksums: readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from recscale.errors import InputError, Problem


def utc_now() -> str:
    """The current time as ISO 8601 UTC, to the second (what records carry)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: BaseModel | dict[str, Any]) -> None:
    payload = data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n")


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 4 MiB blocks (data shards are gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_to_write(path: Path, option: str) -> Path:
    """`path` when it is a folder or can be made one; InputError naming `option` when a file stands where
    it or one of its parents must be a folder (found before any work is done, not at the first write)."""
    for part in (path, *path.parents):
        if part.is_dir():
            break
        if part.exists() or part.is_symlink():
            raise InputError([Problem(str(path), option, f"{part} is a file, not a folder: give a folder")])
    return path
