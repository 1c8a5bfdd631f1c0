"""The workloads a submission's runs are checked against (RULES.md CLOSED-1, OPEN-1, SUB-6).

Two kinds, in this order of precedence:

- the *given* workloads: files and folders, searched in order (by default ./workloads, then the
  workloads shipped with RecScale). A file named directly is found by the ``id`` inside it; a file
  in a folder by its name, ``<id>.yaml`` (the convention of every workloads folder);
- the submission's own copies, ``workloads/<id>.yaml``, which `recscale run` keeps of the file it
  ran. A run whose workload is not among the given ones is checked against its copy (a note says
  so): a workload from a file outside the repository is then still checked point by point.

A copy must be a valid workload named by its id, and agree with a given workload of the same id
(version and every point's resolved spec); otherwise SUB-6 fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.check.files import Inventory, read_file, show
from harness.check.findings import Findings
from recscale.errors import InputError, Problem
from recscale.layout import WORKLOADS_DIR
from recscale.load import find_in_folders, load_points, points_from_text
from recscale.spec import WorkloadSpec
from recscale.sweep import Point

MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class Workload:
    """One workload file, loaded and expanded: its spec, its points by id, and where it came from."""

    spec: WorkloadSpec
    points: dict[str, Point]
    source: str

    @classmethod
    def of(cls, spec: WorkloadSpec, points: list[Point], source: str) -> Workload:
        return cls(spec, {p.point_id: p for p in points}, source)


def _problem_text(err: InputError) -> str:
    shown = "; ".join(str(p) for p in err.problems[:MAX_PROBLEMS_SHOWN])
    more = len(err.problems) - MAX_PROBLEMS_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


class GivenWorkloads:
    """The workload files and folders given to the checker, each file loaded once, on first need."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = [Path(p) for p in paths]
        self._loaded: dict[Path, Workload | str] = {}
        for path in self.paths:  # files named directly: the user meant them, so a broken one is bad input
            if path.is_file() and isinstance(found := self._load(path), str):
                raise InputError([Problem(str(path), "", found)])

    def _load(self, path: Path) -> Workload | str:
        if path not in self._loaded:
            try:
                self._loaded[path] = Workload.of(*load_points(path), source=str(path))
            except InputError as err:
                self._loaded[path] = f"the workload file {path} is invalid: {_problem_text(err)}"
        return self._loaded[path]

    def find(self, workload_id: str) -> Workload | str | None:
        """The first given workload of this id; why it cannot be used (a string); None when none is given."""
        for path in self.paths:
            candidate = find_in_folders(workload_id, [path]) if path.is_dir() else path
            if candidate is None:
                continue
            found = self._load(candidate)
            if isinstance(found, str):
                if candidate != path:  # <id>.yaml in a folder is workload <id>, even when broken
                    return found
            elif found.spec.id == workload_id:
                return found
        return None


@dataclass
class WorkloadCatalogue:
    """Given workloads, then the submission's copies: what each run's workload is (see the module doc)."""

    given: GivenWorkloads
    copies: dict[str, Workload | str] = field(default_factory=dict)  # id -> copy, or why it is unusable
    _noted: set[str] = field(default_factory=set)

    def read_copies(self, inventory: Inventory, out: Findings) -> None:
        """Load every workloads/<id>.yaml of the submission; SUB-6 for a broken or conflicting copy."""
        for name, rel in sorted(inventory.workloads.items()):
            self.copies[name] = copy = self._read_copy(inventory, name, rel)
            if isinstance(copy, str):
                out.error("SUB-6", show(rel), copy)
                continue
            given = self.given.find(name)
            if isinstance(given, Workload) and (why := disagreement(copy, given)) is not None:
                out.error("SUB-6", show(rel), f"not the workload {name} given to the checker ({given.source}): {why}")

    @staticmethod
    def _read_copy(inventory: Inventory, name: str, rel: str) -> Workload | str:
        try:
            text = read_file(inventory, rel).decode("utf-8")
        except OSError as err:
            return f"cannot be read safely: {err.strerror or err}"
        except UnicodeDecodeError as err:
            return f"not UTF-8 text (byte {err.start})"
        try:
            copy = Workload.of(*points_from_text(text, show(rel)), source=show(rel))
        except InputError as err:
            return f"not a valid workload: {_problem_text(err)}"
        if copy.spec.id != name:
            return f"holds workload {copy.spec.id!r}: a copy is named by its id ({WORKLOADS_DIR}/{copy.spec.id}.yaml)"
        return copy

    def lookup(self, workload_id: str, division: str, out: Findings) -> Workload | str:
        """The workload to check a run of `workload_id` against, or why there is none (for CLOSED-1/OPEN-1)."""
        given = self.given.find(workload_id)
        if given is not None:
            return given
        copy = self.copies.get(workload_id)
        if isinstance(copy, Workload):
            if workload_id not in self._noted:
                self._noted.add(workload_id)
                out.note("CLOSED-1" if division == "closed" else "OPEN-1", copy.source,
                         f"the runs of workload {workload_id} are checked against this copy: no workload of that id "
                         f"is among the given ones ({self.searched()}); give its file with `recscale check "
                         "--workloads FILE|DIR` to check against your own")
            return copy
        if isinstance(copy, str):
            return f"no workload {workload_id!r} among the given ones ({self.searched()}), and the submission's copy " \
                   f"{WORKLOADS_DIR}/{workload_id}.yaml is unusable (SUB-6)"
        return (f"no workload {workload_id!r} among the given ones ({self.searched()}) and no copy of it in the "
                f"submission ({WORKLOADS_DIR}/{workload_id}.yaml): give its file with `recscale check "
                "--workloads FILE|DIR`")

    def searched(self) -> str:
        return ", ".join(str(p) for p in self.given.paths) or "none"


def disagreement(copy: Workload, given: Workload) -> str | None:
    """How a copy differs from the given workload of its id, in what the runs depend on; None if it does not."""
    if copy.spec.version != given.spec.version:
        return f"version {copy.spec.version} here, {given.spec.version} there"
    if set(copy.points) != set(given.points):
        only_here = sorted(set(copy.points) - set(given.points))
        only_there = sorted(set(given.points) - set(copy.points))
        return f"other points (only here: {only_here[:3]}, only there: {only_there[:3]})"
    for point_id, point in copy.points.items():
        if point.spec_sha256 != given.points[point_id].spec_sha256:
            return f"the resolved spec of point {point_id} differs"
    return None
