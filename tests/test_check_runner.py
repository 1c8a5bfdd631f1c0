"""A submission made by the real runner (harness.submission.run_sweep) passes `recscale check`.

The runner captures what the machine can tell about the system; the fields only the submitter
knows stay empty, so a fresh submission fails SYS-1 alone until they are filled in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.check import check_submission
from recscale.resources import packaged_workloads
from recscale.system import REQUIRED_FIELDS

SMALLEST_POINT = "data.fraction=0.5,model.bottom_mlp=32-4,model.embedding.dim=4"


def run_smoke(root: Path, data_root: Path, points: list[str] | None, backend: str = "torch") -> None:
    from harness.runner import RunConfig
    from harness.submission import run_sweep

    config = RunConfig(submitter="acme", division="closed", system="test-cpu", backend=backend, device="cpu",
                       data_root=data_root, progress=False)
    outcome = run_sweep(packaged_workloads() / "smoke.yaml", root, config, point_ids=points, announce=lambda _: None)
    assert not outcome.failed, outcome.failed


def fill_system(root: Path) -> None:
    """What a submitter does before checking: fill the fields the machine could not tell."""
    path = next((root / "systems").glob("*.json"))
    system = json.loads(path.read_text())
    for name in REQUIRED_FIELDS:
        system[name] = system[name] or "filled by the submitter"
    system["status"] = "research"
    path.write_text(json.dumps(system, indent=2))


def test_a_runner_submission_passes(tmp_path):
    root = tmp_path / "submission"
    run_smoke(root, tmp_path / "data", [SMALLEST_POINT])
    before = check_submission(root, references=[])
    assert before.failed_rules() == ["SYS-1"], [f.line() for f in before.errors]
    fill_system(root)
    report = check_submission(root, references=[])
    assert report.passed, [f.line() for f in report.errors]
    assert report.runs == 1 and [f.rule for f in report.notes] == ["CONV-3"]


@pytest.mark.slow
def test_the_whole_smoke_sweep_passes_with_torchrec(tmp_path):
    root = tmp_path / "submission"
    run_smoke(root, tmp_path / "data", None, backend="torchrec")
    fill_system(root)
    report = check_submission(root, references=[])
    assert report.passed, [f.line() for f in report.errors]
    assert report.runs == 4
