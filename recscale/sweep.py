"""Sweep expansion: a workload's axes -> fully resolved, validated points with stable ids."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from recscale.errors import InputError, Problem, shorten, validation_problems
from recscale.layout import safe_name
from recscale.limits import MAX_SWEEP_POINTS, MAX_SWEEP_VALUES
from recscale.spec import WorkloadSpec

BASE_POINT_ID = "base"
_ID_SAFE = re.compile(r"^[A-Za-z0-9._=,+-]+$")
FIXED_PATHS = ("id", "version")  # they name the workload: every point shares them


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


def count_values(value: Any) -> int:
    """Scalars, lists and mappings in a JSON-like value (the value itself included)."""
    if isinstance(value, dict):
        return 1 + sum(count_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_values(v) for v in value)
    return 1


def _axis_length(axis: dict[str, list[Any]]) -> int:
    return len(next(iter(axis.values())))  # every path of a group has as many values (validated)


def _check_size(spec: WorkloadSpec, base: dict[str, Any], file: str) -> None:
    """Refuse a sweep too large to expand, from the axes' lengths alone (before making any point)."""
    axes = spec.sweep_axes()
    points = math.prod(_axis_length(axis) for axis in axes)
    if points > MAX_SWEEP_POINTS:
        lengths = " x ".join(str(_axis_length(axis)) for axis in axes)
        raise InputError([Problem(file, "sweep", f"{lengths} = {points:,} points; a sweep has at most "
                                  f"{MAX_SWEEP_POINTS:,} (split it into several workloads)")])
    per_point = count_values(base) + sum(max(count_values(v) for v in values)
                                         for axis in axes for values in axis.values())
    if points * per_point > MAX_SWEEP_VALUES:
        raise InputError([Problem(file, "sweep", f"{points:,} points of up to {per_point:,} values each: the "
                                  f"expanded sweep would hold more than {MAX_SWEEP_VALUES:,} values")])


def _check_axes(spec: WorkloadSpec, base: dict[str, Any], file: str) -> None:
    problems = []
    for axis in spec.sweep_axes():
        for path, values in axis.items():
            where = f"sweep.{path}"
            if path in FIXED_PATHS:
                problems.append(Problem(file, where, f"{path!r} names the workload and is the same in every "
                                        "point; it cannot be swept over"))
            elif path == "sweep" or path.startswith("sweep.") or _set_path(base, path) is None:
                problems.append(Problem(file, where, "no such field in the spec to sweep over "
                                        "(a dotted path such as data.fraction or model.embedding.dim)"))
            for value in values:
                try:
                    text = format_value(value)
                except TypeError:
                    text = ""
                if not _ID_SAFE.match(text):
                    problems.append(Problem(file, where, f"value {shorten(repr(value))} cannot form a point id "
                                            "(letters, digits and ._=,+- only)"))
    if problems:
        raise InputError(problems)


def _combinations(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """The overrides of every point: the product over axes, zipped within a group."""
    positions = [
        [{path: values[i] for path, values in axis.items()} for i in range(_axis_length(axis))]
        for axis in spec.sweep_axes()
    ]
    combos = []
    for parts in itertools.product(*positions):
        overrides: dict[str, Any] = {}
        for part in parts:
            overrides.update(part)
        combos.append(overrides)
    return combos


def _id_problem(pid: str, seen: set[str], file: str) -> Problem | None:
    """Why `pid` cannot name a point (it becomes a folder name), or None."""
    if pid in seen:
        return Problem(file, "sweep", f"two points share the id {pid!r}")
    try:
        safe_name(pid, "sweep", file)
    except InputError as err:
        return Problem(file, "sweep", f"point id {shorten(pid)}: {err.problems[0].message}; use fewer or "
                       "shorter values per axis")
    return None


def expand(spec: WorkloadSpec, file: str = "<spec>") -> list[Point]:
    """Every point of the sweep (the product of its axes), each validated as a whole spec.

    Two points must differ in their resolved spec, not only in how a value is written (1 and 1.0).
    """
    base = spec.model_dump(mode="json")
    base["sweep"] = {}
    _check_size(spec, base, file)
    _check_axes(spec, base, file)
    points: list[Point] = []
    problems: list[Problem] = []
    ids: set[str] = set()
    by_hash: dict[str, str] = {}
    for overrides in _combinations(spec):
        document = copy.deepcopy(base)
        for path, value in overrides.items():
            holder, leaf = _set_path(document, path)  # type: ignore[misc]  (checked above)
            holder[leaf] = copy.deepcopy(value)
        pid = point_id(overrides)
        if (problem := _id_problem(pid, ids, file)) is not None:
            problems.append(problem)
            continue
        ids.add(pid)
        try:
            resolved = WorkloadSpec.model_validate(document)
        except ValidationError as err:
            problems += [
                Problem(p.file, p.path, f"{p.message} [in sweep point {pid}]")
                for p in validation_problems(err, file, document, WorkloadSpec)
            ]
            continue
        point = Point(spec.id, pid, overrides, resolved)
        if (twin := by_hash.setdefault(point.spec_sha256, pid)) != pid:
            problems.append(Problem(file, "sweep", f"points {twin!r} and {pid!r} have the same spec (sha256 "
                                    f"{point.spec_sha256[:12]}): a value written two ways, such as 1 and 1.0?"))
            continue
        points.append(point)
    if problems:
        raise InputError(problems)
    return points
