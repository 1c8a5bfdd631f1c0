"""One timed run: one point of a workload, one seed, trained for one pass and evaluated on the clock.

Timing follows MLPerf Training (RULES.md TIME-*), except for staging the data: initialisation
(model build, data staging: TIME-6) is logged but not timed; `run_start` is logged before the
first training sample is read; evaluations at the spec's cadence are on the clock; `run_stop` is
logged at the first evaluation that reaches the quality target (status success) or at the end of
the pass (status aborted). A successful run keeps training to the end of the pass, because the
scaling fits need the quality of the whole pass; those later evaluations are logged after
`run_stop` and are not part of the time-to-target.

The stack's numeric precision (RunConfig.precision, reference/model/precision.py) holds for the
whole run: TF32 settings around it, bf16 autocast around every forward of the model (training and
evaluation). The batches come from the loader RunConfig.loader chooses (reference/data/pipeline.py);
the loop never waits for the device except at the divergence checks and the evaluations.

No workload names appear here: everything comes from the point's resolved spec. The record
(result.json) is not assembled here: it is derived from the finished log by harness.record, the
same function the checker uses to verify it.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm import tqdm

from harness.distributed import Distributed
from harness.mllog import RunLog, now_ms
from harness.record import derive_result
from harness.runlog import read_log_file
from recscale import __version__
from recscale import logkeys as keys
from recscale.hyperparams import RunFacts, logged_values
from recscale.layout import MLLOG_FILE
from recscale.records import HarnessInfo, RunResult
from recscale.spec import WorkloadSpec
from recscale.sweep import Point
from recscale.system import Precision
from reference.data.loader import Dataset, Loader, batches_per_pass, open_dataset
from reference.data.pipeline import LoaderChoice, Pipeline, open_pipeline
from reference.metrics import evaluate_logits
from reference.model.dlrm import DLRM
from reference.model.parallel import build_trainable
from reference.model.precision import autocast_dtype, in_precision, matmul_precision

DIVERGENCE_CHECK_EVERY = 16  # steps between loss checks: each check is a host sync on GPUs


@dataclass(frozen=True)
class RunConfig:
    """How to run (the stack), as opposed to what to run (the point)."""

    submitter: str
    division: Literal["closed", "open"]
    system: str
    backend: Literal["torchrec", "torch"]
    device: Literal["cpu", "cuda"]
    data_root: Path
    status: str = ""  # MLPerf availability (available, preview, research): the submitter's word
    progress: bool | None = None  # None: a bar only when stderr is a terminal
    precision: Precision = "fp32"  # numeric precision (reference/model/precision.py): part of the stack
    loader: LoaderChoice = "auto"  # where batches are made (reference/data/pipeline.py): same batches either way
    cuda_graphs: bool = True  # the dense part replayed as CUDA graphs where that applies (see graph_dense_part)


@dataclass
class Progress:
    """What the training loop has done so far."""

    step: int = 0
    samples: int = 0
    eval_seconds: float = 0.0
    last: dict[str, float] | None = None  # the metrics of the latest evaluation
    stop_ms: int | None = None  # when the target was reached (run_stop), or None
    abort_reason: str | None = None


def eval_schedule(total_steps: int, eval_every: float) -> set[int]:
    """Steps after which to evaluate: every `eval_every` of the run, and always after the last."""
    count = max(1, math.ceil(1.0 / eval_every - 1e-9))
    steps = {max(1, round(total_steps * min(1.0, k * eval_every))) for k in range(1, count + 1)}
    return {s for s in steps if s <= total_steps} | {total_steps}


def progress_disabled(config: RunConfig, dist: Distributed) -> bool | None:
    """tqdm's `disable`: None lets tqdm hide the bar when stderr is not a terminal."""
    if not dist.is_main or config.progress is False:
        return True
    return None if config.progress is None else False


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(False)  # fbgemm has no deterministic mode; CPU runs are anyway


def evaluate(model: torch.nn.Module, dataset: Loader, batch_size: int, device: torch.device,
             dist: Distributed) -> dict[str, float]:
    """Every metric over the whole eval set, the same on every rank: rank 0 computes them (exact AUC
    needs every score in one place) and sends the small dict to the other ranks."""
    rows = eval_scores(model, dataset, batch_size, device, dist)
    metrics = None if rows is None else evaluate_logits(rows[:, 0], rows[:, 1])
    return dist.from_main(metrics)  # type: ignore[return-value]


