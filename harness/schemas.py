"""JSON Schemas (2020-12) generated from the pydantic models, committed under schemas/.

`recscale schemas` regenerates them; `recscale schemas --check` fails when they drift from the
models, so the committed schemas are always the ones the code enforces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.check.report import CheckReport
from harness.paths import REPO_ROOT
from harness.score.leaderboard.records import Leaderboard
from harness.score.study.records import StudyReport
from recscale.records import RunResult, SubmissionManifest
from recscale.spec import WorkloadSpec
from recscale.system import SystemDescription
from reference.data.manifest import DatasetManifest

SCHEMA_DIR = REPO_ROOT / "schemas"
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


def schema_path(name: str, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{name}.schema.json"


def load_schema(name: str, directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    return json.loads(schema_path(name, directory).read_text(encoding="utf-8"))


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    from recscale.io import atomic_write_text

    written = []
    for name in SCHEMA_MODELS:
        path = schema_path(name, directory)
        atomic_write_text(path, render(name))
        written.append(path)
    return written


def drifted(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schemas whose committed file is missing or differs from the models."""
    stale = []
    for name in SCHEMA_MODELS:
        path = schema_path(name, directory)
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            stale.append(name)
    return stale
