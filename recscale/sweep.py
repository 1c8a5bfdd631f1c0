"""Sweep expansion: a workload's axes -> fully resolved, validated points with stable ids."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from recscale.errors import InputError, Problem, validation_problems
from recscale.spec import WorkloadSpec

BASE_POINT_ID = "base"
_ID_SAFE = re.compile(r"^[A-Za-z0-9._=,+-]+$")


@dataclass(frozen=True)
class Point:
    """One cell of a sweep: the workload with its overrides applied (and no sweep left)."""

    workload_id: str
    point_id: str
    overrides: dict[str, Any]
    spec: WorkloadSpec

    @property
    def spec_json(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json")

    @property
    def spec_sha256(self) -> str:
        return spec_sha256(self.spec_json)


def spec_sha256(spec_json: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a resolved spec (sorted keys, no whitespace)."""
    canonical = json.dumps(spec_json, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def format_value(value: Any) -> str:
    """A sweep value as it appears in a point id: 0.25, 16, 512-256-64, dcn_layers3_low_rank512."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list):
        return "-".join(format_value(v) for v in value)
    if isinstance(value, dict):
        head = [format_value(value["kind"])] if "kind" in value else []
        rest = [f"{k}{format_value(v)}" for k, v in value.items() if k != "kind"]
        return "_".join(head + rest)
    raise TypeError(f"unsupported sweep value {value!r}")


def point_id(overrides: dict[str, Any]) -> str:
    """Readable, stable id: axes sorted by path, so reordering the sweep keeps the ids."""
    if not overrides:
        return BASE_POINT_ID
    return ",".join(f"{path}={format_value(overrides[path])}" for path in sorted(overrides))


def _set_path(document: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    """The mapping holding the last key of `path`, or None when the path does not exist."""
    *parents, leaf = path.split(".")
    node: Any = document
    for key in parents:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if not isinstance(node, dict) or leaf not in node:
        return None
    return node, leaf


def _check_axes(spec: WorkloadSpec, base: dict[str, Any], file: str) -> None:
    problems = []
    for axis in spec.sweep_axes():
        for path, values in axis.items():
            where = f"sweep.{path}"
            if path == "sweep" or path.startswith("sweep.") or _set_path(base, path) is None:
                problems.append(Problem(file, where, "no such field in the spec to sweep over "
                                        "(a dotted path such as data.fraction or model.embedding.dim)"))
            for value in values:
                try:
                    text = format_value(value)
                except TypeError:
                    text = ""
                if not _ID_SAFE.match(text):
                    problems.append(Problem(file, where, f"value {value!r} cannot form a point id "
                                            "(letters, digits and ._=,+- only)"))
    if problems:
        raise InputError(problems)


def _combinations(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """The overrides of every point: the product over axes, zipped within a group."""
    positions = [
        [{path: values[i] for path, values in axis.items()} for i in range(len(next(iter(axis.values()))))]
        for axis in spec.sweep_axes()
    ]
    combos = []
    for parts in itertools.product(*positions):
        overrides: dict[str, Any] = {}
        for part in parts:
            overrides.update(part)
        combos.append(overrides)
    return combos


def expand(spec: WorkloadSpec, file: str = "<spec>") -> list[Point]:
    """Every point of the sweep (the product of its axes), each validated as a whole spec."""
    base = spec.model_dump(mode="json")
    base["sweep"] = {}
    _check_axes(spec, base, file)
    points: list[Point] = []
    problems: list[Problem] = []
    seen: dict[str, dict[str, Any]] = {}
    for overrides in _combinations(spec):
        document = copy.deepcopy(base)
        for path, value in overrides.items():
            holder, leaf = _set_path(document, path)  # type: ignore[misc]  (checked above)
            holder[leaf] = copy.deepcopy(value)
        pid = point_id(overrides)
        if pid in seen:
            problems.append(Problem(file, "sweep", f"two points share the id {pid!r}"))
            continue
        seen[pid] = overrides
        try:
            resolved = WorkloadSpec.model_validate(document)
        except ValidationError as err:
            problems += [
                Problem(p.file, p.path, f"{p.message} [in sweep point {pid}]")
                for p in validation_problems(err, file, document, WorkloadSpec)
            ]
            continue
        points.append(Point(spec.id, pid, overrides, resolved))
    if problems:
        raise InputError(problems)
    return points
