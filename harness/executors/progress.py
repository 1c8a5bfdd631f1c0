"""What a sweep shows while it runs: one overall bar (runs done / running / queued) and one line
per finished run (point, seed, where it ran, what it gave)."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from harness.executors.task import RunTask, Where
from recscale.layout import RunKey


class SweepProgress:
    """The bar and the lines of the runs a sweep has left to do (`total`)."""

    def __init__(self, total: int, announce: Callable[[str], None], disable: bool | None):
        self.total = total
        self.done = 0
        self.running: dict[RunKey, Where] = {}
        self.announce = announce
        self.bar = tqdm(total=total, desc="runs", unit="run", disable=disable, dynamic_ncols=True)
        self._show()

    @property
    def queued(self) -> int:
        return self.total - self.done - len(self.running)

    def say(self, line: str) -> None:
        with tqdm.external_write_mode():  # the bar steps aside for the line and comes back under it
            self.announce(line)

    def started(self, task: RunTask, where: Where) -> None:
        """`task` started on `where` (again, when the worker that had it died)."""
        before = self.running.get(task.key)
        self.running[task.key] = where
        if before is not None and before != where:
            self.say(f"{task.label}: started again on {where} (the worker on {before} died)")
        self._show()

    def finished(self, task: RunTask, where: Where | None, outcome: str) -> None:
        self.running.pop(task.key, None)
        self.done += 1
        self.bar.update()
        self._show()
        self.say(f"[{self.done}/{self.total}] {task.label} on {where or 'a lost worker'}: {outcome}")

    def _show(self) -> None:
        self.bar.set_postfix_str(f"{len(self.running)} running, {self.queued} queued", refresh=True)

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
