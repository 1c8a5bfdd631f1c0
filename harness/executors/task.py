"""One run as a unit of work, and the worker side that every executor shares.

A worker trains a run in a temporary folder of its own and hands back the text of the run's log
(mllog.txt), never a file in the submission: the driver derives the record from that text
(harness.record) and publishes both. So workers need no shared file system, and a worker killed
half-way leaves nothing behind (its temporary folder is gone with it, or removed on the way out).

A run over several processes (one per GPU of a multi-GPU run) is started here the way torchrun
starts one: torch's elastic launcher spawns the processes on this node, they form their process
group from the environment it sets (harness.distributed), and rank 0's log comes back.
"""

from __future__ import annotations

import os
import platform
import tempfile
import traceback
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from harness.distributed import Distributed
from harness.mllog import LogWriteError
from harness.runner import RunConfig, train_run
from recscale.errors import InputError, Problem
from recscale.layout import MLLOG_FILE, RunKey
from recscale.sweep import Point


@dataclass(frozen=True)
class RunTask:
    """One (point, seed) of a sweep and how to run it."""

    key: RunKey
    point: Point
    config: RunConfig
    threads: int | None = None  # torch's intra-op threads for the run (None: torch's default)
    processes: int = 1  # more than one: a multi-process run (one process per GPU), started by the task

    @property
    def label(self) -> str:
        return f"{self.key.point} seed {self.key.seed}"


@dataclass(frozen=True)
class Where:
    """Where a run ran: the host, the worker's process and its device."""

    host: str
    pid: int
    device: str  # "cpu", "cuda:0", or the GPUs a cluster gave the task ("GPU 3")
    node: str = ""  # the cluster's id of the node, when there is a cluster

    def __str__(self) -> str:
        node = f" node {self.node}" if self.node else ""
        return f"{self.host}{node} pid {self.pid} {self.device}"


@dataclass(frozen=True)
class RunReport:
    """What came back from one run: its log's text, or why there is none."""

    task: RunTask
    where: Where | None
    log_text: str | None = None  # the finished run's mllog.txt (on the main process of a run)
    error: str | None = None  # why the run failed: its traceback, or what the executor saw (a worker died)
    problems: tuple[Problem, ...] = ()  # bad input the run found: it stops the sweep, as an InputError


StartHook = Callable[[RunTask, Where], None]


class Executor(Protocol):
    """Trains runs and reports each when it is done (in any order); `started` is told when one starts.
    Closing the generator it returns stops what is still out."""

    def run(self, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]: ...


def this_process(device: str, dist: Distributed) -> Where:
    """This process as a place a run runs."""
    return Where(platform.node(), os.getpid(), f"cuda:{dist.local_rank}" if device == "cuda" else "cpu")


def execute_run(task: RunTask, where: Where, dist: Distributed | None = None) -> RunReport:
    """Train `task` in a temporary folder and report its log's text; a run that raises is reported
    with its traceback (an InputError with its problems), an interrupt goes through."""
    if task.processes > 1:
        return execute_processes(task, where)
    dist = dist or Distributed.single()
    if task.threads is not None:
        torch.set_num_threads(task.threads)
    with tempfile.TemporaryDirectory(prefix="recscale-run-") as folder:
        try:
            train_run(task.point, task.key.seed, task.config, Path(folder), dist)
        except InputError as err:
            return RunReport(task, where, problems=tuple(err.problems))
        except LogWriteError:
            raise  # this machine cannot hold a run's log (disk full): every next run here would fail alike
        except Exception:  # a broken run is reported, and the sweep goes on
            return RunReport(task, where, error=traceback.format_exc())
        text = (Path(folder) / MLLOG_FILE).read_text(encoding="utf-8") if dist.is_main else None
    return RunReport(task, where, log_text=text)


def _rank_main(task: RunTask, where: Where) -> RunReport:
    """One process of a multi-process run (the elastic launcher set RANK, WORLD_SIZE, ...)."""
    dist = Distributed.from_env(task.config.device)
    try:
        report = execute_run(RunTask(task.key, task.point, task.config, task.threads), where, dist)
    finally:
        dist.close()
    if report.error or report.problems:  # exit with an error, so that the launcher stops the other processes
        raise RuntimeError(report.error or "\n".join(str(problem) for problem in report.problems))
    return report


def execute_processes(task: RunTask, where: Where) -> RunReport:
    """Train `task` over `task.processes` processes on this node; rank 0's report comes back."""
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=task.processes, run_id=uuid.uuid4().hex,
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    try:
        reports = elastic_launch(config, _rank_main)(task, where)
    except Exception:  # a process of the run failed: the launcher's error names it
        return RunReport(task, where, error=traceback.format_exc())
    return reports[0]
