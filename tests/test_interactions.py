"""The interactions (dot, DCNv2, Wukong): shapes, values, parameter and FLOP accounting."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from recscale.interactions import dcn, dot, interaction_module, interaction_modules, wukong
from reference.model.init import init_dense
from reference.model.interactions import interaction_class

F, D, B = 5, 4, 3
EXAMPLES = {
    "dot": dot.Params(),
    "dcn": dcn.Params(layers=2, low_rank=3),
    "wukong": wukong.Params(layers=3, fmb_features=2, lcb_features=3, fmb_rank=2, fmb_mlp=[7, 5]),
}


def _build(params: object, num_sparse: int = F, dim: int = D, seed: int = 0) -> torch.nn.Module:
    module = interaction_class(params.kind)(params, num_sparse, dim)
    init_dense(module, torch.Generator().manual_seed(seed))
    return module


def _inputs(num_sparse: int = F, dim: int = D, batch: int = B) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(batch, dim, generator=gen), torch.randn(batch, num_sparse, dim, generator=gen)


def test_every_registered_interaction_has_an_example() -> None:
    assert set(interaction_modules()) == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_interaction_has_its_nn_module(kind: str) -> None:
    """Both halves of an interaction exist: recscale.interactions.<kind> and its nn.Module."""
    assert issubclass(interaction_class(kind), torch.nn.Module)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_bf16_autocast_forward_and_backward(kind: str) -> None:
    """Under bf16 autocast (RecScale's --precision bf16) every interaction runs forward and backward, and
    the gradients reach fp32 inputs in fp32, close to the fp32 ones."""
    net = _build(EXAMPLES[kind])
    grads = {}
    for autocast in (False, True):
        dense, sparse = (t.requires_grad_() for t in _inputs())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = net(dense, sparse)
        # A fixed random projection: a loss like sum(out^2) has a near-zero gradient after a LayerNorm.
        projection = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
        (out.float() * projection).sum().backward()
        assert dense.grad is not None and sparse.grad is not None
        assert sparse.grad.dtype == torch.float32 and torch.isfinite(sparse.grad).all()
        grads[autocast] = sparse.grad
    scale = grads[False].abs().max()
    assert (grads[True] - grads[False]).abs().max() <= 0.1 * scale  # bf16 keeps ~3 significant digits


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_shape_parameters_and_gradients(kind: str) -> None:
    params = EXAMPLES[kind]
    module = interaction_module(kind)
    net = _build(params)
    dense, sparse = _inputs()
    dense.requires_grad_()
    sparse.requires_grad_()
    out = net(dense, sparse)
    assert out.shape == (B, module.output_dim(params, F, D))
    assert sum(p.numel() for p in net.parameters()) == module.param_count(params, F, D)
    out.square().sum().backward()
    assert dense.grad is not None and dense.grad.abs().sum() > 0
    assert sparse.grad is not None and sparse.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_matrix_product_flops_match_torch_flop_counter(kind: str) -> None:
    """forward_flops minus its element-wise terms = what torch's FlopCounterMode sees (matmuls)."""
    params = EXAMPLES[kind]
    net = _build(params)
    dense, sparse = _inputs(batch=1)
    with FlopCounterMode(display=False) as counter:
        net(dense, sparse)
    counted = counter.get_total_flops()
    if kind == "dot":
        # bmm computes the whole (F+1)^2 Gram matrix; the model needs its strict upper triangle.
        assert counted == 2 * (F + 1) ** 2 * D
        assert dot.forward_flops(params, F, D) == 2 * D * (F + 1) * F // 2
    elif kind == "dcn":
        width = (F + 1) * D
        assert counted == dcn.forward_flops(params, F, D) - params.layers * 3 * width
    else:
        elementwise = 0
        for num_in in wukong.layer_inputs(params, F):
            num_out = params.fmb_features + params.lcb_features
            widths = wukong.fmb_widths(params, num_in, D)
            elementwise += 7 * num_in * params.fmb_rank + sum(widths[1:])  # FM LayerNorm, MLP biases
            elementwise += num_out * D + 7 * num_out * D  # residual add, output LayerNorm
        assert counted == wukong.forward_flops(params, F, D) - elementwise


def test_dot_values() -> None:
    net = _build(EXAMPLES["dot"])
    dense, sparse = _inputs()
    out = net(dense, sparse)
    vectors = torch.cat((dense.unsqueeze(1), sparse), dim=1)
    pairs = [(vectors[:, i] * vectors[:, j]).sum(-1) for i in range(F + 1) for j in range(i + 1, F + 1)]
    torch.testing.assert_close(out, torch.cat((dense, torch.stack(pairs, dim=1)), dim=1))


def test_dot_matches_torchrec() -> None:
    torchrec_dlrm = pytest.importorskip("torchrec.models.dlrm")
    dense, sparse = _inputs()
    expected = torchrec_dlrm.InteractionArch(num_sparse_features=F)(dense, sparse)
    torch.testing.assert_close(_build(EXAMPLES["dot"])(dense, sparse), expected)


def test_dcn_values_and_torchrec_parity() -> None:
    params = EXAMPLES["dcn"]
    net = _build(params)
    dense, sparse = _inputs()
    out = net(dense, sparse)
    x0 = torch.cat((dense, sparse.flatten(1)), dim=1)
    x = x0
    for v, w, b in zip(net.V_kernels, net.W_kernels, net.bias, strict=True):
        x = x0 * (x @ v.T @ w.T + b) + x
    torch.testing.assert_close(out, x)
    crossnet = pytest.importorskip("torchrec.modules.crossnet")
    reference = crossnet.LowRankCrossNet(in_features=(F + 1) * D, num_layers=params.layers, low_rank=params.low_rank)
    reference.load_state_dict(net.state_dict())  # same parameter names and shapes
    torch.testing.assert_close(out, reference(x0))


def test_dcn_init_as_torchrec() -> None:
    net = _build(dcn.Params(layers=1, low_rank=64), num_sparse=26, dim=16)
    assert all(b.abs().sum() == 0 for b in net.bias)
    expected_std = (2.0 / (64 + 27 * 16)) ** 0.5
    assert abs(net.V_kernels[0].std().item() - expected_std) < 0.05 * expected_std


def test_wukong_layer_values() -> None:
    """One layer recomputed from the paper's equations with the module's own weights."""
    params = wukong.Params(layers=1, fmb_features=2, lcb_features=2, fmb_rank=3, fmb_mlp=[6])
    net = _build(params)
    dense, sparse = _inputs()
    layer = net.layers[0]
    x = torch.cat((dense.unsqueeze(1), sparse), dim=1)  # [B, n=F+1, D]
    fm = torch.einsum("bnd,bmd,mk->bnk", x, x, layer.fmb.projection)  # X X^T Y
    fmb = layer.fmb.mlp(torch.nn.functional.layer_norm(fm.flatten(1), (fm[0].numel(),)))
    lcb = torch.einsum("on,bnd->bod", layer.lcb.weight, x)
    residual = torch.einsum("on,bnd->bod", layer.residual.weight, x)  # F + 1 != n_F + n_L: adapted
    expected = torch.nn.functional.layer_norm(torch.cat((fmb.view(B, 2, D), lcb), dim=1) + residual, (D,))
    torch.testing.assert_close(net(dense, sparse), expected.flatten(1))


def test_wukong_residual_adapter_only_when_needed() -> None:
    params = wukong.Params(layers=2, fmb_features=3, lcb_features=3, fmb_rank=2, fmb_mlp=[4])
    net = _build(params)  # F + 1 = 6 = n_F + n_L: identity residual in every layer
    assert all(isinstance(layer.residual, torch.nn.Identity) for layer in net.layers)
    assert wukong.param_count(params, F, D) == sum(p.numel() for p in net.parameters())
    wide = _build(EXAMPLES["wukong"])
    assert not isinstance(wide.layers[0].residual, torch.nn.Identity)
    assert all(isinstance(layer.residual, torch.nn.Identity) for layer in wide.layers[1:])


def test_hand_counted_flops_and_params() -> None:
    """Small cases worked out by hand (F = 2 features, D = 2)."""
    assert dot.output_dim(dot.Params(), 2, 2) == 2 + 3 and dot.forward_flops(dot.Params(), 2, 2) == 12
    one = dcn.Params(layers=1, low_rank=1)  # N = 6: V 6, W 6, b 6; flops 2*6 + 2*6 + 3*6
    assert dcn.param_count(one, 2, 2) == 18 and dcn.forward_flops(one, 2, 2) == 42
    tiny = wukong.Params(layers=1, fmb_features=1, lcb_features=2, fmb_rank=1, fmb_mlp=[1])
    # n = 3 = n_F + n_L (no adapter). Params: Y 3, LN(3) 6, MLP 3*1+1 + 1*2+2, W_L 2*3, LN(D) 4 = 27.
    assert wukong.param_count(tiny, 2, 2) == 27
    # FLOPs: FM 4*3*2*1 = 24, LN 21, MLP (2*3+1) + (2*2+2) = 13, LCB 2*2*3*2 = 24, residual 6, LN 42.
    assert wukong.forward_flops(tiny, 2, 2) == 24 + 21 + 13 + 24 + 6 + 42


def test_spec_and_accounting_import_without_torch() -> None:
    """The spec language and recscale/accounting.py stay torch-free (fast validation, scorer)."""
    code = "import sys, recscale.spec, recscale.accounting; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_dot_gradient_is_exact() -> None:
    """The dot interaction's hand-written backward (one bmm) against finite differences."""
    net = _build(EXAMPLES["dot"])
    dense, sparse = (t.double().requires_grad_() for t in _inputs())
    assert torch.autograd.gradcheck(net, (dense, sparse))
