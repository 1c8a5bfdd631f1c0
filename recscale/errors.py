"""Problems found in user input, reported as `file: dotted.path: what is wrong` lines."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where (file and dotted path) and what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class InputError(Exception):
    """Bad user input: carries every problem found, never a traceback for the user."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _data_path(loc: tuple[int | str, ...], data: Any) -> str:
    """Dotted path of a pydantic error location, as it appears in the input document.

    Pydantic adds labels that are not keys of the input: the tag of a discriminated union
    (``dcn``) and the branch names of plain unions (``list[int]``); those are dropped.
    """
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(node, Mapping):
            if key in node:
                parts.append(str(key))
                node = node[key]
            elif key != node.get("kind"):  # a missing or unknown key: still the path the user needs
                parts.append(str(key))
                node = None
        elif isinstance(node, list) and isinstance(key, int):
            parts.append(str(key))
            node = node[key] if 0 <= key < len(node) else None
        elif node is None:
            parts.append(str(key))
    return ".".join(parts)


def _describe(error: Mapping[str, Any], path_keys: list[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = path_keys
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key{hint} (expected one of: {', '.join(known)})" if known else "unknown key"
    if kind == "missing":
        return "required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if kind != "value_error" and not isinstance(given, dict | list):
        message += f" (got {shorten(repr(given))})"
    return message


def shorten(text: str, limit: int = 80) -> str:
    """`text`, or its start and its length when it is longer than `limit` characters."""
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text):,} characters)"


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic model classes inside a field annotation (through Optional/Union/Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _model_classes(arg)
    return found


def known_keys(model: type[BaseModel], path: list[str], data: Any) -> list[str]:
    """Field names valid at `path` (a list of keys) inside a document of `model`."""
    node = data
    for key in path:
        field = model.model_fields.get(key)
        node = node.get(key) if isinstance(node, Mapping) else None
        candidates = _model_classes(field.annotation) if field else []
        kind = node.get("kind") if isinstance(node, Mapping) else None
        matching = [c for c in candidates if "kind" not in c.model_fields or c.model_fields["kind"].default == kind]
        if not matching:
            return []
        model = matching[0]
    return list(model.model_fields)


def validation_problems(
    err: ValidationError, file: str, data: Any, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn a pydantic ValidationError into Problems naming the file and the input's dotted path.

    With `model`, an unknown key is reported with the keys valid there and the closest of them.
    """
    problems = []
    seen_paths: set[str] = set()
    for error in err.errors(include_url=False):
        path = _data_path(tuple(error["loc"]), data)
        if path in seen_paths:  # each branch of a union fails at the same place: the first says it
            continue
        seen_paths.add(path)
        keys = known_keys(model, path.split(".")[:-1], data) if model and path else []
        problems.append(Problem(file, path, _describe(error, keys)))
    return problems
