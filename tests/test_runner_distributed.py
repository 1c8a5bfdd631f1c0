"""Several processes: torchrun, gloo on CPU and NCCL on CUDA, tables sharded by TorchRec's DMP.

- End to end: two processes train one run like one process. Tolerance: the final eval NE of the
  2-process run is within 0.01 of the 1-process run. Exact equality is not expected: the first
  Adagrad steps are sign-like (g / sqrt(g^2)), so the different summation order of the all-reduced and
  all-to-all'd gradients flips a few updates early on. Evaluation itself adds no difference: the
  metrics of one model are the same computed by one process or by several (tests/distributed_checks.py).
- tests/distributed_checks.py in a real process group: 2 CPU processes (gloo) always; on CUDA (NCCL
  forced) with one process where one GPU exists and with two where two exist (marked `cuda`).
- The torch backend refuses several processes before anything is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.cli import main as cli_main
from reference.model.parallel import topology

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
CHECKS = REPO / "tests" / "distributed_checks.py"
POINT = "data.fraction=1.0"
NE_TOLERANCE = 0.01
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0

needs_torchrec = pytest.mark.skipif(importlib.util.find_spec("torchrec") is None, reason="needs torchrec")


def launcher(processes: int) -> list[str]:
    """torchrun, as the module torch always ships (the `torchrun` script may not be on the PATH)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]


def run(tmp_path: Path, name: str, launch: list[str], device: str = "cpu") -> dict:
    sub = tmp_path / name
    command = [*launch, "-m", "harness.cli", "run", str(TINY), "--submission", str(sub), "--system", "box",
               "--points", POINT, "--seeds", "0", "--backend", "torchrec", "--no-progress", "--device", device,
               "--data-root", str(tmp_path / "data")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((sub / "results" / "box" / "tiny" / POINT / "run_0" / "result.json").read_text())


def agree(tmp_path: Path, device: str) -> None:
    single = run(tmp_path, "one", [sys.executable], device)
    double = run(tmp_path, "two", launcher(2), device)
    assert single["harness"]["world_size"] == 1 and double["harness"]["world_size"] == 2
    assert double["samples_seen"] == single["samples_seen"] == 8192
    assert double["eval_samples"] == single["eval_samples"]
    assert len(double["curve"]) == len(single["curve"])
    assert abs(double["final"]["ne"] - single["final"]["ne"]) < NE_TOLERANCE
    assert double["final"]["ne"] < 1.0  # it learned
    # only rank 0 wrote: one run folder with one result and one log, and the copy of the workload
    files = sorted(p.name for p in (tmp_path / "two").rglob("*") if p.is_file())
    assert files == ["box.json", "mllog.txt", "result.json", "submission.json", "tiny.yaml"]


def checks(tmp_path: Path, processes: int, device: str) -> None:
    command = [*launcher(processes), str(CHECKS), "--device", device, "--data-root", str(tmp_path / "data")]
    # The repository first, then whatever the environment already adds (packages installed with --target).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("every check passed") == processes, done.stdout


@needs_torchrec
def test_two_processes_agree_with_one(tmp_path: Path) -> None:
    agree(tmp_path, "cpu")


def test_collectives_and_evaluation_in_two_cpu_processes(tmp_path: Path) -> None:
    checks(tmp_path, 2, "cpu")


@pytest.mark.cuda
@pytest.mark.skipif(GPUS < 1, reason="needs a CUDA GPU")
def test_collectives_and_evaluation_with_nccl_on_one_gpu(tmp_path: Path) -> None:
    """One process, NCCL forced: every collective runs on the GPU, as it does with 8."""
    checks(tmp_path, 1, "cuda")


@pytest.mark.cuda
@pytest.mark.skipif(GPUS < 2, reason="needs 2 CUDA GPUs")
def test_collectives_and_evaluation_on_two_gpus(tmp_path: Path) -> None:
    checks(tmp_path, 2, "cuda")


@pytest.mark.cuda
@needs_torchrec
@pytest.mark.skipif(GPUS < 2, reason="needs 2 CUDA GPUs")
def test_two_gpus_agree_with_one(tmp_path: Path) -> None:
    agree(tmp_path, "cuda")


def test_torch_backend_refuses_several_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it; no group is joined before the refusal
    sub = tmp_path / "sub"
    code = cli_main(["run", str(TINY), "--submission", str(sub), "--backend", "torch", "--no-progress",
                     "--data-root", str(tmp_path / "data")])
    assert code == 2
    assert "--backend: several processes (2) need --backend torchrec" in capsys.readouterr().err
    assert not sub.exists() and not (tmp_path / "data").exists()


@needs_torchrec
def test_the_planner_knows_the_machine() -> None:
    """World size, processes per machine (LOCAL_WORLD_SIZE) and the device reach the sharding planner."""
    planned = topology(world_size=4, local_world_size=2, device=torch.device("cpu"))
    assert (planned.world_size, planned.local_world_size, planned.compute_device) == (4, 2, "cpu")
    with pytest.raises(ValueError, match="not a whole number of machines"):
        topology(world_size=3, local_world_size=2, device=torch.device("cpu"))
