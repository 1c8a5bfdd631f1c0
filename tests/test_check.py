"""`recscale check` end to end: exit codes, one line per finding, the JSON report and its schema."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from submission_factory import edit_json, make_submission, run_folders

from harness import cli
from harness.check import CheckReport, check_submission
from recscale.errors import InputError
from recscale.resources import load_schema


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_submission(tmp_path_factory.mktemp("valid") / "sub")


def test_valid_submission_passes_and_exits_0(valid, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = cli.main(["check", str(valid), "--json", str(report_path), "--no-reference"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[-1].startswith(f"PASS  {valid}: 4 run(s)")
    document = json.loads(report_path.read_text())
    Draft202012Validator(load_schema("check_report")).validate(document)
    report = CheckReport.model_validate(document)
    assert report.passed and report.runs == 4 and report.division == "closed"
    assert {r.rule for r in report.rules} >= {"SUB-1", "LOG-6", "CLOSED-3", "CONV-2"}


def test_broken_submission_exits_1_with_one_line_per_finding(valid, tmp_path, capsys):
    root = tmp_path / "sub"
    shutil.copytree(valid, root)
    (root / "stray.bin").write_bytes(b"\x00")
    edit_json(run_folders(root)[1] / "result.json", lambda d: d.update(seed=3))
    code = cli.main(["check", str(root), "--no-reference"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "FILE-3  stray.bin: unknown file: not part of the submission layout (RULES.md SUB-1)" in lines
    assert any(line.startswith("SUB-4  results/") and "seed 3 but the folder says 0" in line for line in lines)
    assert lines[-1].startswith(f"FAIL  {root}:") and "FILE-3" in lines[-1]


def test_unreadable_submission_exits_2(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "nope")]) == 2
    assert "no such submission folder" in capsys.readouterr().err
    assert cli.main(["check", str(tmp_path), "--reference", str(tmp_path / "missing")]) == 2
    with pytest.raises(InputError):
        check_submission(tmp_path / "nope")


def test_empty_folder_is_a_broken_submission(tmp_path):
    report = check_submission(tmp_path, references=[])
    assert not report.passed
    assert {"SUB-1"} == set(report.failed_rules())


def test_notes_are_printed_with_verbose(valid, capsys):
    cli.main(["check", str(valid), "--no-reference", "--verbose"])
    out = capsys.readouterr().out
    assert "CONV-3 (note)" in out


def test_check_never_imports_from_the_submission(valid, tmp_path):
    """FILE-4: python files in a submission are reported, never imported or run."""
    root = tmp_path / "sub"
    shutil.copytree(valid, root)
    (root / "results" / "conftest.py").write_text("raise SystemExit('imported!')\n")
    (root / "harness.py").write_text("raise SystemExit('imported!')\n")
    before = set(sys.modules)
    report = check_submission(root, references=[])
    assert "FILE-3" in report.failed_rules()
    assert not any("conftest" in name for name in set(sys.modules) - before)


def test_undecodable_file_names_are_reported(valid, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(valid, root)
    name = b"\xff\xfe.json".decode("utf-8", "surrogateescape")
    (root / "systems" / name).write_text("{}")
    report = check_submission(root, references=[])
    assert not report.passed
    report.model_dump_json()  # the report serialises (no lone surrogates)
