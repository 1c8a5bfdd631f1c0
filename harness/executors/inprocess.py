"""The in-process executor (the default): the runs one after another in this process.

Under torchrun every process of the run executes each task together; only rank 0 writes a log,
and harness.submission takes rank 0's report as the run's on every rank.
"""

from __future__ import annotations

from collections.abc import Generator

from harness.distributed import Distributed
from harness.executors.task import RunReport, RunTask, StartHook, execute_run, this_process


class InProcessExecutor:
    def __init__(self, dist: Distributed | None = None):
        self.dist = dist or Distributed.single()

    def run(self, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]:
        for task in tasks:
            where = this_process(task.config.device, self.dist)
            started(task, where)
            yield execute_run(task, where, self.dist)
