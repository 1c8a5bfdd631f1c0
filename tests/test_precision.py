"""Precision is part of the stack (RULES.md SYS-3): the settings each precision makes, the fp32
embedding update under bf16 autocast, a bf16 run that converges, and where the precision is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_helpers import INTERACTIONS, multi_hot_batch, one_hot_batch, tiny_spec

from harness.runner import RunConfig, train_run
from harness.submission import ensure_system
from recscale.errors import InputError
from recscale.load import load_points
from recscale.records import RunResult
from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer
from reference.model.precision import Autocast, autocast, in_precision, matmul_precision

REPO = Path(__file__).resolve().parent.parent
CUDA = torch.device("cuda")  # only the process-wide settings are touched: no GPU needed


def settings() -> tuple[str, bool, bool]:
    return (torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32)


def test_precision_settings_hold_for_the_run_and_are_put_back() -> None:
    before = settings()
    with matmul_precision("tf32", CUDA):
        assert settings() == ("high", True, True)
    assert settings() == before
    with matmul_precision("fp32", CUDA):
        assert settings() == ("highest", False, False)
    with matmul_precision("bf16", CUDA):
        assert settings() == ("highest", False, False)  # matmuls outside autocast: fp32
    for name in ("fp32", "tf32", "bf16"):
        with matmul_precision(name, torch.device("cpu")):  # no TF32 on the CPU: nothing changes
            assert settings() == before
    assert settings() == before
    with pytest.raises(ValueError, match="unknown precision"):
        autocast("fp16", CUDA)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["torch", "torchrec"])
@pytest.mark.parametrize("make", [one_hot_batch, multi_hot_batch])
def test_bf16_autocast_leaves_the_embedding_update_fp32(backend: str, make: object) -> None:
    """The pooled embeddings and the sparse update are those of fp32, bit for bit, given the same
    gradient of the pooled output."""
    spec = tiny_spec()
    batch = make(spec, 64, seed=1)  # type: ignore[operator]
    tables = []
    for cast in (False, True):
        arch = build_model(spec, backend, torch.device("cpu"), seed=0).sparse_arch
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cast):
            pooled = arch(batch)
        assert pooled.dtype == torch.float32
        grad = torch.linspace(-1, 1, pooled.numel()).view_as(pooled)
        pooled.backward(grad)
        tables.append([t.detach().clone() for t in arch.tables()])
        assert all(t.dtype == torch.float32 for t in arch.tables())
    assert all(torch.equal(a, b) for a, b in zip(*tables, strict=True))


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=[i["kind"] for i in INTERACTIONS])
def test_every_interaction_trains_in_bf16(interaction: dict) -> None:
    """Forward in bf16, backward through the custom autograd functions, fp32 parameters updated."""
    spec = tiny_spec(interaction=interaction)
    model = build_model(spec, "torch", torch.device("cpu"), seed=0)
    optimizer = build_optimizer(model, spec.training.optimizer)
    before = [p.detach().clone() for p in model.parameters()]
    batch = one_hot_batch(spec, 32, seed=2)
    logits = in_precision(model, "bf16", torch.device("cpu"))(batch)
    torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), batch.labels).backward()
    optimizer.step()
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_autocast_wraps_the_forward_only() -> None:
    model = build_model(tiny_spec(), "torch", torch.device("cpu"), seed=0)
    assert in_precision(model, "fp32", torch.device("cpu")) is model
    wrapped = in_precision(model, "bf16", torch.device("cpu"))
    assert isinstance(wrapped, Autocast) and list(wrapped.parameters()) == list(model.parameters())
    wrapped.eval()
    assert not model.training
    logits = wrapped(one_hot_batch(tiny_spec(), 8, seed=0))
    assert logits.dtype == torch.bfloat16  # the top MLP's output, computed in bf16
    assert not torch.is_autocast_enabled("cpu")  # nothing after the forward runs under autocast


def _config(tmp_path: Path, precision: str) -> RunConfig:
    return RunConfig(submitter="test-org", division="closed", system="testbox", backend="torch", device="cpu",
                     data_root=tmp_path / "data", progress=False, precision=precision)  # type: ignore[arg-type]


def test_bf16_runs_converge_on_the_smoke_workload_and_are_recorded(tmp_path: Path) -> None:
    """A bf16 run of the smoke workload's first point reaches the target, near the fp32 reference run
    of the same point and seed (the committed reference submission)."""
    _, points = load_points(REPO / "workloads" / "smoke.yaml")
    point = points[0]
    bf16 = train_run(point, 0, _config(tmp_path, "bf16"), tmp_path / "bf16")
    reference = next((REPO / "submissions" / "reference-cpu" / "results").glob(f"*/smoke/{point.point_id}/run_0"))
    fp32 = RunResult.model_validate_json((reference / "result.json").read_bytes())
    assert fp32.harness.precision == "fp32" and bf16.status == fp32.status == "success"
    assert bf16.final is not None and fp32.final is not None
    assert abs(bf16.final.ne - fp32.final.ne) < 0.01  # bf16 dense parts: the same model, a little noise
    assert bf16.final.ne != fp32.final.ne  # and bf16 did compute in bf16
    assert bf16.harness.precision == "bf16"
    lines = (tmp_path / "bf16/mllog.txt").read_text().splitlines()
    logged = [json.loads(line.removeprefix(":::MLLOG ")) for line in lines]
    assert [e["value"] for e in logged if e["key"] == "recscale_precision"] == ["bf16"]


def test_tf32_on_the_cpu_is_recorded_and_changes_nothing(tmp_path: Path) -> None:
    _, points = load_points(REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml")
    fp32 = train_run(points[0], 0, _config(tmp_path, "fp32"), tmp_path / "fp32")
    tf32 = train_run(points[0], 0, _config(tmp_path, "tf32"), tmp_path / "tf32")
    assert tf32.harness.precision == "tf32" and tf32.final == fp32.final


def test_one_system_is_one_precision(tmp_path: Path) -> None:
    ensure_system(tmp_path, _config(tmp_path, "fp32"))
    described = json.loads((tmp_path / "systems" / "testbox.json").read_text())
    assert described["precision"] == "fp32"
    with pytest.raises(InputError, match="in fp32; this run asks for torch on cpu in bf16") as err:
        ensure_system(tmp_path, _config(tmp_path, "bf16"))
    assert err.value.problems[0].path == "precision"
