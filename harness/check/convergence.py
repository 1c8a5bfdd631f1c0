"""The convergence concern (RULES.md CONV-2, CONV-3): samples-to-target against the reference results.

Like MLPerf Training's reference convergence points, a closed-division system that reaches a
point's target in significantly fewer training samples than the reference runs of that point is
flagged; the test is a one-sided two-sample Student t-test (formula in RULES.md CONV-2).
Reference results are the folders given, by default the `submissions/reference*/` folders of the
current directory (the repository's, when run from its root); they are read as data (result.json
files), never run.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from harness.check.findings import Findings
from harness.check.rules import RunCheck
from recscale.errors import InputError, Problem
from recscale.layout import RESULTS_DIR, SubmissionLayout

ALPHA = 0.05
MIN_REFERENCE_RUNS = 2
PointKey = tuple[str, int, str, str]  # workload id, version, point id, spec sha256
DEFAULT_REFERENCES = Path("submissions")  # relative: the current directory's
REFERENCE_PATTERN = "reference*"


@dataclass(frozen=True)
class Band:
    """The outcome of CONV-2 for one point and system."""

    reference_mean: float
    sigma: float
    bound: float  # the smallest mean samples-to-target that passes
    submission_mean: float

    @property
    def flagged(self) -> bool:
        return self.submission_mean < self.bound


def band(reference: list[int], submission: list[int], resolution: float, alpha: float = ALPHA) -> Band:
    """RULES.md CONV-2 for one point: needs len(reference) >= 2 and len(submission) >= 1.

    bound = mean(r) + t(alpha; n + m - 2) * sigma * sqrt(1/n + 1/m), sigma = max(stdev(r), resolution).
    """
    m, n = len(reference), len(submission)
    if m < MIN_REFERENCE_RUNS or n < 1:
        raise ValueError(f"need >= {MIN_REFERENCE_RUNS} reference runs and >= 1 submission run, got {m} and {n}")
    mean_r = statistics.fmean(reference)
    sigma = max(statistics.stdev(reference), resolution)
    bound = mean_r + float(stats.t.ppf(alpha, n + m - 2)) * sigma * math.sqrt(1 / n + 1 / m)
    return Band(mean_r, sigma, bound, statistics.fmean(submission))


def reference_roots(explicit: Sequence[Path] | None, own_root: Path) -> list[Path]:
    """The reference submissions: those given, else ./submissions/reference*/; never the one checked."""
    if explicit is not None:
        missing = [p for p in explicit if not Path(p).is_dir()]
        if missing:
            raise InputError([Problem(str(p), "", "no such reference folder") for p in missing])
        roots = [Path(p) for p in explicit]
    else:
        folder = DEFAULT_REFERENCES
        roots = sorted(p for p in folder.glob(REFERENCE_PATTERN) if p.is_dir()) if folder.is_dir() else []
    own = own_root.resolve()
    return [r for r in roots if r.resolve() != own]


def load_references(roots: list[Path]) -> dict[PointKey, list[int]]:
    """samples_to_target of every successful reference run, by point (links are not followed)."""
    found: dict[PointKey, list[int]] = defaultdict(list)
    for root in roots:
        for path, result in SubmissionLayout(root).finished_runs():
            if any(os.path.islink(p) for p in (path, *path.parents[:5])):
                continue
            if result.division != "closed" or result.status != "success":
                continue
            if result.samples_to_target is not None:
                key = (result.workload_id, result.workload_version, result.point_id, result.spec_sha256)
                found[key].append(result.samples_to_target)
    return dict(found)


def check(runs: list[RunCheck], references: dict[PointKey, list[int]], out: Findings) -> None:
    """CONV-2 for every closed (system, point) of the submission; CONV-3 notes where it cannot."""
    groups: dict[tuple[str, PointKey], list[RunCheck]] = defaultdict(list)
    for run in runs:
        result = run.result
        if result is None or result.division != "closed" or run.point is None:
            continue
        key = (result.workload_id, result.workload_version, result.point_id, run.point.spec_sha256)
        groups[(result.system, key)].append(run)
    for (system, key), members in sorted(groups.items()):
        where = f"{RESULTS_DIR}/{system}/{key[0]}/{key[2]}/"
        samples = [r.result.samples_to_target for r in members
                   if r.result is not None and r.result.status == "success" and r.result.samples_to_target is not None]
        reference = references.get(key, [])
        if len(reference) < MIN_REFERENCE_RUNS or not samples:
            why = (f"{len(reference)} successful reference run(s), {MIN_REFERENCE_RUNS} needed"
                   if len(reference) < MIN_REFERENCE_RUNS else "no successful run to compare")
            out.note("CONV-3", where, f"convergence band not tested: {why}")
            continue
        spec = members[0].point.spec  # type: ignore[union-attr]  (groups hold runs with a point)
        resolution = spec.training.eval_every * spec.data.train_rows * spec.training.passes
        outcome = band(reference, samples, resolution)
        if outcome.flagged:
            out.error("CONV-2", where, f"mean samples to target {outcome.submission_mean:,.0f} over {len(samples)} "
                      f"run(s) is below the convergence band {outcome.bound:,.0f} (reference mean "
                      f"{outcome.reference_mean:,.0f} over {len(reference)} runs, sigma {outcome.sigma:,.0f}, "
                      f"one-sided t-test at {ALPHA})")
