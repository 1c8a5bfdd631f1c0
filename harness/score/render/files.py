"""Writing the scorer's outputs: canonical JSON, the text files rendered from it, the plots folder.

The JSON is canonical (sorted keys, floats to 10 significant digits, no timestamps) and
validated against its schema; the Markdown and HTML are rendered from the record as read back
from that JSON, so they show exactly the numbers the JSON holds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
from pydantic import BaseModel

from harness.schemas import schema_of
from recscale.io import atomic_write_text

SIGNIFICANT_DIGITS = 10  # data (times, FLOPs, means of runs): their last bits are the only noise
M = TypeVar("M", bound=BaseModel)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def canonical_json(record: M, schema: str) -> tuple[str, M]:
    """The canonical text of `record`, validated against schemas/<schema>.schema.json, and the record read back."""
    data = _rounded(record.model_dump(mode="json"))
    jsonschema.validate(data, schema_of(schema))
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"
    return text, type(record).model_validate_json(text)


def remove_stale_plots(folder: Path, names: list[str]) -> None:
    """Delete plot files in `folder` that this run did not draw (an earlier run's)."""
    keep = set(names)
    if not folder.is_dir():
        return
    for stale in folder.iterdir():
        if stale.is_file() and stale.suffix in (".png", ".svg") and stale.name not in keep:
            stale.unlink()


def write_texts(out: Path, files: dict[str, str]) -> list[Path]:
    """Each (name, text) written atomically under `out`; the paths."""
    for name, text in files.items():
        atomic_write_text(out / name, text)
    return [out / name for name in files]
