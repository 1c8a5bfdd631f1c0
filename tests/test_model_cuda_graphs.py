"""The dense part replayed as CUDA graphs (reference/model/cuda_graphs.py) trains the same model as eager.

The CUDA tests run on a GPU machine (bench/gpu_check.sh); on the CPU only the refusal is checked.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import INTERACTIONS, one_hot_batch, tiny_spec

from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer

CUDA = torch.device("cuda")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_capture_needs_a_cuda_device() -> None:
    model = build_model(tiny_spec(), "torch", torch.device("cpu"), seed=0)
    with pytest.raises(ValueError, match="CUDA"):
        model.capture_graphs(16)


def _train(spec, graphs: bool, autocast: torch.dtype | None, steps: int = 6) -> tuple[list[float], torch.Tensor]:
    """``steps`` steps of batch 16 then one of 5 (the smaller last batch runs eagerly)."""
    model = build_model(spec, "torch", CUDA, seed=3)
    optimizer = build_optimizer(model, spec.training.optimizer)
    if graphs:
        model.capture_graphs(16, autocast)
    losses = []
    sizes = [16] * steps + [5]
    for i, size in enumerate(sizes):
        batch = one_hot_batch(spec, size=size, seed=i).to(CUDA)
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            loss = F.binary_cross_entropy_with_logits(model(batch).float(), batch.labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    weights = torch.cat([p.detach().float().reshape(-1) for p in model.parameters()])
    return losses, weights


@needs_cuda
@pytest.mark.parametrize("interaction", INTERACTIONS, ids=[i["kind"] for i in INTERACTIONS])
@pytest.mark.parametrize("autocast", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_graphs_train_the_same_model_as_eager(interaction: dict, autocast: torch.dtype | None) -> None:
    spec = tiny_spec(interaction=interaction)
    eager_losses, eager_weights = _train(spec, graphs=False, autocast=autocast)
    graph_losses, graph_weights = _train(spec, graphs=True, autocast=autocast)
    tolerance = 1e-5 if autocast is None else 2e-2
    assert graph_losses == pytest.approx(eager_losses, rel=tolerance, abs=tolerance)
    torch.testing.assert_close(graph_weights, eager_weights, rtol=tolerance, atol=tolerance)


@needs_cuda
def test_evaluation_and_other_batch_sizes_run_eagerly() -> None:
    spec = tiny_spec()
    model = build_model(spec, "torch", CUDA, seed=3)
    model.capture_graphs(16)
    batch = one_hot_batch(spec, size=16, seed=1).to(CUDA)
    with torch.no_grad():
        graph_free = model(batch)  # no grad: the graphs do not apply
    model.eval()
    with torch.no_grad():
        evaluated = model(batch)
    torch.testing.assert_close(graph_free, evaluated)
    model.train()
    trained = model(batch)  # a training call of the captured size replays them
    torch.testing.assert_close(trained.detach(), evaluated, rtol=1e-5, atol=1e-5)
