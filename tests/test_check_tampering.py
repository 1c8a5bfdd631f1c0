"""Checker findings of the fault campaign (issue 14): numbers that overflow, empty folders, a run
copied and relabelled as another seed. Each is an error with a rule id, never a crash or a pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from submission_factory import (
    edit_events,
    edit_json,
    index_of,
    make_submission,
    run_folders,
    workload_variant,
    write_manifest,
)

from harness.check import check_submission
from harness.check.agreement import same
from harness.check.rules import learning_curve
from harness.cli import main
from harness.runlog import as_number
from recscale.records import RunResult

REPO = Path(__file__).resolve().parent.parent
TWO_SEEDS = {"runs_per_point": 2}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid submissions: smoke (one run per point), and smoke with two seeds per point."""
    root = tmp_path_factory.mktemp("bases")
    workload = workload_variant(REPO / "workloads" / "smoke.yaml", root / "smoke.yaml", **TWO_SEEDS)
    return {"smoke": make_submission(root / "smoke"), "two": make_submission(root / "two", workload)}


def copy_of(bases: dict[str, Path], name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(bases[name], root)
    return root


def errors(root: Path) -> list[str]:
    """The errors of a check against the submission's own workload copy (smoke with two seeds is not
    the repository's smoke)."""
    report = check_submission(root, workloads=[root / "workloads"], references=[])
    return [f.line() for f in report.errors]


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1" * 5000, "1E400"])
def test_a_number_a_float_cannot_hold_is_sub_2_not_a_crash(bases, tmp_path, capsys, number):
    root = copy_of(bases, "smoke", tmp_path)
    result = run_folders(root)[0] / "result.json"
    text = result.read_text()
    result.write_text(text.replace('"lr": 0.05', f'"lr": {number}', 1))
    assert result.read_text() != text
    found = errors(root)
    assert any(line.startswith("SUB-2") and "result.json" in line for line in found), found
    assert main(["check", str(root), "--no-references"]) == 1
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.parametrize("empty", ["results/other-system", "results/factory-cpu/other-workload",
                                   "results/factory-cpu/smoke/data.fraction=0.25"])
def test_an_empty_results_folder_is_not_a_run(bases, tmp_path, empty):
    root = copy_of(bases, "smoke", tmp_path)
    (root / empty).mkdir()
    level = {2: "system", 3: "workload", 4: "point"}[len(Path(empty).parts)]
    assert errors(root) == [f"SUB-1  {empty}/: a {level} folder without a run folder (run_<seed>/): an empty folder "
                            "is not a run; remove it"]


def relabel(source: Path, seed: int) -> Path:
    """Copy a run folder as run_<seed>, its seed changed in result.json and the log: the curve stays."""
    target = source.with_name(f"run_{seed}")
    shutil.copytree(source, target)
    edit_json(target / "result.json", lambda doc: doc.update(seed=seed))
    edit_events(target / "mllog.txt", lambda ev: ev[index_of(ev, "seed")].update(value=seed))
    return target


def test_two_seeds_of_a_point_pass(bases):
    assert errors(bases["two"]) == []


def test_a_run_copied_as_another_seed_is_run_2(bases, tmp_path):
    root = copy_of(bases, "two", tmp_path)
    original = run_folders(root)[0]
    shutil.rmtree(original.with_name("run_1"))
    relabel(original, 1)
    write_manifest(root)
    found = errors(root)
    assert len(found) == 1 and found[0].startswith(f"RUN-2  {original.relative_to(root).parent}/run_1/result.json: "
                                                   "the same learning curve as"), found


def test_the_same_seed_on_two_systems_may_learn_the_same(bases, tmp_path):
    """Determinism is not copying: seed 0 on two systems of one deterministic stack is two runs."""
    root = copy_of(bases, "smoke", tmp_path)
    make_submission(root, system="second-cpu")
    for folder in run_folders(root / "results" / "factory-cpu"):
        twin = root / "results" / "second-cpu" / folder.relative_to(root / "results" / "factory-cpu")
        assert curve_of(folder) == curve_of(twin)
    assert errors(root) == []


def curve_of(folder: Path) -> object:
    return learning_curve(RunResult.model_validate_json((folder / "result.json").read_bytes()))


def test_runs_without_a_finite_evaluation_are_not_compared(tmp_path):
    """Two seeds that diverged before their first evaluation have nothing to tell apart."""
    workload = workload_variant(REPO / "workloads" / "smoke.yaml", tmp_path / "smoke.yaml", **TWO_SEEDS)
    root = make_submission(tmp_path / "sub", workload, reach=lambda p, s: None, diverge=lambda p, s: 0)
    assert all(not json.loads((f / "result.json").read_text())["curve"] for f in run_folders(root))
    assert errors(root) == []


def test_integers_too_large_for_a_float_are_compared_not_converted(bases, tmp_path):
    """A 400-digit integer in a spec (strict JSON allows up to 4,300 digits) is a different spec, not a
    crash of the comparison (float(10**400) overflows), and a 5,000-digit one in a log is a bad line."""
    assert not same(10**400, 1e308) and same(2, 2.0) and not same(2**53 + 1, float(2**53))
    assert as_number(10**400) is None and as_number(7) == 7.0
    root = copy_of(bases, "smoke", tmp_path)
    edit_json(run_folders(root)[0] / "result.json", lambda doc: doc["spec"]["training"].update(batch_size=10**400))
    log = run_folders(root)[1] / "mllog.txt"
    lines = log.read_text().splitlines()
    seed = next(i for i, line in enumerate(lines) if '"key": "seed"' in line)
    lines[seed] = lines[seed].replace('"value": 0', '"value": ' + "7" * 5000)  # smoke's seed is 0
    log.write_text("\n".join(lines) + "\n")
    found = errors(root)
    assert any(line.startswith("CLOSED-3") and "training.batch_size" in line for line in found), found
    assert any(line.startswith("LOG-1") and "4300 digits" in line for line in found), found


def test_a_finding_is_one_line_whatever_a_folder_is_called(bases, tmp_path):
    root = copy_of(bases, "smoke", tmp_path)
    point = run_folders(root)[0].parent
    shutil.copytree(point, point.with_name(point.name + "\nFAIL  forged"))
    report = check_submission(root, workloads=[root / "workloads"], references=[])
    assert report.errors and all("\n" not in f.line() for f in report.errors)
    assert any("\\nFAIL  forged" in f.file for f in report.errors)
