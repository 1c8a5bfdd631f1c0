"""Reading workload files: strict YAML (no duplicate keys) -> WorkloadSpec -> points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from recscale.errors import InputError, Problem, validation_problems
from recscale.spec import WorkloadSpec
from recscale.sweep import Point, expand


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(path), "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError([Problem(str(path), "", f"cannot read: {err}")]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError([Problem(str(path), "", f"YAML syntax error: {where}{problem}")]) from None


def load_workload(path: str | Path) -> WorkloadSpec:
    """Parse and validate one workload file; every problem is reported with file and path."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "", "a workload file must be a YAML mapping at top level")])
    try:
        return WorkloadSpec.model_validate(data)
    except ValidationError as err:
        raise InputError(validation_problems(err, str(path), data, WorkloadSpec)) from None


def load_points(path: str | Path) -> tuple[WorkloadSpec, list[Point]]:
    spec = load_workload(path)
    return spec, expand(spec, str(path))


def workload_files(paths: list[str | Path]) -> list[Path]:
    """YAML files named, or found directly inside named folders."""
    found: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            found.append(item)
    return found
