"""One timed run: one point of a workload, one seed, trained for one pass and evaluated on the clock.

Timing follows MLPerf Training (RULES.md TIME-*): initialisation (data staging, model build) is
logged but not timed; `run_start` is logged before the first training sample is read; evaluations
at the spec's cadence are on the clock; `run_stop` is logged at the first evaluation that reaches
the quality target (status success) or at the end of the pass (status aborted). A successful run
keeps training to the end of the pass, because the scaling fits need the quality of the whole pass;
those later evaluations are logged after `run_stop` and are not part of the time-to-target.

No workload names appear here: everything comes from the point's resolved spec.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm import tqdm

from harness.distributed import Distributed
from harness.mllog import RunLog, now_ms
from recscale import __version__
from recscale import logkeys as keys
from recscale.accounting import param_counts, train_flops_per_example
from recscale.layout import MLLOG_FILE
from recscale.records import ComponentCounts, CurvePoint, HarnessInfo, Metrics, Quality, RunResult
from recscale.spec import WorkloadSpec
from recscale.sweep import Point
from reference.data.loader import Dataset, open_dataset
from reference.metrics import evaluate_logits
from reference.model.parallel import build_trainable

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


@dataclass
class Progress:
    """What the training loop has done so far."""

    step: int = 0
    samples: int = 0
    eval_seconds: float = 0.0
    curve: list[CurvePoint] = field(default_factory=list)
    stop_ms: int | None = None
    samples_to_target: int | None = None
    at_target: Metrics | None = None
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


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(False)  # fbgemm has no deterministic mode; CPU runs are anyway


def evaluate(model: torch.nn.Module, dataset: Dataset, batch_size: int, device: torch.device,
             dist: Distributed) -> Metrics:
    """Metrics over the whole eval set (every rank's share gathered before computing them)."""
    model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for batch in dataset.eval_batches(batch_size, rank=dist.rank, world_size=dist.world_size):
            batch = batch.to(device)
            logits.append(model(batch).float().cpu())
            labels.append(batch.labels.cpu())
    model.train()
    all_logits = dist.gather_cat(torch.cat(logits))
    all_labels = dist.gather_cat(torch.cat(labels))
    return Metrics(**evaluate_logits(all_logits, all_labels))


def log_hyperparameters(log: RunLog, point: Point, seed: int, config: RunConfig, dist: Distributed) -> None:
    spec = point.spec
    optimizer = spec.training.optimizer
    log.event(keys.SEED, seed)
    log.event(keys.GLOBAL_BATCH_SIZE, spec.training.batch_size)
    log.event(keys.OPT_NAME, optimizer.dense.name)
    log.event(keys.OPT_BASE_LR, optimizer.dense.lr)
    log.event(keys.OPT_ADAGRAD_EPSILON, optimizer.dense.eps)
    log.event(keys.SPARSE_OPT_NAME, optimizer.sparse.name)
    log.event(keys.SPARSE_LEARNING_RATE, optimizer.sparse.lr)
    log.event(keys.TRAIN_SAMPLES, spec.data.train_rows)
    log.event(keys.EVAL_SAMPLES, spec.data.eval_samples)
    log.event(keys.WORKLOAD_VERSION, spec.version)
    log.event(keys.POINT_ID, point.point_id)
    log.event(keys.SPEC_SHA256, point.spec_sha256)
    log.event(keys.EMBEDDING_BACKEND, config.backend)
    log.event(keys.WORLD_SIZE, dist.world_size)


def log_evaluation(log: RunLog, metrics: Metrics, metric: str, epoch: float, samples: int,
                   start_ms: int, stop_ms: int) -> None:
    where = {keys.EPOCH_NUM: epoch}
    log.start(keys.EVAL_START, metadata=where, time_ms=start_ms)
    log.end(keys.EVAL_STOP, metadata=where, time_ms=stop_ms)
    counted = {**where, keys.SAMPLES_COUNT: samples}
    log.event(keys.EVAL_ACCURACY, getattr(metrics, metric), metadata=counted, time_ms=stop_ms)
    log.event(keys.EVAL_METRICS, metrics.model_dump(), metadata=counted, time_ms=stop_ms)


def train_run(point: Point, seed: int, config: RunConfig, run_dir: Path,
              dist: Distributed | None = None) -> RunResult:
    """Train `point` with `seed` for one pass; write mllog.txt in `run_dir`; return the record."""
    dist = dist or Distributed.single()
    spec = point.spec
    quality = spec.quality
    started_at = utc_now()
    log = RunLog(run_dir / MLLOG_FILE) if dist.is_main else RunLog.discard()
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
        dataset = open_dataset(spec, config.data_root)
        model, optimizer = build_trainable(spec, config.backend, device, seed, dist.world_size)
        log_hyperparameters(log, point, seed, config, dist)
        batch_size, rows = spec.training.batch_size, spec.data.train_rows
        steps_per_pass = dataset.train_batches_total(batch_size, rows)
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
                dataset.train_batches(batch_size, rows, order_seed, rank=dist.rank, world_size=dist.world_size),
                start=1,
            ):
                batch = batch.to(device, non_blocking=True)
                # Sum over max(rows, 1): a rank whose slice of the last global batch is empty adds 0, not NaN.
                loss = F.binary_cross_entropy_with_logits(model(batch), batch.labels, reduction="sum")
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
                    run_evaluation(log, model, dataset, spec, device, dist, done, run_start_ms, total_steps)
                    bar.set_postfix({quality.metric: f"{getattr(done.curve[-1], quality.metric):.4f}"})
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
        final = None if diverged_run or not done.curve else Metrics(**done.curve[-1].model_dump(
            include=set(Metrics.model_fields)))
        pass_seconds = (pass_end_ms - run_start_ms) / 1000
        train_seconds = max(pass_seconds - done.eval_seconds, 1e-9)
        samples_per_s = done.samples / train_seconds
        log.event(keys.TRAIN_SAMPLES_PER_S, samples_per_s, time_ms=pass_end_ms)
        log.event(keys.PASS_END, final.model_dump() if final else None,
                  metadata={keys.SAMPLES_COUNT: done.samples, keys.EPOCH_NUM: done.step / total_steps},
                  time_ms=pass_end_ms)
    finally:
        log.close()

    run_seconds = (done.stop_ms - run_start_ms) / 1000
    flops = train_flops_per_example(spec)
    return RunResult(
        workload_id=spec.id, workload_version=spec.version, point_id=point.point_id,
        overrides=point.overrides, seed=seed, system=config.system, division=config.division,
        spec=point.spec_json, spec_sha256=point.spec_sha256,
        status="success" if done.at_target else "aborted", abort_reason=done.abort_reason,
        quality=Quality(metric=quality.metric, target=quality.target, higher_is_better=quality.higher_is_better),
        time_to_target_s=run_seconds if done.at_target else None, samples_to_target=done.samples_to_target,
        run_time_s=run_seconds, pass_time_s=pass_seconds, samples_seen=done.samples, train_samples=rows,
        eval_samples=spec.data.eval_samples, train_samples_per_s=samples_per_s, final=final,
        at_target=done.at_target, curve=done.curve,
        bayes=Metrics(**bayes) if (bayes := dataset.bayes()) else None,
        params=ComponentCounts(**param_counts(spec)), flops_per_example=ComponentCounts(**flops),
        train_flops=float(flops["total"]) * done.samples,
        harness=HarnessInfo(recscale=__version__, backend=config.backend, device=config.device,
                            world_size=dist.world_size),
        started_at=started_at, finished_at=utc_now(),
    )


def run_evaluation(log: RunLog, model: torch.nn.Module, dataset: Dataset, spec: WorkloadSpec, device: torch.device,
                   dist: Distributed, done: Progress, run_start_ms: int, total_steps: int) -> None:
    """Evaluate on the clock, record the curve point, and stop the clock at the first target hit."""
    start_ms = now_ms()
    tic = time.perf_counter()
    metrics = evaluate(model, dataset, spec.training.eval_batch_size, device, dist)
    done.eval_seconds += time.perf_counter() - tic
    stop_ms = now_ms()
    epoch = done.step / total_steps
    log_evaluation(log, metrics, spec.quality.metric, epoch, done.samples, start_ms, stop_ms)
    done.curve.append(CurvePoint(**metrics.model_dump(), samples=done.samples, epoch=epoch,
                                 elapsed_s=(stop_ms - run_start_ms) / 1000))
    value = getattr(metrics, spec.quality.metric)
    if done.stop_ms is None and math.isfinite(value) and spec.quality.reached(value):
        done.stop_ms = stop_ms
        done.samples_to_target = done.samples
        done.at_target = metrics
        log.end(keys.RUN_STOP, metadata={keys.STATUS: keys.SUCCESS}, time_ms=stop_ms)
