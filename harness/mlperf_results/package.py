"""Reading an MLPerf Training submitter folder the way mlperf-logging's result summarizer walks it::

    <root>/results/<system>/<benchmark>/result_*.txt     one run each (the summarizer's glob)
    <root>/results/<system>/<benchmark>/scaling.json     {"scaling_factor": x}, where the review set one
    <root>/systems/<system>.json                         the system description

Nothing here raises because of one file: a system whose files cannot be used carries the reason
(``MLPerfSystem.description_problem``, ``scaling_problem``, each run's problems), and the summarizer's
rules (``harness.mlperf_results.summarizer``) turn those into a score or the reason there is none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.mlperf_results.compliance import check_compliance
from harness.mlperf_results.resultlog import read_result_log
from harness.mlperf_results.rounds import resolve_ruleset
from harness.mlperf_results.runs import KNOWN_TARGETS, MLPerfRun
from recscale.errors import InputError, Problem

RESULT_GLOB = "result_*.txt"  # _compute_strong_score_standalone: glob("{folder}/result_*.txt")
SCALING_FILE = "scaling.json"
MAX_JSON_BYTES = 1 << 20


@dataclass(frozen=True)
class MLPerfSystem:
    """One system's results for the benchmark, with what stands in the way of reading them."""

    name: str
    folder: Path  # results/<system>/<benchmark>
    description: dict[str, Any] | None
    description_problem: str | None  # the file is missing or unreadable (see summarizer for its fields)
    runs: tuple[MLPerfRun, ...]
    scaling_factor: float  # 1.0 without scaling.json (as the summarizer), also when scaling_problem is set
    scaling_problem: str | None
    has_scaling_file: bool
    stray_files: tuple[str, ...]  # other files in the folder (the package checker warns about them)


@dataclass(frozen=True)
class MLPerfPackage:
    """An MLPerf Training submitter folder, for one benchmark of one round."""

    root: Path
    benchmark: str
    round: str | None  # "v4.0"
    ruleset: str | None  # "4.0.0": the compliance rules the runs were checked against
    round_problem: str | None  # why there is no ruleset (then no run is checked, no system scored)
    systems: tuple[MLPerfSystem, ...]

    @property
    def runs(self) -> tuple[MLPerfRun, ...]:
        return tuple(run for system in self.systems for run in system.runs)

    def system(self, name: str) -> MLPerfSystem:
        for system in self.systems:
            if system.name == name:
                return system
        raise KeyError(f"no system {name!r} in {self.root}")

    def runs_of(self, name: str) -> list[MLPerfRun]:
        return list(self.system(name).runs)


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    """result_2 before result_10; numbers and text never compared with each other."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", path.name)]


def _read_json(path: Path) -> tuple[Any, str | None]:
    """(content, None), or (None, why it cannot be read); the summarizer raises on any of these."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            return None, f"{size} bytes is more than the {MAX_JSON_BYTES} RecScale reads"
        return json.loads(path.read_bytes().decode("utf-8")), None
    except OSError as err:
        return None, f"cannot read: {err.strerror or err}"
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 text (byte {err.start})"
    except json.JSONDecodeError as err:
        return None, f"not valid JSON (line {err.lineno}: {err.msg})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except ValueError as err:  # an integer of more than 4,300 digits (Python's limit)
        return None, f"not valid JSON ({str(err).split(';')[0]})"


def _description(root: Path, system: str) -> tuple[dict[str, Any] | None, str | None]:
    path = root / "systems" / f"{system}.json"
    rel = f"systems/{system}.json"
    if not path.is_file():
        return None, f"{rel} is missing: the summarizer skips the system (\"ERROR: Missing {rel}\")"
    content, problem = _read_json(path)
    if problem is None and not isinstance(content, dict):
        problem = f"a system description is a JSON object, got {type(content).__name__}"
    if problem is not None:
        return None, f"{rel}: {problem}; mlperf-logging's summarizer stops on it"
    return content, None


def _scaling(folder: Path) -> tuple[float, str | None, bool]:
    """(factor, problem, file present) as ``_get_scaling_factor`` reads ``scaling.json``."""
    path = folder / SCALING_FILE
    if not path.is_file():
        return 1.0, None, False
    content, problem = _read_json(path)
    if problem is None:
        if not isinstance(content, dict) or "scaling_factor" not in content:
            problem = 'it must be a JSON object with "scaling_factor"'
        else:
            factor = content["scaling_factor"]
            if isinstance(factor, int | float) and not isinstance(factor, bool) and 0 < factor < float("inf"):
                return float(factor), None, True
            problem = f"scaling_factor must be a positive number, got {factor!r}"
    return 1.0, f"{SCALING_FILE}: {problem}; mlperf-logging's summarizer stops on it", True


def _read_system(root: Path, system_dir: Path, benchmark: str, ruleset: str | None) -> MLPerfSystem:
    folder = system_dir / benchmark
    files = sorted((p for p in folder.glob(RESULT_GLOB)), key=_natural_key)
    runs = []
    for index, path in enumerate(files):
        log = read_result_log(path)
        compliance = check_compliance(log, ruleset) if ruleset is not None and log.fatal is None else None
        runs.append(MLPerfRun(system_dir.name, index, path, log, compliance, KNOWN_TARGETS.get(benchmark)))
    description, description_problem = _description(root, system_dir.name)
    factor, scaling_problem, has_scaling = _scaling(folder)
    known = {p.name for p in files} | {SCALING_FILE}
    try:
        stray = tuple(sorted(p.name for p in folder.iterdir() if p.name not in known))
    except OSError:  # listed a moment ago by the glob; nothing to add if it cannot be listed now
        stray = ()
    return MLPerfSystem(system_dir.name, folder, description, description_problem, tuple(runs), factor,
                        scaling_problem, has_scaling, stray)


def read_mlperf_package(root: Path, benchmark: str = "dlrm_dcnv2", round_text: str | None = None) -> MLPerfPackage:
    """Read every ``results/<system>/<benchmark>/`` of the submitter folder `root`.

    The round is `round_text` (``v4.0``) or else the one the path names (``training_results_v4.0``).
    InputError only when `root` is not a submitter folder holding the benchmark.
    """
    root = Path(root)
    results = root / "results"
    if not results.is_dir():
        raise InputError([Problem(str(root), "", "not an MLPerf submitter folder: no results/ folder")])
    try:
        system_dirs = sorted(p for p in results.iterdir() if (p / benchmark).is_dir())
    except OSError as err:
        raise InputError([Problem(str(results), "", f"cannot list: {err.strerror or err}")]) from None
    if not system_dirs:
        raise InputError([Problem(str(results), "", f"no results/<system>/{benchmark}/ folder")])
    round_name, ruleset, round_problem = resolve_ruleset(round_text, root, benchmark)
    systems = tuple(_read_system(root, d, benchmark, ruleset) for d in system_dirs)
    return MLPerfPackage(root, benchmark, round_name, ruleset, round_problem, systems)
