"""The Ray executor: each run of a sweep is one Ray task, on a local or a remote Ray cluster.

Each (point, seed) is one task asking for `cpus_per_run` CPUs and `gpus_per_run` GPUs; Ray places
it on a node that has them, and runs at most `max_concurrent` at once when asked to. The task
trains in a temporary folder of its worker (harness.executors.task) and returns the log's text;
the driver publishes it. A run that needs several GPUs is one task that starts one process per
GPU on its node (torch's elastic launcher, as torchrun does).

Faults: a task whose worker dies (the process killed, its node lost) is run again by Ray, up to
`retries` times, then reported failed while the rest of the sweep goes on; a run that raises is
reported with its traceback and not run again (it would fail the same way). When the sweep stops
early (Ctrl-C, bad input), the tasks still out are cancelled.

Which tasks are running, and where, the tasks themselves say: each puts (run, where) on a Ray
queue as it starts, which the driver reads while it waits (the bar's running / queued counts, and
the process to kill in the fault tests).

Ray is an optional dependency (`pip install 'recscale[ray]'`), imported only when this executor runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import os
import socket
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harness.executors.task import RunReport, RunTask, StartHook, Where, execute_run
from recscale.errors import InputError, Problem
from recscale.layout import RunKey

POLL_S = 0.1  # how often the driver looks at the start messages while it waits for runs
INSTALL_HINT = "pip install 'recscale[ray]' (or: pip install -r requirements/ray.txt)"


@dataclass(frozen=True)
class RayOptions:
    """How the runs are spread over the cluster."""

    address: str | None = None  # None: a local cluster for this command; "auto" or HOST:PORT: join one
    gpus_per_run: float = 0.0
    cpus_per_run: float = 1.0
    max_concurrent: int | None = None  # None: as many as the cluster has room for
    retries: int = 2  # how often a run whose worker died is run again

    def problems(self, device: str) -> list[Problem]:
        """What is wrong with these options for runs on `device`."""
        out = []
        if device == "cuda" and self.gpus_per_run <= 0:
            out.append(Problem("--gpus-per-run", "", "--device cuda on Ray needs GPUs for each run: give "
                               "--gpus-per-run (1 for one GPU per run)"))
        if device == "cpu" and self.gpus_per_run > 0:
            out.append(Problem("--gpus-per-run", "", "runs on --device cpu use no GPU: give --device cuda"))
        if self.gpus_per_run > 1 and not float(self.gpus_per_run).is_integer():
            out.append(Problem("--gpus-per-run", "", f"{self.gpus_per_run:g}: a run on several GPUs takes whole "
                               "GPUs (a fraction below 1 shares one GPU between runs)"))
        return out

    def shape(self, task: RunTask) -> RunTask:
        """`task` as a Ray task runs it: its threads, its processes, no bar, and a data root that means
        the same folder on every node (an absolute path)."""
        config = dataclasses.replace(task.config, progress=False, data_root=task.config.data_root.absolute())
        return dataclasses.replace(task, config=config, threads=max(1, int(self.cpus_per_run)),
                                   processes=int(self.gpus_per_run) if self.gpus_per_run >= 1 else 1)


NO_RAY = Problem("--executor", "ray", f"the Ray executor needs the ray package: {INSTALL_HINT}")


def import_ray() -> ModuleType:
    """The ray package, or an InputError saying how to install it."""
    try:
        import ray  # lazy: an optional extra (recscale[ray]), and seconds to import
    except ImportError:
        raise InputError([NO_RAY]) from None
    return ray


@contextlib.contextmanager
def connected(ray: ModuleType, options: RayOptions) -> Iterator[None]:
    """This process connected to the cluster: a local one started for the command (and shut down
    after it) without an address; the one at `options.address` otherwise. A process that is
    connected already (a notebook, the tests) stays connected, to the cluster it chose."""
    if ray.is_initialized():
        yield
        return
    if options.address is None:
        ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING)
    else:
        try:
            ray.init(address=options.address, logging_level=logging.WARNING)
        except ConnectionError as err:
            raise InputError([Problem("--address", options.address, f"no Ray cluster there: {err}")]) from None
    try:
        if options.address is None:  # a local cluster cannot grow: a run it cannot hold would wait forever
            _check_room(ray.cluster_resources(), options)
        yield
    finally:
        ray.shutdown()


def _check_room(resources: dict[str, float], options: RayOptions) -> None:
    for name, flag, wanted in (("CPU", "--cpus-per-run", options.cpus_per_run),
                               ("GPU", "--gpus-per-run", options.gpus_per_run)):
        if wanted > resources.get(name, 0):
            raise InputError([Problem(flag, "", f"{wanted:g} per run, but this machine's Ray cluster has "
                                      f"{resources.get(name, 0):g} {name}(s)")])


def ray_task(task: RunTask, board: Any) -> RunReport:
    """The body of one Ray task: say where it runs, then train."""
    import ray  # lazy, as in import_ray (this runs in a Ray worker, which has loaded it already)

    context = ray.get_runtime_context()
    gpus = context.get_accelerator_ids().get("GPU", [])
    where = Where(socket.gethostname(), os.getpid(), f"GPU {','.join(gpus)}" if gpus else "cpu",
                  context.get_node_id()[:8])
    # Not board.put, which waits for the queue: a task waiting on Ray lends its CPU back, and Ray starts
    # another worker in its place. The message is sent and the run goes on. Plain tuples: the queue's
    # process would import the harness (and torch) to read its classes.
    board.actor.put_nowait.remote((dataclasses.astuple(task.key), dataclasses.astuple(where)))
    return execute_run(task, where)


class RayExecutor:
    """Runs each task as a Ray task (see the module's docstring)."""

    def __init__(self, options: RayOptions):
        if importlib.util.find_spec("ray") is None:  # said before the sweep writes anything
            raise InputError([NO_RAY])
        self.options = options

    def run(self, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]:
        if not tasks:
            return
        ray = import_ray()
        with connected(ray, self.options):
            yield from self._run(ray, [self.options.shape(task) for task in tasks], started)

    def _run(self, ray: ModuleType, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]:
        from ray.util.queue import Queue  # lazy, as in import_ray

        options = self.options
        remote = ray.remote(ray_task).options(num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run,
                                              max_retries=options.retries, retry_exceptions=False)
        board = Queue(actor_options={"num_cpus": 0})
        board.qsize()  # wait until it is up: starting it behind workers busy importing torch could take a while
        by_key = {task.key: task for task in tasks}
        last_seen: dict[RunKey, Where] = {}
        waiting = deque(tasks)
        pending: dict[Any, RunTask] = {}
        limit = options.max_concurrent or len(tasks)
        try:
            while waiting or pending:
                while waiting and len(pending) < limit:
                    task = waiting.popleft()
                    pending[remote.remote(task, board)] = task
                done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for key_fields, where_fields in board.get_nowait_batch(board.qsize()):
                    key, where = RunKey(*key_fields), Where(*where_fields)
                    last_seen[key] = where
                    started(by_key[key], where)
                for ref in done:
                    task = pending.pop(ref)
                    yield self._report(ray, ref, task, last_seen.get(task.key))
        finally:  # stopped early: cancelled tasks are not retried, and their workers end
            for ref in pending:
                ray.cancel(ref, force=True)

    def _report(self, ray: ModuleType, ref: Any, task: RunTask, where: Where | None) -> RunReport:
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as err:  # the task itself raised (execute_run reports a run that does)
            return RunReport(task, where, error=str(err))
        except ray.exceptions.RayError as err:  # its worker or node died, more often than --retries allows
            return RunReport(task, where, error=f"the worker running it died ({1 + self.options.retries} "
                                                f"attempt(s)): {type(err).__name__}: {err}")
