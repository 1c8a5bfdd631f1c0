"""Which MLPerf Training round a result package belongs to, and the mlperf-logging ruleset of that round.

MLPerf's tools never guess the round: the result summarizer and the package checker take the ruleset
(``4.0.0`` for round v4.0) as an argument, and it decides which compliance rules a log is checked
against. RecScale takes it the same way (``--round``) and otherwise reads it from the folder names
the results come in (``training_results_v4.0``, ``mlperf_training_v3.1``, ``v5.0``).
"""

from __future__ import annotations

import re
from pathlib import Path

from mlperf_logging.benchmark_meta import get_allowed_benchmarks
from mlperf_logging.compliance_checker import mlp_compliance

USAGE = "training"
# A folder named after a round: "training_results_v4.0", "mlperf_training_v3.1", "v5.0".
_ROUND_IN_NAME = re.compile(r"(?:^|[_-])v(\d+\.\d+)(?:\.0)?$")
_ROUND_TEXT = re.compile(r"^v?(\d+)\.(\d+)(?:\.0)?$")
_CHECKER_DIR = Path(mlp_compliance.__file__).parent


def ruleset_of(round_text: str) -> str | None:
    """``v4.0``, ``4.0`` or ``4.0.0`` -> ``4.0.0``; None when the text does not name a round."""
    match = _ROUND_TEXT.match(round_text.strip())
    return f"{int(match.group(1))}.{int(match.group(2))}.0" if match else None


def round_name(ruleset: str) -> str:
    """``4.0.0`` -> ``v4.0``."""
    major, minor = ruleset.split(".")[:2]
    return f"v{major}.{minor}"


def round_from_path(path: Path) -> str | None:
    """The round the nearest folder name states (``.../training_results_v4.0/NVIDIA`` -> ``v4.0``), or None."""
    for part in reversed(Path(path).resolve().parts):
        match = _ROUND_IN_NAME.search(part)
        if match:
            return f"v{match.group(1)}"
    return None


def _version_key(ruleset: str) -> tuple[int, ...]:
    return tuple(int(p) for p in ruleset.split("."))


def rulesets_for(benchmark: str) -> list[str]:
    """The rulesets of the installed mlperf-logging that have compliance rules for `benchmark`, oldest first."""
    found = []
    for ruleset in sorted(mlp_compliance.rule_choices(), key=_version_key):
        try:
            allowed = get_allowed_benchmarks(USAGE, ruleset)
        except ValueError:  # a ruleset of another usage (hpc)
            continue
        if benchmark in allowed and (_CHECKER_DIR / f"{USAGE}_{ruleset}" / "common.yaml").is_file():
            found.append(ruleset)
    return found


def resolve_ruleset(given: str | None, root: Path, benchmark: str) -> tuple[str | None, str | None, str | None]:
    """(round, ruleset, why not) for a package at `root`: the round given, else the one its path names.

    The ruleset is None (with the reason) when no round is known or mlperf-logging has no rules for the
    benchmark in that round.
    """
    known = rulesets_for(benchmark)
    span = f"{round_name(known[0])} to {round_name(known[-1])}" if known else "none"
    text = given if given is not None else round_from_path(root)
    ruleset = None if text is None else ruleset_of(text)
    if ruleset is None:
        if given is not None:
            return None, None, f"{given!r} is not a round (write it as v4.0)"
        return None, None, ("the round is not known: no folder on the path is named after one "
                            f"(training_results_v4.0); give it with --round (rounds with {benchmark}: {span})")
    name = round_name(ruleset)
    if ruleset not in known:
        return name, None, f"mlperf-logging has no {benchmark} rules for round {name} (it has {span})"
    return name, ruleset, None
