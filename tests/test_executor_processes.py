"""A run over several processes started by its own task (what `--executor ray --gpus-per-run N` does
on a node with N GPUs), here 2 CPU processes with gloo and TorchRec's DMP, as torchrun would start
them: rank 0's log comes back, and one process failing fails the run instead of hanging it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.executors.task import RunTask, Where, execute_run
from harness.record import derive_result
from harness.runlog import read_own_log
from harness.runner import RunConfig
from recscale.layout import RunKey
from recscale.load import load_points

pytest.importorskip("torchrec")

TINY = Path(__file__).resolve().parent / "fixtures" / "workloads" / "tiny.yaml"
POINT = "data.fraction=1.0"


def task(data_root: Path) -> RunTask:
    point = next(p for p in load_points(TINY)[1] if p.point_id == POINT)
    config = RunConfig(submitter="test-org", division="closed", system="box", backend="torchrec", device="cpu",
                       data_root=data_root, progress=False)
    return RunTask(RunKey("box", "tiny", POINT, 0), point, config, threads=1, processes=2)


@pytest.mark.slow
def test_a_task_starts_the_processes_of_its_run(tmp_path):
    work = task(tmp_path / "data")
    report = execute_run(work, Where("here", 1, "cpu"))
    assert report.error is None and report.log_text is not None, report.error
    record = derive_result(read_own_log(report.log_text, "mllog.txt"), work.point)
    assert record.harness.world_size == 2 and record.samples_seen == 8192
    assert record.final is not None and record.final.ne < 1.0  # it learned


@pytest.mark.slow
def test_a_process_that_fails_fails_the_run(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    report = execute_run(task(tmp_path / "file" / "data"), Where("here", 1, "cpu"))
    assert report.log_text is None and report.error is not None
    assert "NotADirectoryError" in report.error or "FileExistsError" in report.error, report.error
