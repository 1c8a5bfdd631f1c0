"""Training throughput on a GPU (issue 12): the torch backend's table-batched embedding (reference/model/tbe.py,
each kernel) beside the old sparse-COO backend (bench/coo_backend.py) and torchrec where it runs, in one run.

Configs: the study-data-gpu model (dim 64, tables capped at 1M rows) at batch 16,384 and 65,536; the
MLPerf DLRM-DCNv2 model with tables capped at 1M rows at batch 65,536, one-hot and with MLPerf's
multi-hot input (recscale.cardinalities.CRITEO_1TB_MULTI_HOT_SIZES, 214 ids per example).
Precisions: fp32, tf32 (TF32 matmuls), bf16 (autocast over the dense parts); tables and optimizer
state stay fp32. Batches are synthetic (uniform ids), generated on the device and cycled, so the
figures are the model's step alone: samples/s (CUDA events around the timed steps), achieved TFLOP/s
(recscale.accounting.train_flops_per_example) and embedding GB/s
(recscale.accounting.embedding_bytes_per_example: the table and optimizer-state bytes the update
must move, duplicates counted). Then a determinism check: each variant trained twice from one seed.

--end-to-end: samples/s through harness.runner.train_run (synthetic data generated on disk, staged and
batched by the loader `recscale run` would pick, --loader to choose another; evaluation excluded), on
the data-gpu-16k model, per precision, beside the best on-device figure of the same model and
precision: the ratio is the pipeline's efficiency (issue 12's goal: >= 90% on an H200). Each precision
is run twice from the same data in one process and both are printed: the second is the steady state
(kernels compiled, allocator warm), which is what the on-device figure measures too.

    python bench/bench_gpu.py                            # CUDA: everything, about 2-3 minutes on an H200
    python bench/bench_gpu.py --device cpu --small       # the same at small sizes on the CPU
    python bench/bench_gpu.py --end-to-end               # + samples/s through harness.runner.train_run
    python bench/bench_gpu.py --configs data-gpu-16k --precisions fp32 --end-to-end --no-determinism
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from coo_backend import build_coo_model  # bench/ is on the path when this file runs as a script
from torch import nn

from harness.runner import RunConfig, train_run
from recscale.accounting import embedding_bytes_per_example, train_flops_per_example
from recscale.cardinalities import CRITEO_1TB_MULTI_HOT_SIZES
from recscale.load import load_workload
from recscale.spec import WorkloadSpec
from recscale.sweep import Point
from reference.data.batch import Batch
from reference.data.loader import open_dataset
from reference.data.pipeline import LOADER_CHOICES
from reference.model import tbe_triton
from reference.model.dlrm import build_model
from reference.model.optim import build_optimizer
from reference.model.precision import autocast, autocast_dtype, matmul_precision

REPO = Path(__file__).resolve().parent.parent
PRECISIONS = ("fp32", "tf32", "bf16")
GRAPHED = "tbe+graphs"  # the variant whose dense part replays CUDA graphs, captured per batch size and precision
MEASUREMENT_S = 2.0  # about the longest one measurement (warm-up + timed steps) may take
# Goals of issue 12 (H200, samples/s): (config, precision) -> figure the best torch kernel must reach.
GOALS = {("data-gpu-16k", "fp32"): 5.0e6, ("dcnv2-1hot", "bf16"): 3.0e6, ("dcnv2-1hot", "tf32"): 1.6e6,
         ("dcnv2-multihot", "bf16"): 2.5e6}


@dataclass(frozen=True)
class Config:
    name: str
    model: str  # configs of one model share its built variants
    spec: WorkloadSpec
    multi_hot: tuple[int, ...] | None  # ids per example of each feature; None: one-hot

    @property
    def batch_size(self) -> int:
        return self.spec.training.batch_size


def _resized(spec: WorkloadSpec, cap: int, batch_size: int) -> WorkloadSpec:
    return spec.model_copy(update={"data": spec.data.model_copy(update={"cardinality_cap": cap}),
                                   "training": spec.training.model_copy(update={"batch_size": batch_size})})


def configs(small: bool) -> list[Config]:
    """Full sizes, or (``small``) tables capped at 20k rows and batches 64x (data-gpu) or 1024x
    (DCNv2) smaller, for the CPU."""
    data_gpu = load_workload(REPO / "workloads" / "study-data-gpu.yaml")
    dcn = load_workload(REPO / "workloads" / "dlrm-dcnv2-criteo1tb.yaml")
    cap = 20_000 if small else 1_000_000
    data_batches = (256, 1024) if small else (16_384, 65_536)
    dcn_batch = 64 if small else 65_536
    return [
        Config("data-gpu-16k", "data-gpu", _resized(data_gpu, cap, data_batches[0]), None),
        Config("data-gpu-64k", "data-gpu", _resized(data_gpu, cap, data_batches[1]), None),
        Config("dcnv2-1hot", "dcnv2", _resized(dcn, cap, dcn_batch), None),
        Config("dcnv2-multihot", "dcnv2", _resized(dcn, cap, dcn_batch), CRITEO_1TB_MULTI_HOT_SIZES),
    ]


def device_batches(config: Config, device: torch.device, count: int = 4) -> list[Batch]:
    """``count`` synthetic batches on ``device``: uniform ids per table, fixed bag sizes when multi-hot."""
    spec, size = config.spec, config.batch_size
    gen = torch.Generator(device=device).manual_seed(0)
    cards = spec.data.feature_cardinalities
    sizes = config.multi_hot or (1,) * len(cards)
    batches = []
    for _ in range(count):
        values = torch.cat([torch.randint(0, card, (n * size,), device=device, generator=gen)
                            for card, n in zip(cards, sizes, strict=True)])
        lengths = torch.tensor(sizes, dtype=torch.int32, device=device).unsqueeze(1).expand(-1, size).contiguous()
        dense = torch.rand(size, spec.data.num_dense, device=device, generator=gen)
        labels = (torch.rand(size, device=device, generator=gen) < 0.25).float()
        batches.append(Batch(dense, values, lengths, labels, one_hot=config.multi_hot is None))
    return batches


def variants(device: torch.device) -> dict[str, Callable[[WorkloadSpec], tuple[nn.Module, Any]]]:
    """name -> build(spec) -> (model, optimizer), for those that can run on ``device``."""

    def tbe(kernel: str) -> Callable[[WorkloadSpec], tuple[nn.Module, Any]]:
        def build(spec: WorkloadSpec) -> tuple[nn.Module, Any]:
            model = build_model(spec, "torch", device, seed=0)
            model.sparse_arch.embedding_bag_collection.kernel = kernel
            return model, build_optimizer(model, spec.training.optimizer)
        return build

    def torchrec(spec: WorkloadSpec) -> tuple[nn.Module, Any]:
        model = build_model(spec, "torchrec", device, seed=0)
        return model, build_optimizer(model, spec.training.optimizer)

    built: dict[str, Callable[[WorkloadSpec], tuple[nn.Module, Any]]] = {}
    if device.type == "cuda":  # the dense part as CUDA graphs (reference/model/cuda_graphs.py), best kernel
        built[GRAPHED] = tbe("triton" if tbe_triton.available() else "atomic")
    if device.type == "cuda" and tbe_triton.available():
        built["tbe-triton"] = tbe("triton")
    built["tbe-sorted"], built["tbe-atomic"] = tbe("sorted"), tbe("atomic")
    built["coo (old)"] = lambda spec: build_coo_model(spec, device, seed=0)
    built["torchrec"] = torchrec
    return built


def train_step(model: nn.Module, optimizer: Any, batch: Batch, precision_name: str) -> torch.Tensor:
    """One step as harness.runner takes it: the forward under the precision's autocast (the TF32
    settings are the caller's: reference.model.precision.matmul_precision around all steps)."""
    optimizer.zero_grad()
    with autocast(precision_name, batch.dense.device):  # type: ignore[arg-type]
        logits = model(batch)
    loss = nn.functional.binary_cross_entropy_with_logits(logits.float(), batch.labels)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(model: nn.Module, optimizer: Any, batches: list[Batch], precision_name: str,
                     warmup: int, steps: int) -> float:
    """Mean seconds of ``steps`` timed steps after ``warmup`` untimed ones; a slow variant (the old
    backend) gets fewer of both, so that no measurement takes much over MEASUREMENT_S."""
    device = batches[0].dense.device

    def run(count: int, first: int = 0) -> None:
        for i in range(first, first + count):
            train_step(model, optimizer, batches[i % len(batches)], precision_name)

    run(1)  # first step: allocations, kernel compilation
    _synchronize(device)
    began = time.perf_counter()
    run(1, first=1)
    _synchronize(device)
    estimate = time.perf_counter() - began
    fits = max(1, int(MEASUREMENT_S / max(estimate, 1e-6)))
    run(max(0, min(warmup, fits // 4) - 2), first=2)
    steps = max(2, min(steps, fits))
    _synchronize(device)
    if device.type != "cuda":
        began = time.perf_counter()
        run(steps)
        return (time.perf_counter() - began) / steps
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    run(steps)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / steps


@dataclass
class Row:
    config: Config
    precision: str
    variant: str
    step_s: float | None  # None: the variant could not run
    note: str = ""

    @property
    def samples_per_s(self) -> float:
        return self.config.batch_size / self.step_s if self.step_s else 0.0


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def measure(config_list: list[Config], precisions: list[str], device: torch.device, warmup: int,
            steps: int) -> list[Row]:
    """Every variant once per model (built, then every config and precision of that model, then freed)."""
    rows: list[Row] = []
    for model_name in dict.fromkeys(c.model for c in config_list):
        group = [c for c in config_list if c.model == model_name]
        batches = {c.name: device_batches(c, device) for c in group}
        for variant, build in variants(device).items():
            try:
                model, optimizer = build(group[0].spec)
            except (ImportError, RuntimeError, ValueError, AssertionError) as error:
                rows += [Row(c, p, variant, None, f"n/a: {type(error).__name__}: {str(error)[:60]}")
                         for c in group for p in precisions]
                continue
            for config in group:
                for name in precisions:
                    try:
                        with matmul_precision(name, device):  # type: ignore[arg-type]
                            if variant == GRAPHED:
                                model.capture_graphs(config.batch_size, autocast_dtype(name))  # type: ignore[arg-type]
                            step_s = seconds_per_step(model, optimizer, batches[config.name], name, warmup, steps)
                        rows.append(Row(config, name, variant, step_s))
                    except (RuntimeError, NotImplementedError) as error:  # e.g. out of memory, no bf16 kernel
                        rows.append(Row(config, name, variant, None, f"failed: {str(error)[:70]}"))
                    rate = f"{rows[-1].samples_per_s:,.0f} samples/s" if rows[-1].step_s else rows[-1].note
                    print(f"  measured {config.name} {name} {variant}: {rate}", flush=True)
            del model, optimizer
            _free(device)
        del batches
        _free(device)
    return rows


def print_table(rows: list[Row]) -> None:
    header = (f"{'config':15s} {'batch':>6s} {'prec':4s} {'variant':11s} {'samples/s':>12s} {'ms/step':>8s} "
              f"{'TFLOP/s':>8s} {'emb GB/s':>9s} {'vs coo':>7s}")
    print(header)
    print("-" * len(header))
    old = {(r.config.name, r.precision): r.samples_per_s for r in rows if r.variant == "coo (old)"}
    for row in rows:
        if row.step_s is None:
            print(f"{row.config.name:15s} {row.config.batch_size:6d} {row.precision:4s} {row.variant:11s} {row.note}")
            continue
        rate, spec, ids = row.samples_per_s, row.config.spec, row.config.multi_hot
        tflops = rate * train_flops_per_example(spec, ids)["total"] / 1e12
        gbs = rate * embedding_bytes_per_example(spec, ids) / 1e9
        baseline = old.get((row.config.name, row.precision))
        ratio = f"{rate / baseline:6.2f}x" if baseline else "      -"
        print(f"{row.config.name:15s} {row.config.batch_size:6d} {row.precision:4s} {row.variant:11s} {rate:12,.0f} "
              f"{row.step_s * 1e3:8.2f} {tflops:8.3f} {gbs:9.2f} {ratio}")


def print_goals(rows: list[Row]) -> None:
    for (config, name), goal in GOALS.items():
        candidates = [r for r in rows if r.config.name == config and r.precision == name and r.step_s
                      and r.variant.startswith("tbe")]
        if candidates:
            best = max(candidates, key=lambda r: r.samples_per_s)
            verdict = "met" if best.samples_per_s >= goal else "NOT met"
            print(f"goal {config} {name} >= {goal / 1e6:.1f}M samples/s: {best.samples_per_s / 1e6:.2f}M "
                  f"({best.variant}) -> {verdict} (goals are H200 figures)")


def determinism(config: Config, device: torch.device, steps: int = 4) -> None:
    """Each variant trained ``steps`` steps twice from one seed (tables capped at 100k rows): are the
    losses and tables bit for bit the same?"""
    spec = _resized(config.spec, min(100_000, config.spec.data.cardinality_cap or 100_000), config.batch_size)
    small = Config(config.name, config.model, spec, config.multi_hot)
    batches = device_batches(small, device)
    print(f"\ndeterminism: {config.name} (tables capped at 100k rows), {steps} fp32 steps, twice per variant")
    for variant, build in variants(device).items():
        runs = []
        try:
            for _ in range(2):
                model, optimizer = build(spec)
                if variant == GRAPHED:
                    model.capture_graphs(small.batch_size)
                losses = [train_step(model, optimizer, batches[i % len(batches)], "fp32") for i in range(steps)]
                tables = torch.cat([t.detach().reshape(-1) for t in model.sparse_arch.tables()])
                runs.append((torch.stack(losses).cpu(), tables.cpu()))
                del model, optimizer
        except (ImportError, RuntimeError, ValueError, AssertionError) as error:
            print(f"  {variant:11s} n/a: {type(error).__name__}: {str(error)[:60]}")
            continue
        (loss_a, table_a), (loss_b, table_b) = runs
        if torch.equal(loss_a, loss_b) and torch.equal(table_a, table_b):
            print(f"  {variant:11s} identical")
        else:
            print(f"  {variant:11s} DIFFERS: max |d loss| {(loss_a - loss_b).abs().max():.3g}, "
                  f"max |d table| {(table_a - table_b).abs().max():.3g}")
        _free(device)


def end_to_end(config: Config, precisions: list[str], device: torch.device, data_root: Path, rows: int,
               loader: str, on_device: list[Row]) -> None:
    """samples/s through harness.runner.train_run on `config`'s model (torch backend), its data cut to
    `rows` training rows (generated once under data_root, not timed) and one evaluation at the end;
    twice per precision, beside the best on-device figure of the same config and precision."""
    eval_rows = 65_536 if device.type == "cuda" else 4_096
    spec = config.spec.model_copy(update={
        "data": config.spec.data.model_copy(update={"train_samples": rows, "fraction": 1.0, "eval_samples": eval_rows}),
        "training": config.spec.training.model_copy(update={"eval_every": 1.0}),
    })
    point = Point(spec.id, f"bench-{config.name}", {}, spec)
    open_dataset(spec, data_root)  # generates the data if missing: not timed below
    print(f"\nend to end: {config.name} (batch {config.batch_size:,}), {rows:,} training rows, --loader {loader}, "
          "train_run twice per precision (the second: steady state)")
    for name in precisions:
        run = RunConfig(submitter="bench", division="open", system="bench", backend="torch", device=device.type,
                        data_root=data_root, progress=False, precision=name, loader=loader)  # type: ignore[arg-type]
        rates, staged = [], ""
        with tempfile.TemporaryDirectory() as tmp:
            for attempt in range(2):
                result = train_run(point, 0, run, Path(tmp) / f"run{attempt}")
                if result is None:  # only a process other than the main one gets none
                    raise SystemExit("train_run gave no record")
                rates.append(result.train_samples_per_s)
                staged = f"staging {result.staging_s:.2f} s"
            staged += f", {_loader_of(Path(tmp) / 'run1')}"
        best = max((r.samples_per_s for r in on_device if r.config.name == config.name and r.precision == name
                    and r.variant.startswith("tbe") and r.step_s), default=0.0)
        ratio = f" = {rates[1] / best:.0%} of the on-device {best:,.0f} (goal >= 90% on an H200)" if best else ""
        print(f"  {name}: {rates[0]:,.0f} then {rates[1]:,.0f} samples/s{ratio}; {staged}")


def _loader_of(run_dir: Path) -> str:
    """What the loader choice became, from the run's log (metadata of recscale_staging_s)."""
    for line in (run_dir / "mllog.txt").read_text().splitlines():
        event = json.loads(line.removeprefix(":::MLLOG "))
        if event["key"] == "recscale_staging_s":
            meta = event["metadata"]
            return f"loader {meta['loader']} on {meta['device']} ({meta['staged_bytes'] / 2**30:.2f} GiB staged)"
    return "loader not logged"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cuda", "cpu"])
    parser.add_argument("--small", action="store_true", help="small tables and batches (default on the CPU)")
    parser.add_argument("--configs", nargs="*", default=None, help="a subset of the configs (names as printed)")
    parser.add_argument("--precisions", nargs="*", choices=PRECISIONS, default=None,
                        help="default: all three on CUDA, fp32 on the CPU")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per measurement (CUDA 5, CPU 1)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per measurement (CUDA 20, CPU 3)")
    parser.add_argument("--no-determinism", action="store_true", help="skip the run-to-run check")
    parser.add_argument("--end-to-end", action="store_true", help="also time train_run on the data-gpu-16k model")
    parser.add_argument("--rows", type=int, default=None, help="the --end-to-end training rows (CUDA 8,388,608, "
                        "CPU 16,384)")
    parser.add_argument("--loader", choices=LOADER_CHOICES, default="auto", help="the --end-to-end loader")
    parser.add_argument("--data-root", type=Path, default=Path("data"), help="the --end-to-end data")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False (use --device cpu)")
    small = args.small or not cuda
    config_list = [c for c in configs(small) if args.configs is None or c.name in args.configs]
    if not config_list:
        raise SystemExit(f"no config among {args.configs}; known: {[c.name for c in configs(small)]}")
    precisions = args.precisions or (list(PRECISIONS) if cuda else ["fp32"])
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    steps = args.steps if args.steps is not None else (20 if cuda else 3)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {name}; Triton {'available' if tbe_triton.available() else 'absent'}; "
          f"{'small' if small else 'full'} sizes; {warmup} warm-up + {steps} timed steps per row; uniform ids")
    began = time.perf_counter()
    rows = measure(config_list, precisions, device, warmup, steps)
    print()
    print_table(rows)
    if cuda:
        print_goals(rows)
    if not args.no_determinism:
        determinism(config_list[0], device)
    if args.end_to_end:
        model = next(c for c in configs(small) if c.name == "data-gpu-16k")
        rows_e2e = args.rows or (8_388_608 if cuda else 16_384)
        end_to_end(model, precisions, device, args.data_root, rows_e2e, args.loader, rows)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
