"""`recscale run` against bad names, a busy or read-only submission and misplaced folders (issue 14),
and the workload copy it keeps; the CLI's exit codes for errors nobody anticipated."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from submission_factory import workload_variant

import harness.lock
import harness.submission
from harness.check import check_submission
from harness.cli import main
from harness.lock import hold_submission
from harness.runner import RunConfig
from harness.submission import run_sweep
from recscale.errors import InputError
from recscale.layout import LOCK_FILE, RunKey, SubmissionLayout

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
POINT = "data.fraction=0.5"


def run_args(workload: Path, sub: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["run", str(workload), "--submission", str(sub), "--submitter", "test-org", "--backend", "torch",
            "--data-root", str(tmp_path / "data"), "--no-progress", "--points", POINT, "--seeds", "0", *extra]


def config(tmp_path: Path) -> RunConfig:
    return RunConfig(submitter="test-org", division="closed", system="testbox", backend="torch", device="cpu",
                     data_root=tmp_path / "data", progress=False)


def outside_workload(folder: Path, lr: float = 0.05) -> Path:
    """tiny.yaml copied outside the repository, one run per point."""
    return workload_variant(TINY, folder / "tiny.yaml", runs_per_point=1, training__optimizer__dense__lr=lr)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A submission with one finished run of tiny, run from a file outside the repository."""
    tmp = tmp_path_factory.mktemp("finished")
    workload = outside_workload(tmp / "elsewhere")
    sub = tmp / "sub"
    outcome = run_sweep(workload, sub, config(tmp), point_ids=[POINT], seeds=[0], announce=lambda _: None)
    assert len(outcome.ran) == 1
    return {"workload": workload, "sub": sub, "tmp": tmp}


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "-x", "x\n", "a" * 201])
def test_unsafe_system_names_are_refused_at_the_cli_and_in_the_layout(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        main(run_args(TINY, tmp_path / "sub", tmp_path, "--system", name))
    assert refused.value.code == 2 and "--system" in capsys.readouterr().err
    with pytest.raises(InputError):
        SubmissionLayout(tmp_path / "sub").system_file(name)
    with pytest.raises(InputError):
        SubmissionLayout(tmp_path / "sub").run_dir(RunKey("ok", "tiny", name, 0))
    assert sorted(os.listdir(tmp_path)) == []  # nothing written anywhere


def test_negative_seeds_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        main([*run_args(TINY, tmp_path / "sub", tmp_path), "--seeds", "-1"])
    assert refused.value.code == 2 and "non-negative" in capsys.readouterr().err
    with pytest.raises(InputError, match="non-negative"):
        SubmissionLayout(tmp_path).run_dir(RunKey("ok", "tiny", POINT, -1))


def test_unsafe_names_fail_before_anything_is_written(tmp_path):
    bad = RunConfig(**{**config(tmp_path).__dict__, "system": "../escape"})
    with pytest.raises(InputError, match="not a valid name"):
        run_sweep(TINY, tmp_path / "sub", bad, point_ids=[POINT], seeds=[0], announce=lambda _: None)
    assert not (tmp_path / "sub").exists() and not (tmp_path / "escape").exists()


def test_a_submission_under_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(run_args(TINY, tmp_path / "file" / "sub", tmp_path, "--system", "box")) == 2
    assert "which is a file" in capsys.readouterr().err
    assert main(run_args(TINY, tmp_path / "file", tmp_path, "--system", "box")) == 2
    assert "is a file: a submission is a folder" in capsys.readouterr().err


def test_one_writer_at_a_time_and_the_refusal_names_the_holder(tmp_path, capsys):
    sub = tmp_path / "sub"
    with hold_submission(sub):
        assert (sub / LOCK_FILE).is_file()
        with pytest.raises(InputError) as busy, hold_submission(sub):
            pass
        message = str(busy.value)
        assert f"pid {os.getpid()} on {socket.gethostname()} since 20" in message
        assert main(run_args(TINY, sub, tmp_path, "--system", "box")) == 2  # refused before any training
        assert "another `recscale run` is writing this submission" in capsys.readouterr().err
        assert not (sub / "results").exists()
    assert not (sub / LOCK_FILE).exists()
    with hold_submission(sub):  # released: the next writer gets it
        pass


def test_a_killed_holder_leaves_no_lock_but_its_name_file_is_flagged(tmp_path, finished):
    sub = tmp_path / "sub"
    import shutil

    shutil.copytree(finished["sub"], sub)
    (sub / LOCK_FILE).write_text('{"pid": 1, "host": "gone", "since": "then", "command": "recscale run"}\n')
    report = check_submission(sub, references=[])
    assert any(f.rule == "FILE-3" and "run it again" in f.message for f in report.errors)
    with hold_submission(sub):  # the kernel released the killed holder's lock
        pass
    assert not (sub / LOCK_FILE).exists()


def test_a_finished_sweep_on_a_read_only_submission_writes_nothing(finished, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied (read-only submission)")

    for module in (harness.submission, harness.lock):
        for name in ("atomic_write_json", "atomic_write_text"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)
    outcome = run_sweep(finished["workload"], finished["sub"], config(finished["tmp"]), point_ids=[POINT],
                        seeds=[0], announce=lambda _: None)
    assert not outcome.ran and len(outcome.skipped) == 1


def test_the_submission_keeps_the_workload_it_ran(finished, tmp_path):
    copy = SubmissionLayout(finished["sub"]).workload_file("tiny")
    assert copy.read_text() == finished["workload"].read_text()
    report = check_submission(finished["sub"], references=[])
    assert [f.rule for f in report.errors] == ["SYS-1"]  # only what the submitter fills in
    assert any(f.rule == "CLOSED-1" and "checked against this copy" in f.message for f in report.notes)
    changed = outside_workload(tmp_path / "changed", lr=0.07)
    with pytest.raises(InputError, match="already holds runs of another workload tiny"):
        run_sweep(changed, finished["sub"], config(finished["tmp"]), point_ids=["data.fraction=1.0"], seeds=[0],
                  announce=lambda _: None)


def test_unexpected_errors_exit_3_with_one_line(monkeypatch, capsys, tmp_path):
    def crash(args: object) -> int:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr("harness.commands.workloads.cmd_ls", crash)
    monkeypatch.delenv("RECSCALE_DEBUG", raising=False)
    assert main(["ls"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError): something nobody expected" in err
    monkeypatch.setenv("RECSCALE_DEBUG", "1")
    assert main(["ls"]) == 3
    assert "Traceback" in capsys.readouterr().err

    def disk_full(args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("harness.commands.workloads.cmd_ls", disk_full)
    monkeypatch.delenv("RECSCALE_DEBUG")
    assert main(["ls"]) == 3
    assert capsys.readouterr().err == "recscale: error: [Errno 28] No space left on device\n"
