"""Reading workload files: strict YAML (no duplicate keys) -> WorkloadSpec -> points; finding them.

Workload files are also read from submissions (the copy `recscale run` keeps of the file it ran),
which are untrusted data: the YAML is read with a safe loader, and its size, nesting and alias
expansion are bounded so that a small file cannot make the reader hang or run out of memory.

A workload is named by a file path or by its id; an id is looked up as ``<id>.yaml`` in a search
path of folders: by default ``./workloads`` (the current directory's, where users add their own),
then the workloads shipped with RecScale (:func:`recscale.resources.packaged_workloads`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from recscale.errors import InputError, Problem, validation_problems
from recscale.layout import MAX_NAME_LENGTH, SAFE_NAME, safe_name
from recscale.resources import packaged_workloads
from recscale.spec import WorkloadSpec
from recscale.sweep import Point, expand

YAML_SUFFIXES = (".yaml", ".yml")
MAX_YAML_BYTES = 1 << 20  # a workload file is a few KB; RULES.md FILE-2 allows a copy of 1 MiB
MAX_YAML_NODES = 100_000  # values after alias expansion: far above any workload, far below an alias bomb
LOCAL_WORKLOADS = Path("workloads")  # relative: the current directory's


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate and unhashable keys (PyYAML keeps the last duplicate silently).

    Merge keys (``<<: *base``) work as in YAML 1.1: the keys written in the mapping override the
    merged ones; only keys written twice in the mapping itself are duplicates.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            mark = key_node.start_mark
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value, not a "
                                                        f"{type(key).__name__}", mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} "
                                                        f"(line {mark.line + 1})", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(value: Any, sizes: dict[int, int], open_: set[int]) -> int:
    """Values in `value` once aliases are expanded (shared objects counted each time they appear)."""
    if not isinstance(value, dict | list):
        return 1
    key = id(value)
    if key in open_:
        raise ValueError("a recursive alias (a value that contains itself)")
    if key not in sizes:
        open_.add(key)
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1
        for item in items:
            total += _expanded_size(item, sizes, open_)
            if total > MAX_YAML_NODES:
                raise ValueError(f"more than {MAX_YAML_NODES:,} values once aliases are expanded")
        open_.discard(key)
        sizes[key] = total
    return sizes[key]


def parse_yaml(text: str, file: str) -> Any:
    """The YAML document in `text` (from `file`, for messages); InputError saying where when it is bad."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError([Problem(file, "", f"{len(text):,} characters: a workload file has at most "
                                  f"{MAX_YAML_BYTES:,}")])
    try:
        data = yaml.load(text, Loader=_StrictLoader)
        _expanded_size(data, {}, set())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError([Problem(file, "", f"YAML syntax error: {where}{problem}")]) from None
    except RecursionError:
        raise InputError([Problem(file, "", "YAML nested too deeply")]) from None
    except ValueError as err:  # e.g. an integer of thousands of digits, an alias bomb
        raise InputError([Problem(file, "", f"YAML value refused: {err}")]) from None
    return data


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(path), "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError([Problem(str(path), "", f"cannot read: {err}")]) from None
    return parse_yaml(text, str(path))


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


def _points(spec: WorkloadSpec, file: str) -> list[Point]:
    """The sweep's points; their ids become folder names, so each must be a safe path component."""
    points = expand(spec, file)
    problems = []
    for point in points:
        try:
            safe_name(point.point_id, "sweep (point id)", file)
        except InputError as err:
            problems += err.problems
    if problems:
        raise InputError(problems)
    return points


def load_points(path: str | Path) -> tuple[WorkloadSpec, list[Point]]:
    spec = load_workload(path)
    return spec, _points(spec, str(path))


def points_from_text(text: str, file: str) -> tuple[WorkloadSpec, list[Point]]:
    """load_points for a workload held in memory (a submission's copy, read by the checker)."""
    spec = workload_from_data(parse_yaml(text, file), file)
    return spec, _points(spec, file)


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
