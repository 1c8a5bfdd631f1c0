"""The schema concern: every JSON file of a submission is strict JSON valid against its schema (SUB-2).

Strict means what the writers produce (recscale.records.atomic_write_json): UTF-8, no NaN or
Infinity, no duplicate keys (Python's json keeps the last one silently, so a file could say two
things), and no number that a float cannot hold (``1e999`` would be read as Infinity, which the
writers never produce and no later computation expects). Validation uses the committed schemas
with jsonschema's Draft 2020-12 validator; the typed records the other concerns use are built only
from documents that passed. The schemas are the ones shipped with the package (recscale.resources),
whatever the current directory.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from harness.check.files import Inventory, read_file, show
from harness.check.findings import Findings
from recscale.resources import load_schema

Model = TypeVar("Model", bound=BaseModel)
MAX_SCHEMA_ERRORS = 10  # per file: the first few say what is wrong; the rest is noise


class _StrictJSONError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _StrictJSONError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _StrictJSONError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _StrictJSONError(f"the number {_short(text, 40)} is too large for a float (it would read as Infinity)")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # Python refuses integers of more than 4,300 digits (sys.int_info)
        raise _StrictJSONError(f"an integer of {len(text.lstrip('-'))} digits is too long") from None


def parse_strict_json(data: bytes) -> Any:
    """Decode strict JSON; ValueError with a message saying where when it is not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants,
                          parse_float=_finite_float, parse_int=_int)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
    except _StrictJSONError as err:
        raise ValueError(f"not strict JSON: {err}") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None


ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"})


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with its local ``#/$defs/X`` references replaced by the definitions.

    Validation then skips jsonschema's reference resolution, a third of its time on a result.json.
    A recursive reference is left as it is; a reference with assertions beside it becomes an allOf
    (2020-12 applies both), one with only annotations beside it is merged.
    """
    defs = schema.get("$defs", {})

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs and ref[8:] not in stack:
            target = walk(defs[ref[8:]], (*stack, ref[8:]))
            rest = {key: walk(value, stack) for key, value in node.items() if key != "$ref"}
            return {**target, **rest} if set(rest) <= ANNOTATIONS else {"allOf": [target], **rest}
        return {key: walk(value, stack) if key != "$defs" else value for key, value in node.items()}

    return walk(schema, ())


@cache
def validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(inline_refs(schema))


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _short(message: str, limit: int = 240) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def check_document(data: bytes, rel: str, schema: str, out: Findings) -> dict[str, Any] | None:
    """The JSON document in `data` when it is strict and valid against `schema`, else None (SUB-2)."""
    try:
        document = parse_strict_json(data)
    except ValueError as err:
        out.error("SUB-2", show(rel), str(err))
        return None
    checker = validator(schema)
    if checker.is_valid(document):  # the common case, and cheaper than collecting no errors
        return document
    errors = sorted(checker.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors[:MAX_SCHEMA_ERRORS]:
        out.error("SUB-2", show(rel), f"{_where(error.absolute_path)}: {_short(error.message)} "
                  f"(schemas/{schema}.schema.json)")
    if len(errors) > MAX_SCHEMA_ERRORS:
        out.error("SUB-2", show(rel), f"{len(errors) - MAX_SCHEMA_ERRORS} more schema errors not shown")
    return None if errors else document


def to_record(document: dict[str, Any] | None, rel: str, model: type[Model], out: Findings) -> Model | None:
    """The typed record of a schema-valid document (None when there is none)."""
    if document is None:
        return None
    try:
        return model.model_validate(document)
    except ValidationError as err:  # the schema is generated from the model: this means schema drift
        first = err.errors(include_url=False)[0]
        out.error("SUB-2", show(rel), f"{_where(first['loc'])}: {first['msg']} (the record model refuses it)")
        return None


def read_bytes(inventory: Inventory, rel: str, out: Findings) -> bytes | None:
    try:
        return read_file(inventory, rel)
    except OSError as err:
        out.error("FILE-1", show(rel), f"cannot be read safely: {err.strerror or err}")
        return None


def load_record(inventory: Inventory, rel: str, schema: str, model: type[Model], out: Findings) -> Model | None:
    """The typed record at `rel`: read safely, strict JSON, schema-valid, built by its model; else None."""
    data = read_bytes(inventory, rel, out)
    return None if data is None else to_record(check_document(data, rel, schema, out), rel, model, out)
