"""A run whose log cannot be written (disk full) fails once, cleanly (issue 14).

logging's handlers print a traceback per failed event and carry on: a full disk gave 111 of them
and a run that trained on with a truncated log. Now the event that could not be written raises
LogWriteError, the sweep stops with one line (exit 3: the machine, not the rules), nothing of the run
reaches the submission (it trained in a folder of its own), and the same command again redoes it.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from submission_factory import workload_variant

import harness.mllog
from harness.check import check_submission
from harness.cli import main
from harness.mllog import LogWriteError, RunLog
from recscale.layout import LOCK_FILE

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
NO_SPACE = os.strerror(errno.ENOSPC)


class FullDisk:
    """A text file on a disk with `room` characters left: the write that does not fit raises ENOSPC
    after writing what fits, as write(2) does."""

    def __init__(self, path: str, room: int):
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close(), as a stream is)
        self._room = room
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if len(text) > self._room:
            self._file.write(text[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, NO_SPACE)
        self._room -= len(text)
        return self._file.write(text)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> list[FullDisk]:
    """Every run log opened from now on has 3,000 characters of room (the hyper-parameters do not fit)."""
    opened: list[FullDisk] = []

    def open_full(handler: logging.FileHandler) -> Any:
        opened.append(FullDisk(handler.baseFilename, 3000))
        return opened[-1]

    monkeypatch.setattr(harness.mllog._StrictFileHandler, "_open", open_full)
    return opened


def test_the_event_that_does_not_fit_raises_once_and_nothing_follows_it(full_disk, tmp_path, capsys):
    path = tmp_path / "mllog.txt"
    log = RunLog(path)
    log.event("seed", 0)
    with pytest.raises(LogWriteError) as failed:
        for i in range(100):
            log.event("filler", "x" * 100, metadata={"i": i})
    assert failed.value.errno == errno.ENOSPC
    assert str(path) in str(failed.value) and NO_SPACE in str(failed.value)
    writes = full_disk[0].writes
    with pytest.raises(LogWriteError):
        log.event("later", 1)
    assert full_disk[0].writes == writes  # the handler failed for good: nothing is written after the hole
    log.close()  # the error was raised already: closing does not raise it again
    assert "Logging error" not in capsys.readouterr().err
    assert len(path.read_text()) == 3000


def test_a_log_that_cannot_be_opened_is_a_log_write_error(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "mllog.txt").mkdir()  # a folder where the file should be: open fails
    with pytest.raises(LogWriteError, match="cannot write the run log"):
        RunLog(tmp_path / "ro" / "mllog.txt")


def run_args(sub: Path, tmp_path: Path) -> list[str]:
    """`recscale run` of tiny with one run per point (two runs in all)."""
    workload = workload_variant(TINY, tmp_path / "tiny.yaml", runs_per_point=1)
    return ["run", str(workload), "--submission", str(sub), "--submitter", "test-org", "--backend", "torch",
            "--system", "box", "--status", "research", "--data-root", str(tmp_path / "data"), "--no-progress"]


def test_a_full_disk_stops_the_sweep_with_one_line_and_the_run_is_redone(full_disk, tmp_path, capsys, monkeypatch):
    sub = tmp_path / "sub"
    assert main(run_args(sub, tmp_path)) == 3
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count(NO_SPACE) == 1 and "cannot write the run log" in err
    assert len(full_disk) == 1, "the sweep stops at the first run: every next run would fail alike"
    # The run trained in a folder of its own: nothing of it reached the submission, the lock is released.
    assert not list(sub.glob("results/box/tiny/*/run_*")) and not (sub / LOCK_FILE).exists()

    monkeypatch.undo()  # space freed: the same command redoes the run and finishes the sweep
    assert main(run_args(sub, tmp_path)) == 0
    report = check_submission(sub, references=[])
    assert report.passed, [f.line() for f in report.errors]
