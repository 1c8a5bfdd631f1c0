"""Reading workload files: strict, bounded YAML (recscale.strict_yaml) -> WorkloadSpec -> points;
finding them.

Workload files are also read from submissions (the copy `recscale run` keeps of the file it ran),
which are untrusted data: recscale.strict_yaml reads them with a safe loader and bounds their size,
nesting and alias expansion, so that a small file cannot make the reader hang or run out of memory.

A workload is named by a file path or by its id; an id is looked up as ``<id>.yaml`` in a search
path of folders: by default ``./workloads`` (the current directory's, where users add their own),
then the workloads shipped with RecScale (:func:`recscale.resources.packaged_workloads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from recscale.errors import InputError, Problem, validation_problems
from recscale.layout import MAX_NAME_LENGTH, SAFE_NAME
from recscale.resources import packaged_workloads
from recscale.spec import WorkloadSpec
from recscale.strict_yaml import parse_yaml, read_yaml
from recscale.sweep import Point, expand

YAML_SUFFIXES = (".yaml", ".yml")
LOCAL_WORKLOADS = Path("workloads")  # relative: the current directory's


def workload_from_data(data: Any, file: str) -> WorkloadSpec:
    """Validate a parsed workload document; every problem is reported with file and path."""
    if not isinstance(data, dict):
        raise InputError([Problem(file, "", "a workload file must be a YAML mapping at top level")])
    try:
        return WorkloadSpec.model_validate(data)
    except ValidationError as err:
        raise InputError(validation_problems(err, file, data, WorkloadSpec)) from None


def load_workload(path: str | Path) -> WorkloadSpec:
    """Parse and validate one workload file."""
    return workload_from_data(read_yaml(Path(path)), str(path))


def load_points(path: str | Path) -> tuple[WorkloadSpec, list[Point]]:
    spec = load_workload(path)
    return spec, expand(spec, str(path))


def points_from_text(text: str, file: str) -> tuple[WorkloadSpec, list[Point]]:
    """load_points for a workload held in memory (a submission's copy, read by the checker)."""
    spec = workload_from_data(parse_yaml(text, file), file)
    return spec, expand(spec, file)


def workload_files(paths: Sequence[str | Path]) -> list[Path]:
    """YAML files named, or found directly inside named folders (sorted), in the order given."""
    found: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        else:
            found.append(item)
    return found


def default_workload_paths() -> list[Path]:
    """./workloads (when the current directory has one), then the workloads shipped with RecScale."""
    return workload_search_path([LOCAL_WORKLOADS])


def workload_search_path(first: Sequence[str | Path]) -> list[Path]:
    """The existing paths of `first`, then the shipped workloads; a folder named twice is kept once."""
    paths: list[Path] = []
    seen: set[Path] = set()
    for path in [*map(Path, first), packaged_workloads()]:
        if path.exists() and path.resolve() not in seen:
            seen.add(path.resolve())
            paths.append(path)
    return paths


def find_in_folders(workload_id: str, folders: Sequence[Path]) -> Path | None:
    """The file ``<workload_id>.yaml`` (or .yml) of the first folder that has one; None for an id that
    is not a safe file name (it may come from an untrusted record: it must not lead out of the folder)."""
    if not SAFE_NAME.fullmatch(workload_id) or len(workload_id) > MAX_NAME_LENGTH:
        return None
    for folder in folders:
        for suffix in YAML_SUFFIXES:
            candidate = folder / f"{workload_id}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def resolve_workload(name: str, search: Sequence[Path] | None = None) -> Path:
    """A workload named by a file path, or by id: ``<id>.yaml`` in `search` (default:
    :func:`default_workload_paths`)."""
    path = Path(name)
    if path.is_file():
        return path
    folders = [p for p in (default_workload_paths() if search is None else search) if p.is_dir()]
    found = find_in_folders(name, folders)
    if found is None:
        where = ", ".join(str(f) for f in folders) or "no workload folders"
        raise InputError([Problem(name, "", f"no such workload file, and no workload of that id in {where} "
                                  "(`recscale ls` lists them)")])
    return found