def eval_scores(model: torch.nn.Module, dataset: Loader, batch_size: int, device: torch.device,
                dist: Distributed) -> torch.Tensor | None:
    """[N, 2] (logit, label) of the whole eval set in file order, on the CPU, on rank 0; None elsewhere.

    Each rank scores its slice of every eval batch and keeps the scores on its device; rank 0 alone
    receives them (one gather, not every logit to every rank) and puts them back in file order, so
    that the metrics are computed from the same rows in the same order as by one process."""
    model.eval()
    scored, counts = [], []
    with torch.no_grad():
        for batch in dataset.eval_batches(batch_size, rank=dist.rank, world_size=dist.world_size):
            batch = batch.to(device)
            scored.append(torch.stack([model(batch).float().flatten(), batch.labels.float()], dim=1))
            counts.append(batch.size)
    model.train()
    parts = dist.gather_to_main(torch.cat(scored))
    sizes = dist.gather_to_main(torch.tensor(counts, dtype=torch.int64))
    if parts is None or sizes is None:
        return None
    return in_file_order(parts, sizes).cpu()


def in_file_order(parts: list[torch.Tensor], sizes: list[torch.Tensor]) -> torch.Tensor:
    """The single-process row order from each rank's rows: rank r holds its slice of every eval batch in
    turn (sizes[r][b] rows of batch b), and a batch is its ranks' slices in rank order."""
    slices = [part.split(size.tolist()) for part, size in zip(parts, sizes, strict=True)]
    return torch.cat([piece for batch in zip(*slices, strict=True) for piece in batch])


def stack_of(config: RunConfig, dist: Distributed) -> HarnessInfo:
    """The stack a run ran on: logged with the hyper-parameters, so its record holds it too."""
    return HarnessInfo(recscale=__version__, backend=config.backend, device=config.device,
                       world_size=dist.world_size, precision=config.precision)


def stage_data(log: RunLog, config: RunConfig, dataset: Dataset, rows: int, device: torch.device,
               copies: int) -> Pipeline:
    """The loader of the run, its data staged where the loader choice and the memory the model left
    say (TIME-6: initialisation, logged with its time and what was chosen). `copies`: the processes of
    this node, each staging its own copy."""
    began = time.perf_counter()
    pipeline = open_pipeline(config.loader, dataset, rows, device, copies)
    log.event(keys.STAGING_S, time.perf_counter() - began, metadata=pipeline.facts())
    return pipeline


def graphs_apply(config: RunConfig, device: torch.device, world_size: int, model: torch.nn.Module) -> bool:
    """CUDA graphs replay the dense part of a step on CUDA in one process (the multi-process gradient
    hook is not captured), unless --no-cuda-graphs: on a GPU the step is otherwise bound by the CPU
    launching its ~500 small operations (reference/model/cuda_graphs.py)."""
    return config.cuda_graphs and device.type == "cuda" and world_size == 1 and isinstance(model, DLRM)


def graph_dense_part(model: torch.nn.Module, config: RunConfig, device: torch.device, dist: Distributed,
                     batch_size: int) -> bool:
    """Capture the dense part for training batches of `batch_size` where graphs apply (initialisation,
    not timed); whether it did. The same function with the same kernels: the run's numbers do not change."""
    if not graphs_apply(config, device, dist.world_size, model):
        return False
    model.capture_graphs(batch_size, autocast_dtype(config.precision))  # type: ignore[operator]
    return True


def log_hyperparameters(log: RunLog, point: Point, seed: int, stack: HarnessInfo) -> None:
    """Every entry of recscale.hyperparams, in its order."""
    facts = RunFacts(point_id=point.point_id, spec_sha256=point.spec_sha256, seed=seed, stack=stack)
    for key, value in logged_values(point.spec, facts).items():
        log.event(key, value)


def log_evaluation(log: RunLog, metrics: dict[str, float], metric: str, epoch: float, samples: int,
                   start_ms: int, stop_ms: int) -> None:
    where = {keys.EPOCH_NUM: epoch}
    log.start(keys.EVAL_START, metadata=where, time_ms=start_ms)
    log.end(keys.EVAL_STOP, metadata=where, time_ms=stop_ms)
    counted = {**where, keys.SAMPLES_COUNT: samples}
    log.event(keys.EVAL_ACCURACY, metrics[metric], metadata=counted, time_ms=stop_ms)
    log.event(keys.EVAL_METRICS, metrics, metadata=counted, time_ms=stop_ms)


