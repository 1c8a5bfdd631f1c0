"""Committed schemas match the models and accept what the models produce."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from harness import schemas
from harness.cli import main
from recscale.resources import load_schema

REPO = Path(__file__).resolve().parent.parent


def test_committed_schemas_match_models() -> None:
    assert schemas.drifted() == []


def test_schemas_check_detects_drift(tmp_path: Path) -> None:
    schemas.write_all(tmp_path)
    assert schemas.drifted(tmp_path) == []
    (tmp_path / "workload.schema.json").write_text("{}")
    assert schemas.drifted(tmp_path) == ["workload"]


def test_schemas_are_valid_2020_12() -> None:
    for name in schemas.SCHEMA_MODELS:
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_workload_schema_accepts_shipped_and_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(load_schema("workload"))
    for path in (REPO / "workloads").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert not list(validator.iter_errors(doc)), path
    doc = yaml.safe_load((REPO / "workloads" / "smoke.yaml").read_text())
    doc["model"]["embedding"]["dimm"] = 3
    assert list(validator.iter_errors(doc))


def test_cli_schemas_check(capsys) -> None:
    assert main(["schemas", "--check"]) == 0
    assert "match" in capsys.readouterr().out


def test_schema_files_are_sorted_json() -> None:
    for path in (REPO / "schemas").glob("*.schema.json"):
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
