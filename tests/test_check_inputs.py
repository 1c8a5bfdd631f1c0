"""The checker's inputs are explicit: the workloads (given ones, then the submission's copies) and the
reference submissions are arguments with defaults from the current directory, never the repository's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from submission_factory import make_submission, workload_variant

from harness.check import check_submission
from harness.check.catalogue import GivenWorkloads
from harness.cli import main
from recscale.errors import InputError
from recscale.load import resolve_workload
from recscale.resources import packaged_workloads

SMOKE = packaged_workloads() / "smoke.yaml"


def own_workload(folder: Path, lr: float = 0.05) -> Path:
    """The smoke workload as my-study, in a file outside the repository (its name need not be the id
    when the file is named directly)."""
    return workload_variant(SMOKE, folder / "my.yaml", id="my-study", training__optimizer__dense__lr=lr)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A closed submission of a workload that lives outside the repository, with and without its copy."""
    root = tmp_path_factory.mktemp("own")
    workload = own_workload(root / "elsewhere")
    return {"workload": workload, "with_copy": make_submission(root / "with", workload),
            "without_copy": make_submission(root / "without", workload, keep_workload=False)}


def test_a_workload_outside_the_repository_is_checked_against_the_submission_copy(own):
    report = check_submission(own["with_copy"], references=[])
    assert report.passed, [f.line() for f in report.errors]
    (note,) = [f for f in report.notes if f.rule == "CLOSED-1"]
    assert note.file == "workloads/my-study.yaml"
    assert "checked against this copy" in note.message and "--workloads FILE|DIR" in note.message


def test_without_a_copy_closed1_says_how_to_give_the_workload(own):
    report = check_submission(own["without_copy"], references=[])
    assert report.failed_rules() == ["CLOSED-1"]
    assert all("--workloads FILE|DIR" in f.message and "no copy of it in the submission" in f.message
               for f in report.errors)


def test_a_workload_given_by_file_is_used_without_a_note(own):
    for root in (own["with_copy"], own["without_copy"]):
        report = check_submission(root, references=[], workloads=[own["workload"]])
        assert report.passed, [f.line() for f in report.errors]
        assert not [f for f in report.notes if f.rule == "CLOSED-1"]
        assert report.workloads[0] == str(own["workload"])
        assert report.workloads[-1] == str(packaged_workloads())  # the shipped ones are always searched


def test_a_copy_that_is_not_what_ran_fails(own, tmp_path):
    """The copy is only trusted as far as the runs match it: a copy edited after the runs fails CLOSED-3."""
    root = tmp_path / "sub"
    shutil.copytree(own["with_copy"], root)
    copy = root / "workloads" / "my-study.yaml"
    copy.write_text(copy.read_text().replace("lr: 0.05", "lr: 0.07"))
    report = check_submission(root, references=[])
    assert "CLOSED-3" in report.failed_rules()


def test_a_copy_conflicting_with_a_given_workload_fails_sub6(own, tmp_path):
    changed = own_workload(tmp_path / "other", lr=0.07)
    report = check_submission(own["with_copy"], references=[], workloads=[changed])
    assert "SUB-6" in report.failed_rules()
    assert any("the resolved spec of point" in f.message for f in report.errors if f.rule == "SUB-6")
    assert "CLOSED-3" in report.failed_rules()  # the runs are checked against the given workload


def test_the_shipped_workloads_need_no_repository(tmp_path, monkeypatch):
    root = make_submission(tmp_path / "sub")
    monkeypatch.chdir(tmp_path)  # no ./workloads, no ./submissions here
    report = check_submission(root)
    assert report.passed, [f.line() for f in report.errors]
    assert report.workloads == [str(packaged_workloads())] and report.references == []


def test_local_workloads_come_before_the_shipped_ones(tmp_path, monkeypatch):
    root = make_submission(tmp_path / "sub", keep_workload=False)
    local = tmp_path / "cwd" / "workloads"
    local.mkdir(parents=True)
    (local / "smoke.yaml").write_text(SMOKE.read_text().replace("version: 2", "version: 3"))
    monkeypatch.chdir(tmp_path / "cwd")
    report = check_submission(root, references=[])
    assert report.failed_rules() == ["CLOSED-1"]
    assert "at version 3 in workloads/smoke.yaml" in report.errors[0].message


def test_default_references_are_the_current_directory_s(tmp_path, monkeypatch):
    reference = make_submission(tmp_path / "submissions" / "reference-x")
    root = make_submission(tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    assert check_submission(root).references == ["submissions/reference-x"]
    assert check_submission(reference).references == []  # never its own reference


def test_missing_or_broken_given_workloads_are_bad_input(own, tmp_path):
    with pytest.raises(InputError, match="no such workload file or folder"):
        check_submission(own["with_copy"], workloads=[tmp_path / "nope.yaml"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [")
    with pytest.raises(InputError, match="YAML syntax error"):
        check_submission(own["with_copy"], workloads=[broken])


def test_an_untrusted_workload_id_never_leads_out_of_a_folder(tmp_path):
    (tmp_path / "workloads").mkdir()
    (tmp_path / "secret.yaml").write_text(SMOKE.read_text())
    given = GivenWorkloads([tmp_path / "workloads"])
    assert given.find("../secret") is None
    with pytest.raises(InputError, match="no such workload file"):
        resolve_workload("../secret", [tmp_path / "workloads"])


def test_cli_workloads_and_references(own, tmp_path, capsys):
    assert main(["check", str(own["without_copy"]), "--workloads", str(own["workload"]), "--no-references",
                 "-v"]) == 0
    out = capsys.readouterr().out
    assert f"workloads:  {own['workload']}" in out and "references: none" in out and out.rstrip().endswith(
        "note(s)")
    assert main(["check", str(own["without_copy"]), "--no-references"]) == 1
    assert main(["check", str(own["with_copy"]), "--workloads", str(tmp_path / "nope")]) == 2
    assert "no such workload file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["check", str(own["with_copy"]), "--references", str(tmp_path), "--no-references"])
    assert refused.value.code == 2
    assert main(["check", str(own["with_copy"]), "--mlperf", "--workloads", str(own["workload"])]) == 2
