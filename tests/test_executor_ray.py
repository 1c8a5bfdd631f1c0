"""The Ray executor on a real local Ray cluster (2 CPUs: 2 worker processes, one run each at a time).

Same records as the in-process executor (same device, same threads), a worker killed mid-run is
run again with nothing lost or duplicated, a run that raises is reported with its traceback and
the sweep exits 1. The cluster is started once for the module (seconds), except by the first test,
which goes through `recscale run --executor ray` without --address: a local cluster for the command.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
import torch
from submission_factory import workload_variant

from harness.check import check_submission
from harness.cli import main
from harness.executors.ray_cluster import RayExecutor, RayOptions
from harness.executors.task import RunReport, RunTask, StartHook, Where
from harness.runner import RunConfig
from harness.submission import SweepOutcome, run_sweep
from recscale.layout import MANIFEST_FILE, RESULT_FILE, SubmissionLayout
from recscale.load import load_points
from recscale.records import SubmissionManifest
from reference.data.generate import data_spec_key

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
LONGER = "data.fraction=1.0"  # the point of tiny with the longer runs: the one whose workers are killed
# What differs between two runs of one seed on one device: when and how fast they ran.
TIMES = {"time_to_target_s", "run_time_s", "pass_time_s", "train_samples_per_s", "started_at", "finished_at",
         "staging_s"}


def config(tmp_path: Path) -> RunConfig:
    return RunConfig(submitter="test-org", division="closed", system="testbox", backend="torch", device="cpu",
                     data_root=tmp_path / "data", status="research", progress=False)


def records(sub: Path) -> dict[tuple[str, int], dict]:
    """Every record of a submission by (point, seed), without its times."""
    out = {}
    for _, result in SubmissionLayout(sub).finished_runs():
        doc = {k: v for k, v in result.model_dump(mode="json").items() if k not in TIMES}
        doc["curve"] = [{k: v for k, v in c.items() if k != "elapsed_s"} for c in doc["curve"]]
        out[(result.point_id, result.seed)] = doc
    return out


def test_a_run_that_raises_is_reported_with_its_traceback_and_the_sweep_exits_1(tmp_path, capsys):
    """Two points with their own data sets; one cannot be made (its lock file's place is a folder)."""
    workload = workload_variant(TINY, tmp_path / "two-data.yaml", runs_per_point=1,
                                sweep={"data.synthetic.seed": [3, 4]})
    data = tmp_path / "data"
    broken = next(point for point in load_points(workload)[1] if point.point_id == "data.synthetic.seed=4")
    (data / f".synthetic-{data_spec_key(broken.spec.data)[0]}.lock").mkdir(parents=True)
    was_connected = ray.is_initialized()
    code = main(["run", str(workload), "--submission", str(tmp_path / "sub"), "--system", "testbox",
                 "--submitter", "test-org", "--backend", "torch", "--data-root", str(data), "--no-progress",
                 "--executor", "ray", "--cpus-per-run", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 ran, 0 already finished, 1 failed" in out
    assert "data.synthetic.seed=4 seed 0 on " in out and "FAILED: IsADirectoryError" in out
    assert "Traceback (most recent call last)" in out and "materialise" in out  # where it raised, in the worker
    runs = [p.parent.name for p in (tmp_path / "sub").glob("results/*/*/*/run_*/result.json")]
    assert len(runs) == 1 and not list((tmp_path / "sub").glob("results/*/*/data.synthetic.seed=4"))
    if not was_connected:  # the local cluster was the command's: it is shut down
        assert not ray.is_initialized()


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_ray_gives_the_records_of_the_in_process_executor(cluster, tmp_path):
    ray_sweep = run_sweep(TINY, tmp_path / "ray", config(tmp_path), announce=lambda _: None,
                          executor=RayExecutor(RayOptions(cpus_per_run=1)))
    assert len(ray_sweep.ran) == 4 and not ray_sweep.failed
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what a Ray task with one CPU runs on: the same arithmetic
    try:
        local = run_sweep(TINY, tmp_path / "local", config(tmp_path), announce=lambda _: None)
    finally:
        torch.set_num_threads(threads)
    assert len(local.ran) == 4
    mine, theirs = records(tmp_path / "local"), records(tmp_path / "ray")
    assert mine.keys() == theirs.keys() and len(mine) == 4
    for key in mine:
        assert mine[key] == theirs[key], key
    assert {r["status"] for r in mine.values()} == {"success"}
    assert check_submission(tmp_path / "ray").passed


class Watched:
    """A Ray executor whose runs' starts are recorded, and shown to `on_start` (which may kill one)."""

    def __init__(self, options: RayOptions, on_start: Callable[[Watched, Where], None] = lambda *_: None):
        self.inner = RayExecutor(options)
        self.on_start = on_start
        self.starts: list[tuple[RunTask, Where]] = []

    def run(self, tasks: list[RunTask], started: StartHook) -> Generator[RunReport]:
        def watch(task: RunTask, where: Where) -> None:
            self.starts.append((task, where))
            self.on_start(self, where)
            started(task, where)

        return self.inner.run(tasks, watch)


def kill_the_first(executor: Watched, where: Where) -> None:
    """Kill the worker of the first run to start, right as it starts (mid-run)."""
    if len(executor.starts) == 1:
        threading.Thread(target=os.kill, args=(where.pid, signal.SIGKILL)).start()


def sweep_killing_the_first(tmp_path: Path, retries: int) -> tuple[SweepOutcome, Watched, list[str]]:
    """The longer point of tiny (two seeds) on Ray, the worker of the first run to start killed as it starts."""
    workload = workload_variant(TINY, tmp_path / "longer.yaml", data__train_samples=131072)
    lines: list[str] = []
    executor = Watched(RayOptions(cpus_per_run=1, retries=retries), kill_the_first)
    outcome = run_sweep(workload, tmp_path / "sub", config(tmp_path), point_ids=[LONGER], announce=lines.append,
                        executor=executor)
    return outcome, executor, lines


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_duplicated(cluster, tmp_path):
    outcome, executor, lines = sweep_killing_the_first(tmp_path, retries=1)
    assert len(outcome.ran) == 2 and not outcome.failed, lines
    killed_task, killed_where = executor.starts[0]
    again = [where for task, where in executor.starts[1:] if task.key == killed_task.key]
    assert len(again) == 1 and again[0].pid != killed_where.pid  # run again, in another worker
    assert any("started again on" in line for line in lines)
    sub = tmp_path / "sub"
    results = sorted(sub.glob(f"results/*/*/*/run_*/{RESULT_FILE}"))
    assert len(results) == 2 and all(p.with_name("mllog.txt").is_file() for p in results)
    manifest = SubmissionManifest.model_validate_json((sub / MANIFEST_FILE).read_bytes())
    assert len({(r.point, r.seed) for r in manifest.runs}) == len(manifest.runs) == 2
    assert not [p for p in sub.rglob("*") if p.name.startswith(".") and p.name != ".recscale-run.lock"]
    report = check_submission(sub)
    assert report.passed, report.failed_rules()


def test_a_worker_that_keeps_dying_fails_its_run_and_the_sweep_goes_on(cluster, tmp_path):
    outcome, executor, _ = sweep_killing_the_first(tmp_path, retries=0)
    assert len(outcome.ran) == 1 and len(outcome.failed) == 1
    folder, why = outcome.failed[0]
    assert "died" in why and not folder.exists()
    assert folder.name == f"run_{executor.starts[0][0].key.seed}"


def test_ctrl_c_cancels_the_runs_still_out_and_keeps_the_finished_ones(cluster, tmp_path):
    """Ctrl-C reaches the driver when a run starts after the second was published: those two are
    kept, the runs still out are cancelled (their workers end), and nothing else is published."""
    workload = workload_variant(TINY, tmp_path / "longer.yaml", runs_per_point=3, data__train_samples=131072)
    lines: list[str] = []

    def interrupt_after_two(executor: Watched, where: Where) -> None:
        # Not at the second publication itself: the runs started since may not have said so yet.
        if sum(line.startswith(("[1/6]", "[2/6]")) for line in lines) == 2:
            raise KeyboardInterrupt

    executor = Watched(RayOptions(cpus_per_run=1), interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(workload, tmp_path / "sub", config(tmp_path), announce=lines.append, executor=executor)
    folders = sorted((tmp_path / "sub").glob("results/*/*/*/*"))
    assert len(folders) == 2 and all((f / RESULT_FILE).is_file() for f in folders)
    done = {(f.parent.name, int(f.name.removeprefix("run_"))) for f in folders}
    out = [where.pid for task, where in executor.starts if (task.key.point, task.key.seed) not in done]
    assert out, "no run was out when the sweep was interrupted"
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in out)  # a run left running would keep its worker busy, then idle
    assert sorted((tmp_path / "sub").glob("results/*/*/*/*")) == folders


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
