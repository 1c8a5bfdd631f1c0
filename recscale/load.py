"""Reading workload files: strict, bounded YAML (recscale.strict_yaml) -> WorkloadSpec -> points."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from recscale.errors import InputError, Problem, validation_problems
from recscale.spec import WorkloadSpec
from recscale.strict_yaml import read_yaml
from recscale.sweep import Point, expand


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
