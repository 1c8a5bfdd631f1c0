"""Where things are: the repository's workloads folder and workload lookup by id."""

from __future__ import annotations

from pathlib import Path

from recscale.errors import InputError, Problem

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOADS = REPO_ROOT / "workloads"
DEFAULT_WORKLOAD = "smoke"


def resolve_workload(name: str) -> Path:
    """A workload given as a file path, or by id (a file in ./workloads or the repository's)."""
    path = Path(name)
    if path.is_file():
        return path
    for folder in (Path.cwd() / "workloads", DEFAULT_WORKLOADS):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise InputError([Problem(name, "", "no such workload file or id (see `recscale ls`)")])
