"""Layout of a submission folder: the one place that knows where each file of a submission lives.

    <root>/submission.json                                   SubmissionManifest
    <root>/systems/<system>.json                             SystemDescription
    <root>/results/<system>/<workload>/<point>/run_<seed>/result.json   RunResult
    <root>/results/<system>/<workload>/<point>/run_<seed>/mllog.txt     ":::MLLOG {json}" lines
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from recscale.io import sha256_file
from recscale.records import ManifestRun, RunResult

RESULT_FILE = "result.json"
MLLOG_FILE = "mllog.txt"
MANIFEST_FILE = "submission.json"


def run_dir(root: Path, system: str, workload: str, point: str, seed: int) -> Path:
    return root / "results" / system / workload / point / f"run_{seed}"


def system_file(root: Path, system: str) -> Path:
    return root / "systems" / f"{system}.json"


def read_result(path: Path) -> RunResult | None:
    """The run record at `path`, or None when it is missing or not a valid record (unfinished)."""
    try:
        return RunResult.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def collect_runs(root: Path) -> list[ManifestRun]:
    """Every finished run under `root`, found on disk (so the manifest is never out of step)."""
    runs = []
    for result_path in sorted(root.glob(f"results/*/*/*/run_*/{RESULT_FILE}")):
        result = read_result(result_path)
        if result is None:
            continue
        runs.append(ManifestRun(
            system=result.system, workload=result.workload_id, point=result.point_id, seed=result.seed,
            status=result.status, path=str(result_path.parent.relative_to(root)),
            result_sha256=sha256_file(result_path),
        ))
    return runs
