"""JSON Schemas (2020-12) generated from the pydantic models, shipped with the package.

They live in the repository's schemas/ folder, installed as recscale/schemas (recscale.resources).
`recscale schemas` regenerates them there; `recscale schemas --check` fails when they drift from
the models, so the shipped schemas are always the ones the code enforces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.check.findings import CheckReport
from harness.score.leaderboard.records import Leaderboard
from harness.score.study.records import StudyReport
from recscale.io import atomic_write_text
from recscale.records import RunResult, SubmissionManifest
from recscale.resources import schema_file, schema_folder
from recscale.spec import WorkloadSpec
from recscale.system import SystemDescription
from reference.data.manifest import DatasetManifest

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# name -> model; the file is schemas/<name>.schema.json
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "workload": WorkloadSpec,
    "system": SystemDescription,
    "result": RunResult,
    "submission": SubmissionManifest,
    "check_report": CheckReport,
    "leaderboard": Leaderboard,
    "report": StudyReport,
    "dataset": DatasetManifest,
}


def schema_of(name: str) -> dict[str, Any]:
    model = SCHEMA_MODELS[name]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DIALECT, "$id": f"https://recscale.dev/schemas/{name}.schema.json", **schema}


def render(name: str) -> str:
    return json.dumps(schema_of(name), indent=2, sort_keys=True) + "\n"


def write_all(folder: Path | None = None) -> list[Path]:
    """Write every schema into `folder` (default: the shipped schemas folder)."""
    written = []
    for name in SCHEMA_MODELS:
        path = schema_file(name, folder or schema_folder())
        atomic_write_text(path, render(name))
        written.append(path)
    return written


def drifted(folder: Path | None = None) -> list[str]:
    """Names of schemas whose file in `folder` (default: the shipped ones) is missing or differs from the models."""
    stale = []
    for name in SCHEMA_MODELS:
        path = schema_file(name, folder or schema_folder())
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            stale.append(name)
    return stale
