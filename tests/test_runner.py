"""The runner: timed MLPerf-style runs, result records, resumable sweeps, divergence, determinism."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import torch
import yaml

from harness.record import derive_result
from harness.runlog import read_log_file
from harness.runner import RunConfig, eval_schedule, train_run
from harness.submission import run_sweep
from recscale.hyperparams import HYPERPARAMETERS
from recscale.layout import MANIFEST_FILE, read_result
from recscale.load import load_points
from recscale.records import RunResult
from recscale.resources import load_schema

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"


def config(tmp_path: Path, backend: str = "torch", **overrides) -> RunConfig:
    values = dict(submitter="test-org", division="closed", system="testbox", backend=backend, device="cpu",
                  data_root=tmp_path / "data", progress=False)
    values.update(overrides)
    return RunConfig(**values)


def variant(tmp_path: Path, name: str = "tiny.yaml", **changes) -> Path:
    """tiny.yaml with dotted-path changes applied."""
    doc = yaml.safe_load(TINY.read_text())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = doc
        for key in parents:
            node = node[key]
        node[leaf] = value
    out = tmp_path / name
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def events(run_dir: Path) -> list[dict]:
    lines = (run_dir / "mllog.txt").read_text().splitlines()
    assert all(line.startswith(":::MLLOG ") for line in lines)
    return [json.loads(line.removeprefix(":::MLLOG ")) for line in lines]


def keys_of(evs: list[dict]) -> list[str]:
    return [e["key"] for e in evs]


def test_eval_schedule() -> None:
    assert eval_schedule(16, 0.25) == {4, 8, 12, 16}
    assert eval_schedule(3, 0.25) == {1, 2, 3}
    assert eval_schedule(10, 1.0) == {10}
    assert max(eval_schedule(7, 0.3)) == 7


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    tmp = tmp_path_factory.mktemp("tiny")
    _, points = load_points(TINY)
    run_dir = tmp / "run_0"
    result = train_run(points[1], 0, config(tmp), run_dir)
    return result, run_dir


def test_result_is_schema_valid_and_consistent(tiny_run: tuple[RunResult, Path]) -> None:
    result, _ = tiny_run
    doc = result.model_dump(mode="json")
    jsonschema.validate(doc, load_schema("result"))
    assert result.train_samples == 8192 and result.samples_seen == 8192
    assert result.status == "success"  # target NE 0.999 is reached
    assert result.time_to_target_s == result.run_time_s <= result.pass_time_s
    assert [c.epoch for c in result.curve] == [0.25, 0.5, 0.75, 1.0]
    assert result.final is not None and result.final.ne == result.curve[-1].ne
    assert result.bayes is not None and result.bayes.ne < result.final.ne
    assert result.params.total == sum(getattr(result.params, k) for k in
                                      ("embedding", "bottom_mlp", "interaction", "top_mlp"))
    assert result.train_flops == result.flops_per_example.total * result.samples_seen


def test_event_order_and_timing(tiny_run: tuple[RunResult, Path]) -> None:
    result, run_dir = tiny_run
    evs = events(run_dir)
    order = keys_of(evs)
    assert order[:5] == ["submission_benchmark", "submission_division", "submission_org",
                         "submission_platform", "submission_status"]
    assert order.index("init_start") < order.index("seed") < order.index("init_stop") < order.index("run_start")
    assert order.index("run_start") < order.index("eval_start") < order.index("run_stop")
    assert order[-1] == "recscale_pass_end"
    init = order[order.index("init_start") + 1:order.index("init_stop")]
    assert init == [entry.key for entry in HYPERPARAMETERS] + ["recscale_cuda_graphs", "recscale_staging_s",
                                                               "recscale_bayes"]
    times = [e["time_ms"] for e in evs]
    assert times == sorted(times)
    by_key = {e["key"]: e for e in evs}
    elapsed = (by_key["run_stop"]["time_ms"] - by_key["run_start"]["time_ms"]) / 1000
    assert abs(elapsed - result.run_time_s) < 0.002
    assert by_key["run_stop"]["metadata"]["status"] == "success"
    # run_stop comes right after the first evaluation that reached the target
    accuracies = [e for e in evs if e["key"] == "eval_accuracy"]
    first_hit = next(e for e in accuracies if e["value"] <= 0.999)
    assert first_hit["metadata"]["samples_count"] == result.samples_to_target
    assert by_key["run_stop"]["time_ms"] == first_hit["time_ms"]
    assert len(accuracies) == len(result.curve) == 4


def test_target_not_reached_is_aborted(tmp_path: Path) -> None:
    _, points = load_points(variant(tmp_path, quality__target=0.01))
    result = train_run(points[0], 0, config(tmp_path), tmp_path / "run")
    assert result.status == "aborted" and result.abort_reason == "target not reached"
    assert result.time_to_target_s is None and result.final is not None
    assert result.run_time_s == result.pass_time_s
    order = keys_of(events(tmp_path / "run"))
    assert order.index("recscale_abort_reason") == order.index("run_stop") - 1
    assert order.count("eval_accuracy") == 4


def test_divergence_is_aborted_and_sweep_goes_on(tmp_path: Path) -> None:
    workload = variant(tmp_path, training__optimizer={"dense": {"name": "sgd", "lr": 1e30},
                                                      "sparse": {"name": "sgd", "lr": 1e30}})
    outcome = run_sweep(workload, tmp_path / "sub", config(tmp_path), seeds=[0], announce=lambda _: None)
    assert len(outcome.ran) == 2 and not outcome.failed
    for result in outcome.ran:
        assert result.status == "aborted"
        assert result.abort_reason.startswith("diverged"), result.abort_reason
        assert result.final is None
        json.dumps(result.model_dump(mode="json"), allow_nan=False)


def test_staging_is_logged_and_recorded(tiny_run: tuple[RunResult, Path]) -> None:
    result, run_dir = tiny_run
    staging = next(e for e in events(run_dir) if e["key"] == "recscale_staging_s")
    assert result.staging_s == staging["value"] >= 0
    assert staging["metadata"]["loader"] == "host" and staging["metadata"]["device"] == "cpu"  # auto on the CPU
    assert result.harness.precision == "fp32"


def test_every_loader_trains_the_same_model(tmp_path: Path) -> None:
    """Same batches in the same order: the staged loader's run is the host loader's, metric for metric."""
    _, points = load_points(TINY)
    host = train_run(points[0], 3, config(tmp_path, loader="host"), tmp_path / "host")
    staged = train_run(points[0], 3, config(tmp_path, loader="device"), tmp_path / "device")
    assert [c.model_dump(exclude={"elapsed_s"}) for c in staged.curve] == \
        [c.model_dump(exclude={"elapsed_s"}) for c in host.curve]
    staging = next(e for e in events(tmp_path / "device") if e["key"] == "recscale_staging_s")
    assert staging["metadata"]["loader"] == "device" and staging["metadata"]["staged_bytes"] > 0


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    _, points = load_points(TINY)
    first = train_run(points[0], 5, config(tmp_path), tmp_path / "a")
    second = train_run(points[0], 5, config(tmp_path), tmp_path / "b")
    other = train_run(points[0], 6, config(tmp_path), tmp_path / "c")
    assert first.final == second.final
    assert [c.ne for c in first.curve] == [c.ne for c in second.curve]
    assert other.final != first.final


def test_sweep_writes_submission_and_resumes(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    outcome = run_sweep(TINY, sub, config(tmp_path), announce=lambda _: None)
    assert len(outcome.ran) == 4  # 2 points x 2 seeds
    manifest = json.loads((sub / MANIFEST_FILE).read_text())
    jsonschema.validate(manifest, load_schema("submission"))
    assert len(manifest["runs"]) == 4
    system = json.loads((sub / "systems" / "testbox.json").read_text())
    jsonschema.validate(system, load_schema("system"))
    assert system["embedding_backend"] == "torch"
    points = {p.point_id: p for p in load_points(TINY)[1]}
    for path in sub.glob("results/*/*/*/run_*/result.json"):  # result.json is what its own log gives
        written = RunResult.model_validate_json(path.read_bytes())
        assert derive_result(read_log_file(path.with_name("mllog.txt")), points[written.point_id]) == written
        assert written.started_at <= written.finished_at and written.bayes is not None
    again = run_sweep(TINY, sub, config(tmp_path), announce=lambda _: None)
    assert not again.ran and len(again.skipped) == 4
    assert len(json.loads((sub / MANIFEST_FILE).read_text())["runs"]) == 4


def test_resume_refuses_results_of_another_spec(tmp_path: Path) -> None:
    from recscale.errors import InputError

    sub = tmp_path / "sub"
    run_sweep(TINY, sub, config(tmp_path), point_ids=["data.fraction=0.5"], seeds=[0], announce=lambda _: None)
    changed = variant(tmp_path, model__top_mlp=[8, 1])
    with pytest.raises(InputError, match="another spec"):
        run_sweep(changed, sub, config(tmp_path), point_ids=["data.fraction=0.5"], seeds=[0],
                  announce=lambda _: None)


def test_unknown_point_is_an_input_error(tmp_path: Path) -> None:
    from recscale.errors import InputError

    with pytest.raises(InputError, match=r"no point 'data\.fraction=0\.3'"):
        run_sweep(TINY, tmp_path / "sub", config(tmp_path), point_ids=["data.fraction=0.3"])


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    """Kill a sweep after its first finished run; re-running finishes the rest, keeping that run."""
    workload = variant(tmp_path, data__train_samples=32768)
    sub = tmp_path / "sub"
    command = [sys.executable, "-m", "harness.cli", "run", str(workload), "--submission", str(sub),
               "--system", "testbox", "--submitter", "test-org", "--backend", "torch",
               "--data-root", str(tmp_path / "data"), "--no-progress"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    first: list[Path] = []
    while time.monotonic() < deadline and not first:
        first = list(sub.glob("results/*/*/*/run_*/result.json"))
        time.sleep(0.05)
    assert first, "no run finished in time"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = {p: p.read_bytes() for p in sub.glob("results/*/*/*/run_*/result.json")}
    assert 1 <= len(kept) < 4
    # the run killed half-way left nothing: every run folder is a finished run (RUN-3)
    assert sorted(sub.glob("results/*/*/*/run_*")) == sorted(p.parent for p in kept)
    assert all(read_result(p) is not None for p in kept)  # atomic: never a half-written record
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr
    assert f"{len(kept)} already finished" in done.stdout
    results = sorted(sub.glob("results/*/*/*/run_*/result.json"))
    assert len(results) == 4
    assert all(p.read_bytes() == content for p, content in kept.items())
    manifest = json.loads((sub / MANIFEST_FILE).read_text())
    assert len(manifest["runs"]) == len({(r["point"], r["seed"]) for r in manifest["runs"]}) == 4


@pytest.mark.skipif(importlib.util.find_spec("nvidia") is not None, reason="DALI may be installed here")
def test_loader_dali_without_dali_says_how_to_install_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    code = main(["run", str(TINY), "--submission", str(tmp_path / "sub"), "--loader", "dali", "--no-progress"])
    assert code == 2 and "pip install nvidia-dali" in capsys.readouterr().err
    assert not (tmp_path / "sub").exists()


def test_default_system_name_says_the_precision() -> None:
    from harness.commands.run import default_system

    assert default_system("cuda", "torch").endswith("_cuda_torch")
    assert default_system("cuda", "torch", "bf16").endswith("_cuda_torch_bf16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_every_loader_and_precision_trains(tmp_path: Path) -> None:
    """On a GPU: the staged loader's run is the host loader's (the same batches; metric for metric with
    the deterministic Triton update), and each precision trains and is recorded."""
    from reference.model import tbe_triton

    _, points = load_points(TINY)
    runs = {loader: train_run(points[0], 3, config(tmp_path, device="cuda", loader=loader), tmp_path / loader)
            for loader in ("host", "device")}
    curves = [[c.ne for c in runs[loader].curve] for loader in ("host", "device")]
    if tbe_triton.available():
        assert curves[0] == curves[1]
    else:  # the atomic fallback adds a row's gradients in no fixed order
        assert curves[0] == pytest.approx(curves[1], rel=1e-4)
    for precision in ("tf32", "bf16"):
        result = train_run(points[0], 3, config(tmp_path, device="cuda", precision=precision), tmp_path / precision)
        assert result.harness.precision == precision and result.status == "success"


def test_cuda_graphs_apply_on_cuda_with_one_process_only(tmp_path: Path) -> None:
    from harness.runner import graphs_apply
    from reference.model.dlrm import build_model

    _, points = load_points(TINY)
    model = build_model(points[0].spec, "torch", torch.device("cpu"), seed=0)
    on = config(tmp_path)
    assert not graphs_apply(on, torch.device("cpu"), 1, model)  # a CPU has no graphs
    assert graphs_apply(on, torch.device("cuda"), 1, model)
    assert not graphs_apply(on, torch.device("cuda"), 2, model)  # the multi-process hook is not captured
    assert not graphs_apply(config(tmp_path, cuda_graphs=False), torch.device("cuda"), 1, model)
    assert not graphs_apply(on, torch.device("cuda"), 1, torch.nn.Linear(2, 1))  # a DMP-wrapped model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_graphs_change_no_number(tmp_path: Path) -> None:
    """The dense part replayed as CUDA graphs gives the eager run's curve (the same kernels), in fp32 and bf16."""
    from reference.model import tbe_triton

    _, points = load_points(TINY)
    for precision in ("fp32", "bf16"):
        runs = [train_run(points[0], 3, config(tmp_path, device="cuda", precision=precision, cuda_graphs=graphs),
                          tmp_path / f"{precision}-{graphs}") for graphs in (False, True)]
        curves = [[c.ne for c in run.curve] for run in runs]
        if tbe_triton.available():
            assert curves[0] == curves[1], precision
        else:
            assert curves[0] == pytest.approx(curves[1], rel=1e-4), precision
        graphed = {e["key"]: e["value"] for e in events(tmp_path / f"{precision}-True")}
        assert graphed["recscale_cuda_graphs"] is True