def train_run(point: Point, seed: int, config: RunConfig, run_dir: Path,
              dist: Distributed | None = None) -> RunResult | None:
    """Train `point` with `seed` for one pass; write mllog.txt in `run_dir`; return the record
    derived from it (None on the processes other than the main one, which write no log)."""
    dist = dist or Distributed.single()
    spec = point.spec
    quality = spec.quality
    log = RunLog(run_dir / MLLOG_FILE) if dist.is_main else RunLog.discard()
    scope = contextlib.ExitStack()
    try:
        log.event(keys.SUBMISSION_BENCHMARK, spec.id)
        log.event(keys.SUBMISSION_DIVISION, config.division)
        log.event(keys.SUBMISSION_ORG, config.submitter)
        log.event(keys.SUBMISSION_PLATFORM, config.system)
        log.event(keys.SUBMISSION_STATUS, config.status)

        # ---- initialisation: logged, not timed
        log.start(keys.INIT_START)
        seed_everything(seed)
        device = dist.device(config.device)
        scope.enter_context(matmul_precision(config.precision, device))
        dataset = open_dataset(spec, config.data_root)
        model, optimizer = build_trainable(spec, config.backend, device, seed, dist.world_size,
                                           dist.local_world_size)
        graphed = graph_dense_part(model, config, device, dist, spec.training.batch_size)
        model = in_precision(model, config.precision, device)
        log_hyperparameters(log, point, seed, stack_of(config, dist))
        log.event(keys.CUDA_GRAPHS, graphed)
        batch_size, rows = spec.training.batch_size, spec.data.train_rows
        # After the model: the data is staged in the memory the model leaves.
        loader = stage_data(log, config, dataset, rows, device, dist.local_world_size).loader
        log.event(keys.BAYES, dataset.bayes())
        steps_per_pass = batches_per_pass(batch_size, rows)
        total_steps = steps_per_pass * spec.training.passes
        eval_steps = eval_schedule(total_steps, spec.training.eval_every)
        dist.barrier()
        log.end(keys.INIT_STOP)

        # ---- the timed run
        run_start_ms = now_ms()
        log.start(keys.RUN_START, time_ms=run_start_ms)
        done = Progress()
        bar = tqdm(total=total_steps, desc=point.point_id[:60], unit="step", leave=False,
                   disable=progress_disabled(config, dist))
        diverged = torch.zeros((), dtype=torch.bool, device=device)
        for pass_index in range(spec.training.passes):
            order_seed = seed * 1_000_003 + pass_index  # a different order per seed and per pass
            for step_in_pass, batch in enumerate(
                loader.train_batches(batch_size, rows, order_seed, rank=dist.rank, world_size=dist.world_size),
                start=1,
            ):
                batch = batch.to(device, non_blocking=True)  # a no-op for batches made on the device
                # Sum over max(rows, 1): a rank whose slice of the last global batch is empty adds 0, not NaN.
                loss = F.binary_cross_entropy_with_logits(model(batch).float(), batch.labels, reduction="sum")
                loss = loss / max(batch.size, 1)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                diverged |= ~torch.isfinite(loss.detach())
                done.step += 1
                done.samples = pass_index * rows + min(step_in_pass * batch_size, rows)
                bar.update()
                check = done.step % DIVERGENCE_CHECK_EVERY == 0 or done.step in eval_steps
                if check and dist.any(bool(diverged.item())):
                    done.abort_reason = f"diverged: non-finite loss by sample {done.samples}"
                    break
                if done.step in eval_steps:
                    run_evaluation(log, model, loader, spec, device, dist, done, total_steps)
                    bar.set_postfix({quality.metric: f"{done.last[quality.metric]:.4f}"})  # type: ignore[index]
            if done.abort_reason:
                break
        bar.close()
        pass_end_ms = now_ms()
        if done.stop_ms is None:
            done.abort_reason = done.abort_reason or "target not reached"
            log.event(keys.ABORT_REASON, done.abort_reason, time_ms=pass_end_ms)
            done.stop_ms = pass_end_ms
            log.end(keys.RUN_STOP, metadata={keys.STATUS: keys.ABORTED}, time_ms=pass_end_ms)
        diverged_run = done.abort_reason is not None and done.abort_reason.startswith("diverged")
        final = None if diverged_run else done.last
        train_seconds = max((pass_end_ms - run_start_ms) / 1000 - done.eval_seconds, 1e-9)
        log.event(keys.TRAIN_SAMPLES_PER_S, done.samples / train_seconds, time_ms=pass_end_ms)
        log.event(keys.PASS_END, final, metadata={keys.SAMPLES_COUNT: done.samples,
                                                  keys.EPOCH_NUM: done.step / total_steps}, time_ms=pass_end_ms)
    finally:
        scope.close()
        log.close()
    return derive_result(read_log_file(run_dir / MLLOG_FILE), point) if dist.is_main else None


def run_evaluation(log: RunLog, model: torch.nn.Module, loader: Loader, spec: WorkloadSpec, device: torch.device,
                   dist: Distributed, done: Progress, total_steps: int) -> None:
    """Evaluate on the clock, log the metrics, and stop the clock at the first target hit."""
    start_ms = now_ms()
    tic = time.perf_counter()
    metrics = evaluate(model, loader, spec.training.eval_batch_size, device, dist)
    done.eval_seconds += time.perf_counter() - tic
    stop_ms = now_ms()
    log_evaluation(log, metrics, spec.quality.metric, done.step / total_steps, done.samples, start_ms, stop_ms)
    done.last = metrics
    if done.stop_ms is None and spec.quality.reached(metrics[spec.quality.metric]):
        done.stop_ms = stop_ms
        log.end(keys.RUN_STOP, metadata={keys.STATUS: keys.SUCCESS}, time_ms=stop_ms)
