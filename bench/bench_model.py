"""Training throughput of the reference DLRM: the torchrec and torch embedding backends, the torch
backend's old sparse-COO path (bench/coo_backend.py, "torch-coo") and a plain-PyTorch baseline
(``nn.EmbeddingBag(sparse=True)`` + ``torch.optim.Adagrad``), in one run.

Three configs (issue 3): the smoke model (workloads/smoke.yaml); an embedding-bound model (26
Criteo-Kaggle tables capped at 1M rows, dim 16, bottom 13-64-16, top 64-1); an MLP-bound model
(batch 2048, 26 x 100k x 64, bottom 13-512-256-64, top 512-256-1). All dot interaction, Adagrad on
both sides (dense and sparse) so that the three variants do the same arithmetic. Batches are
synthetic (ids ~ Zipf(1.1) folded onto each table, as CTR data is skewed), pre-generated and cycled.

Per config and variant: training samples/s, achieved GFLOP/s (recscale/accounting.py convention), peak
RSS while it was built and trained; a profile of one step (phases and top ops). For the MLP-bound
config, the machine's fp32 matmul GFLOP/s from plain products of its largest layer's shapes.

    flock /tmp/recscale-bench.lock .venv/bin/python bench/bench_model.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from coo_backend import build_coo_model  # bench/ is on the path when this file runs as a script
from torch import nn

from recscale import accounting as flops
from recscale.interactions import interaction_module
from recscale.load import load_workload
from recscale.spec import WorkloadSpec
from reference.data.batch import Batch
from reference.model.dlrm import build_model
from reference.model.init import init_dense, init_table
from reference.model.interactions import interaction_class
from reference.model.mlp import mlp
from reference.model.optim import build_optimizer

REPO = Path(__file__).resolve().parent.parent
THREADS = 2
BUSY_LOAD = 1.5  # 1-minute load average above which the figures are not trustworthy
ADAGRAD = {"dense": {"name": "adagrad", "lr": 0.01}, "sparse": {"name": "adagrad", "lr": 0.05}}


def _spec(name: str, data: dict[str, Any], model: dict[str, Any], batch_size: int) -> WorkloadSpec:
    return WorkloadSpec.model_validate({
        "id": name, "version": 1, "quality": {"metric": "ne", "target": 0.9},
        "data": {"source": "synthetic", "train_samples": 10**6, "eval_samples": 10**4, "synthetic": {}, **data},
        "model": {"interaction": {"kind": "dot"}, **model},
        "training": {"batch_size": batch_size, "optimizer": ADAGRAD},
    })


def configs(rows_scale: int = 1) -> dict[str, WorkloadSpec]:
    """The three configs; ``rows_scale`` > 1 divides the big tables' rows (for --quick only)."""
    smoke = load_workload(REPO / "workloads" / "smoke.yaml")
    training = smoke.training.model_copy(update={"optimizer": smoke.training.optimizer.model_validate(ADAGRAD)})
    return {
        "smoke": smoke.model_copy(update={"training": training}),
        "embedding-bound": _spec(
            "embedding-bound", {"cardinalities": "criteo_kaggle", "cardinality_cap": 1_000_000 // rows_scale},
            {"embedding": {"dim": 16}, "bottom_mlp": [64, 16], "top_mlp": [64, 1]}, 2048,
        ),
        "mlp-bound": _spec(
            "mlp-bound", {"cardinalities": [100_000 // rows_scale] * 26},
            {"embedding": {"dim": 64}, "bottom_mlp": [512, 256, 64], "top_mlp": [512, 256, 1]}, 2048,
        ),
    }


def synthetic_batches(spec: WorkloadSpec, count: int, seed: int = 0) -> list[Batch]:
    rng = np.random.default_rng(seed)
    size, cards = spec.training.batch_size, np.array(spec.data.feature_cardinalities)
    batches = []
    for _ in range(count):
        ids = (rng.zipf(1.1, size=(size, len(cards))) - 1) % cards
        dense = torch.from_numpy(np.log1p(rng.exponential(5.0, size=(size, spec.data.num_dense))).astype(np.float32))
        labels = torch.from_numpy((rng.random(size) < 0.25).astype(np.float32))
        batches.append(Batch.from_one_hot(dense, torch.from_numpy(ids), labels))
    return batches


class PlainDLRM(nn.Module):
    """The baseline: the same DLRM written plainly, nn.EmbeddingBag(sparse=True) per table."""

    def __init__(self, spec: WorkloadSpec, seed: int) -> None:
        super().__init__()
        rows, dim = spec.model.embedding.rows(spec.data.feature_cardinalities), spec.model.embedding.dim
        self.register_buffer("rows", torch.tensor(rows))
        self.tables = nn.ModuleList(
            nn.EmbeddingBag(r, dim, mode="sum", sparse=True, _weight=torch.empty(r, dim)) for r in rows
        )
        params, num_sparse = spec.model.interaction, spec.data.num_sparse
        module = interaction_module(params.kind)
        self.bottom = mlp(spec.data.num_dense, spec.model.bottom_mlp, relu_after_last=True)
        self.interaction = interaction_class(params.kind)(params, num_sparse, dim)
        self.top = mlp(module.output_dim(params, num_sparse, dim), spec.model.top_mlp, relu_after_last=False)
        generator = torch.Generator().manual_seed(seed)
        for table in self.tables:
            init_table(table.weight, generator)
        for part in (self.bottom, self.interaction, self.top):
            init_dense(part, generator)

    def forward(self, batch: Batch) -> torch.Tensor:
        ids = batch.one_hot_ids() % self.rows.unsqueeze(1)  # [F, B]
        offsets = torch.arange(batch.size)
        pooled = torch.stack([table(ids[f], offsets) for f, table in enumerate(self.tables)], dim=1)
        return self.top(self.interaction(self.bottom(batch.dense), pooled)).squeeze(1)


class PlainOptimizer:
    """torch.optim.Adagrad over everything (sparse gradients for the tables)."""

    def __init__(self, model: PlainDLRM, spec: WorkloadSpec) -> None:
        opt = spec.training.optimizer
        dense = [p for name, p in model.named_parameters() if not name.startswith("tables.")]
        self.adagrad = torch.optim.Adagrad([
            {"params": list(model.tables.parameters()), "lr": opt.sparse.lr, "eps": opt.sparse.eps},
            {"params": dense, "lr": opt.dense.lr, "eps": opt.dense.eps},
        ])

    def zero_grad(self) -> None:
        self.adagrad.zero_grad(set_to_none=True)

    def step(self) -> None:
        self.adagrad.step()


def build_variant(variant: str, spec: WorkloadSpec) -> tuple[nn.Module, Any]:
    if variant == "plain":
        model = PlainDLRM(spec, seed=0)
        return model, PlainOptimizer(model, spec)
    if variant == "torch-coo":
        return build_coo_model(spec, torch.device("cpu"), seed=0)
    model = build_model(spec, variant, torch.device("cpu"), seed=0)  # type: ignore[arg-type]
    return model, build_optimizer(model, spec.training.optimizer)


def train_step(model: nn.Module, optimizer: Any, batch: Batch) -> None:
    with torch.profiler.record_function("zero_grad"):
        optimizer.zero_grad()
    with torch.profiler.record_function("forward"):
        loss = nn.functional.binary_cross_entropy_with_logits(model(batch), batch.labels)
    with torch.profiler.record_function("backward"):
        loss.backward()
    with torch.profiler.record_function("optimizer.step"):
        optimizer.step()


def _rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


VARIANTS = ("torchrec", "torch", "torch-coo", "plain")


@dataclass(frozen=True)
class Budget:
    """How long to measure: timed seconds per variant, in windows of ``window_s`` (at least
    ``min_windows``); steps averaged in the profile."""

    seconds: float
    window_s: float
    min_windows: int
    profiled_steps: int


FULL = Budget(seconds=6.0, window_s=0.5, min_windows=5, profiled_steps=3)
QUICK = Budget(seconds=0.6, window_s=0.2, min_windows=3, profiled_steps=1)
QUICK_ROWS_SCALE = 10  # --quick builds tables 10x smaller: building them dominates a short run


@dataclass
class Built:
    model: nn.Module
    optimizer: Any
    added_rss_mib: float  # RSS the build and 3 warm-up steps added
    build_s: float  # seconds to build the model and its optimizer
    rates: list[float]  # samples/s of each timed window


def build_and_warm(variant: str, spec: WorkloadSpec, batches: list[Batch]) -> Built:
    gc.collect()
    start_rss, began = _rss_mib("VmRSS"), time.perf_counter()
    model, optimizer = build_variant(variant, spec)
    build_s = time.perf_counter() - began
    for batch in batches[:3]:  # warm-up: allocator, optimizer state, lazy inits
        train_step(model, optimizer, batch)
    return Built(model, optimizer, _rss_mib("VmRSS") - start_rss, build_s, [])


def time_window(built: Built, batches: list[Batch], first: int, window_s: float) -> int:
    """Train for about ``window_s``; record the rate; return the steps taken."""
    steps, began = 0, time.perf_counter()
    while steps < 2 or time.perf_counter() - began < window_s:
        train_step(built.model, built.optimizer, batches[(first + steps) % len(batches)])
        steps += 1
    built.rates.append(steps * batches[0].size / (time.perf_counter() - began))
    return steps


def measure(spec: WorkloadSpec, batches: list[Batch], budget: Budget) -> dict[str, Built]:
    """All variants built side by side, then timed in interleaved windows (torchrec, torch, torch-coo,
    plain, torchrec, ...) so that other processes on the cores slow them alike."""
    built = {variant: build_and_warm(variant, spec, batches) for variant in VARIANTS}
    steps, began, total_s = 0, time.perf_counter(), budget.seconds * len(VARIANTS)
    while time.perf_counter() - began < total_s or len(built["plain"].rates) < budget.min_windows:
        for variant in VARIANTS:
            steps += time_window(built[variant], batches, steps, budget.window_s)
    return built


def profile_steps(built: Built, batches: list[Batch], steps: int, top: int = 6) -> str:
    """``steps`` steps under torch.profiler: mean time per phase, then the top ops by self CPU time."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            train_step(built.model, built.optimizer, batches[i % len(batches)])
    events = prof.key_averages()
    phases = {e.key: e.cpu_time_total / 1e3 / steps for e in events if e.key in
              ("zero_grad", "forward", "backward", "optimizer.step")}
    total = sum(phases.values())
    lines = ["    phases (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()) + f"; step {total:.1f}"]
    ops = sorted((e for e in events if e.key not in phases), key=lambda e: e.self_cpu_time_total, reverse=True)
    for event in ops[:top]:
        per_step = event.self_cpu_time_total / 1e3 / steps
        share = per_step / total if total else 0.0
        lines.append(f"      {per_step:7.2f} ms {share:5.1%}  x{event.count // steps:<4d} {event.key}")
    return "\n".join(lines)


def matmul_gflops(spec: WorkloadSpec, budget: Budget) -> tuple[list[float], str]:
    """fp32 GFLOP/s, per window, of the three products of training the top MLP's largest layer
    (forward [B, K] x [K, N], grad input, grad weight) as plain torch.mm."""
    batch, k, n = spec.training.batch_size, flops.top_mlp_inputs(spec), spec.model.top_mlp[0]
    x, w, g = torch.randn(batch, k), torch.randn(k, n), torch.randn(batch, n)
    products = [(x, w), (g, w.t()), (x.t(), g)]
    rates: list[float] = []
    began = time.perf_counter()
    while len(rates) < budget.min_windows or time.perf_counter() - began < min(budget.seconds, 2.0):
        count, window_began = 0, time.perf_counter()
        while count < 3 or time.perf_counter() - window_began < budget.window_s:
            for a, b in products:
                torch.mm(a, b)
            count += 1
        rates.append(count * 3 * 2 * batch * k * n / (time.perf_counter() - window_began) / 1e9)
    return rates, f"{batch}x{k}x{n} (forward, grad input, grad weight)"


def report(name: str, spec: WorkloadSpec, budget: Budget) -> None:
    """Measure one config's variants and print throughput, memory, profiles, ratios."""
    train_flops = flops.train_flops_per_example(spec)["total"]
    params = flops.param_counts(spec)
    print(f"\n== {name}: batch {spec.training.batch_size}, {params['total'] / 1e6:.1f}M parameters "
          f"({params['embedding'] / 1e6:.1f}M in tables), {train_flops / 1e6:.3f} MFLOP/example (train)")
    batches = synthetic_batches(spec, count=8)
    built = measure(spec, batches, budget)
    median = {variant: statistics.median(b.rates) for variant, b in built.items()}
    best = {variant: max(b.rates) for variant, b in built.items()}
    for variant, b in built.items():
        print(f"  {variant:9s} {median[variant]:9,.0f} samples/s median, {best[variant]:9,.0f} best of "
              f"{len(b.rates)} windows; {median[variant] * train_flops / 1e9:6.2f} GFLOP/s; "
              f"+{b.added_rss_mib:,.0f} MiB RSS (build + warm-up); built in {b.build_s:.1f} s")
    for variant, baseline in (("torchrec", "plain"), ("torch", "plain"), ("torch-coo", "plain"),
                              ("torch", "torch-coo"), ("torch", "torchrec")):
        print(f"  {variant} / {baseline}: {median[variant] / median[baseline]:.2f}x (medians), "
              f"{best[variant] / best[baseline]:.2f}x (best windows)")
    if name == "mlp-bound":
        rates, shape = matmul_gflops(spec, budget)
        print(f"  matmul {shape}: {statistics.median(rates):.1f} GFLOP/s median, {max(rates):.1f} best")
        for variant in VARIANTS:
            achieved = median[variant] * train_flops / 1e9
            print(f"  {variant} achieves {achieved:.1f} GFLOP/s = {achieved / statistics.median(rates):.0%} "
                  f"of matmul (medians), {best[variant] * train_flops / 1e9 / max(rates):.0%} (best)")
    for variant, b in built.items():
        print(f"  profile, {variant} (per step, mean of {budget.profiled_steps}):")
        print(profile_steps(b, batches, budget.profiled_steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 20 s instead of about 3 minutes")
    parser.add_argument("--configs", nargs="*", choices=list(configs()), default=None, help="a subset of the configs")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    budget = QUICK if args.quick else FULL
    print(f"torch {torch.__version__}, {THREADS} threads, about {budget.seconds:.1f} s timed per variant in "
          f"{budget.window_s} s windows, variants interleaved; load average {os.getloadavg()[0]:.2f} at start "
          "(other processes may share the cores: figures are indicative)")
    if os.getloadavg()[0] > BUSY_LOAD:
        print(f"WARNING: the machine is busy (load > {BUSY_LOAD}); with the cores oversubscribed, OpenMP "
              "kernels (fbgemm's most) slow down far more than others: figures will mislead")
    if args.quick:
        print(f"--quick: tables {QUICK_ROWS_SCALE}x smaller than the configs', a check that the benchmark runs")
    for name, spec in configs(QUICK_ROWS_SCALE if args.quick else 1).items():
        if not args.configs or name in args.configs:
            report(name, spec, budget)
    print(f"\npeak RSS of the whole run: {_rss_mib('VmHWM'):,.0f} MiB")


if __name__ == "__main__":
    main()
