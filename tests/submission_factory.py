"""Writes small valid RecScale submissions, exactly as /work/notes RUN_CONTRACT says a run writes them.

For tests (and bench/bench_check.py) that must not train: the points come from a real workload
file (recscale.load), the records are the real models (recscale.records, recscale.system), the
parameter and FLOP counts are recscale/accounting.py's, and the log lines are the ones
mlperf_logging.mllog writes (same keys, same order; the hyper-parameters from recscale.hyperparams).
The training itself is simulated: each evaluation gets made-up metrics (every metric of
recscale.metrics) that reach the target at a chosen evaluation, or never. Each result.json is
built here from the simulated run, not by harness.record, so that tests/test_record.py can check
that the record derived from the log is the same.

    root = make_submission(tmp_path / "sub")                  # smoke workload, closed, 1 system
    root = make_submission(tmp_path / "sub", reach=lambda point, seed: None)   # every run aborted
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from recscale import __version__
from recscale.accounting import param_counts, train_flops_per_example
from recscale.hyperparams import RunFacts, logged_values
from recscale.io import atomic_write_json, atomic_write_text
from recscale.layout import MANIFEST_FILE, MLLOG_FILE, RESULT_FILE, RunKey, SubmissionLayout
from recscale.load import load_points
from recscale.metrics import METRICS
from recscale.records import ComponentCounts, CurvePoint, HarnessInfo, Metrics, Quality, RunResult, SubmissionManifest
from recscale.sweep import Point
from recscale.system import SoftwareStack, SystemDescription

REPO = Path(__file__).resolve().parent.parent
START_MS = 1_750_000_000_000
TRAIN_MS_PER_EVAL = 40  # simulated training time between two evaluations
EVAL_MS = 5
Reach = Callable[[Point, int], int | None]  # (point, seed) -> index of the first evaluation at target, or None


def eval_steps(total_steps: int, eval_every: float) -> list[int]:
    """Steps after which a run evaluates: every eval_every of the run and after the last step."""
    count = max(1, math.ceil(1.0 / eval_every - 1e-9))
    steps = {max(1, round(total_steps * min(1.0, i * eval_every))) for i in range(1, count + 1)}
    return sorted({s for s in steps if s <= total_steps} | {total_steps})


def default_reach(point: Point, seed: int) -> int | None:
    """Reach the target at the third-to-last evaluation (or the last, for short runs)."""
    n = len(eval_steps(_total_steps(point), point.spec.training.eval_every))
    return max(0, n - 3) if n >= 3 else n - 1


def _total_steps(point: Point) -> int:
    spec = point.spec
    return math.ceil(spec.data.train_rows / spec.training.batch_size) * spec.training.passes


def quality_at(point: Point, index: int, evals: int, reach: int | None) -> float:
    """The quality metric at evaluation `index`: reaching the target first at `reach`."""
    quality = point.spec.quality
    sign = 1.0 if quality.higher_is_better else -1.0
    gap = (index - reach + 1) * 0.001 if reach is not None and index >= reach else -(0.01 * (evals - index + 1))
    return quality.target + sign * gap


def metrics_at(point: Point, value: float, index: int, seed: int = 0) -> dict[str, float]:
    """Every registered metric, nearer its best with each evaluation; the quality metric is `value`.

    The other metrics differ a little from seed to seed, as real runs do (the checker flags two seeds
    with bit-identical curves as one run reported twice, RULES.md RUN-2)."""
    jitter = 1e-6 * (seed % 1000)
    metrics = {name: metric.best + (0.004 * index - 0.4 if metric.higher_is_better else 0.4 - 0.004 * index) + jitter
               for name, metric in METRICS.items()}
    metrics[point.spec.quality.metric] = value
    return metrics


def bayes_metrics() -> dict[str, float]:
    """The Bayes-optimal quality of synthetic data: every registered metric, near its best."""
    return {name: metric.best + (-0.1 if metric.higher_is_better else 0.1) for name, metric in METRICS.items()}


def utc(time_ms: int) -> str:
    return dt.datetime.fromtimestamp(time_ms / 1000, dt.UTC).isoformat(timespec="seconds")


@dataclass
class _Log:
    """mllog.txt lines as mlperf_logging.mllog writes them."""

    lines: list[str] = field(default_factory=list)

    def add(self, time_ms: int, event_type: str, key: str, value: Any = None, metadata: dict | None = None) -> None:
        event = {"namespace": "", "time_ms": time_ms, "event_type": event_type, "key": key, "value": value,
                 "metadata": {"file": "tests/submission_factory.py", "lineno": 0, **(metadata or {})}}
        self.lines.append(":::MLLOG " + json.dumps(event))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _samples_at(step: int, rows: int, batch: int) -> int:
    """Training samples seen after `step` (1-based) steps, as the runner counts them."""
    steps_per_pass = math.ceil(rows / batch)
    pass_index, in_pass = divmod(step - 1, steps_per_pass)
    return pass_index * rows + min((in_pass + 1) * batch, rows)


def simulate_run(point: Point, seed: int, system: str, submitter: str, division: Literal["closed", "open"],
                 reach: int | None, start_ms: int, diverge: int | None = None) -> tuple[RunResult, str]:
    """The result.json record and mllog.txt text of one simulated run.

    `reach`: index of the first evaluation at target (None: never). `diverge`: the loss turns
    non-finite just before evaluation number `diverge` (0: before the first), which ends the run.
    """
    spec = point.spec
    rows, batch = spec.data.train_rows, spec.training.batch_size
    total = _total_steps(point)
    steps = eval_steps(total, spec.training.eval_every)
    stop_step = total if diverge is None or diverge >= len(steps) else steps[diverge]
    steps = [s for s in steps if s < stop_step or diverge is None]
    log = _Log()
    pit, start, end = "POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"
    for key, value in (("submission_benchmark", spec.id), ("submission_division", division),
                       ("submission_org", submitter), ("submission_platform", system),
                       ("submission_status", "research")):
        log.add(start_ms, pit, key, value)
    log.add(start_ms + 1, start, "init_start")
    stack = HarnessInfo(recscale=__version__, backend="torch", device="cpu", world_size=1, precision="fp32")
    for key, value in logged_values(spec, RunFacts(point.point_id, point.spec_sha256, seed, stack)).items():
        log.add(start_ms + 2, pit, key, value)
    staging_s = 0.25
    log.add(start_ms + 2, pit, "recscale_staging_s", staging_s, {"loader": "host", "device": "cpu"})
    bayes = bayes_metrics() if spec.data.source == "synthetic" else None
    log.add(start_ms + 2, pit, "recscale_bayes", bayes)
    log.add(start_ms + 50, end, "init_stop")
    run_start = start_ms + 60
    log.add(run_start, start, "run_start")
    now, curve, stop_ms, at_target, samples_to_target = run_start, [], None, None, None
    for index, step in enumerate(steps):
        samples, epoch = _samples_at(step, rows, batch), step / total
        metrics = metrics_at(point, quality_at(point, index, len(steps), reach), index, seed)
        eval_start, now = now + TRAIN_MS_PER_EVAL, now + TRAIN_MS_PER_EVAL + EVAL_MS
        log.add(eval_start, start, "eval_start", metadata={"epoch_num": epoch})
        log.add(now, end, "eval_stop", metadata={"epoch_num": epoch})
        counted = {"epoch_num": epoch, "samples_count": samples}
        log.add(now, pit, "eval_accuracy", metrics[spec.quality.metric], counted)
        log.add(now, pit, "recscale_eval_metrics", metrics, counted)
        curve.append(CurvePoint(**metrics, samples=samples, epoch=epoch, elapsed_s=(now - run_start) / 1000))
        if index == reach:
            stop_ms, at_target, samples_to_target = now, Metrics(**metrics), samples
            log.add(now, end, "run_stop", metadata={"status": "success"})
    pass_end = now + 1
    seen = _samples_at(stop_step, rows, batch)
    reason = "target not reached" if diverge is None else f"diverged: non-finite loss by sample {seen}"
    if stop_ms is None:
        log.add(pass_end, pit, "recscale_abort_reason", reason)
        log.add(pass_end, end, "run_stop", metadata={"status": "aborted"})
    speed = seen / ((pass_end - run_start) / 1000)
    log.add(pass_end, pit, "recscale_train_samples_per_s", speed)
    final = curve[-1].model_dump(include=set(Metrics.model_fields)) if curve and diverge is None else None
    log.add(pass_end, pit, "recscale_pass_end", final, {"samples_count": seen, "epoch_num": stop_step / total})
    flops = train_flops_per_example(spec)
    run_s = ((stop_ms or pass_end) - run_start) / 1000
    result = RunResult(
        workload_id=spec.id, workload_version=spec.version, point_id=point.point_id, overrides=point.overrides,
        seed=seed, system=system, division=division, spec=point.spec_json, spec_sha256=point.spec_sha256,
        status="success" if stop_ms else "aborted", abort_reason=None if stop_ms else reason,
        quality=Quality(metric=spec.quality.metric, target=spec.quality.target,
                        higher_is_better=spec.quality.higher_is_better),
        time_to_target_s=run_s if stop_ms else None, samples_to_target=samples_to_target, run_time_s=run_s,
        pass_time_s=(pass_end - run_start) / 1000, samples_seen=seen, train_samples=rows,
        eval_samples=spec.data.eval_samples, train_samples_per_s=speed, staging_s=staging_s,
        final=Metrics(**final) if final else None,
        at_target=at_target, curve=curve, bayes=Metrics(**bayes) if bayes else None,
        params=ComponentCounts(**param_counts(spec)), flops_per_example=ComponentCounts(**flops),
        train_flops=float(flops["total"]) * seen, harness=stack, started_at=utc(start_ms), finished_at=utc(pass_end),
    )
    return result, log.text()


def system_description(system: str, submitter: str, division: Literal["closed", "open"]) -> SystemDescription:
    """A system description with every required field (harness.system.REQUIRED_FIELDS) filled."""
    return SystemDescription(
        submitter=submitter, division=division, status="research", system_name=system, number_of_nodes="1",
        host_processors_per_node="1", host_processor_model_name="Factory CPU", host_processor_core_count="2",
        host_memory_capacity="8 GiB", accelerators_per_node="0", framework="PyTorch 2.13",
        operating_system="Linux", embedding_backend="torch", device="cpu",
        other_software_stack=SoftwareStack(python="3.11", torch="2.13", recscale=__version__),
    )


def make_submission(root: Path, workload: str | Path = "smoke", *, points: list[str] | None = None,
                    seeds: list[int] | None = None, system: str = "factory-cpu", submitter: str = "factory-org",
                    division: Literal["closed", "open"] = "closed", reach: Reach = default_reach,
                    diverge: Reach | None = None, keep_workload: bool = True) -> Path:
    """Write a submission of `workload` (id in the repository's workloads/, or a file) under `root`.

    Every selected point (default: all) gets one run per seed (default: 0 .. runs_per_point - 1).
    `reach(point, seed)`: the evaluation that first reaches the target (None: never);
    `diverge(point, seed)`: the evaluation before which the loss turns non-finite (None: never);
    `keep_workload`: copy the workload file into workloads/<id>.yaml, as `recscale run` does.
    """
    path = Path(workload) if Path(workload).suffix in (".yaml", ".yml") else REPO / "workloads" / f"{workload}.yaml"
    spec, all_points = load_points(path)
    chosen = [p for p in all_points if points is None or p.point_id in points]
    atomic_write_json(SubmissionLayout(root).system_file(system), system_description(system, submitter, division))
    if keep_workload:
        atomic_write_text(SubmissionLayout(root).workload_file(spec.id), path.read_text(encoding="utf-8"))
    for number, point in enumerate(chosen):
        for seed in seeds if seeds is not None else range(spec.runs_per_point):
            folder = SubmissionLayout(root).run_dir(RunKey(system, spec.id, point.point_id, seed))
            result, log = simulate_run(point, seed, system, submitter, division, reach(point, seed),
                                       START_MS + 1_000_000 * (number * 100 + seed),
                                       diverge(point, seed) if diverge else None)
            atomic_write_text(folder / MLLOG_FILE, log)
            atomic_write_json(folder / RESULT_FILE, result)
    write_manifest(root, submitter, division)
    return root


def workload_variant(source: Path, out: Path, **changes: Any) -> Path:
    """The workload file `source` with changes (keys are paths with __ between the keys: ``data__fraction``)
    written to `out`."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = doc
        for key in parents:
            node = node[key]
        node[leaf] = value
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def write_manifest(root: Path, submitter: str = "factory-org", division: Literal["closed", "open"] = "closed") -> None:
    """(Re)write submission.json from the runs on disk, as the runner does after every run."""
    manifest = SubmissionManifest(submitter=submitter, division=division, recscale_version=__version__,
                                  updated_at="2025-06-15T15:06:41+00:00", runs=SubmissionLayout(root).collect_runs())
    atomic_write_json(root / MANIFEST_FILE, manifest)


# ------------------------------------------------------------------------------- editing helpers


def run_folders(root: Path) -> list[Path]:
    """The run folders of a submission, sorted."""
    return sorted(p.parent for p in root.glob(f"results/*/*/*/run_*/{MLLOG_FILE}"))


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    """Apply `change` to the JSON document at `path`, in place (what it returns is ignored)."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line.split(":::MLLOG", 1)[1]) for line in path.read_text().splitlines() if line.strip()]


def write_events(path: Path, events: list[dict[str, Any] | str]) -> None:
    """Write events back as :::MLLOG lines (a str is written as it is: a raw line)."""
    path.write_text("".join((e if isinstance(e, str) else ":::MLLOG " + json.dumps(e)) + "\n" for e in events))


def edit_events(path: Path, change: Callable[[list[dict[str, Any]]], Any]) -> None:
    """Apply `change` to the events of a log: in place, or by returning a new list."""
    events = read_events(path)
    replaced = change(events)
    write_events(path, replaced if isinstance(replaced, list) else events)


def index_of(events: list[dict[str, Any]], key: str, nth: int = 0) -> int:
    """Position of the nth event with `key`."""
    return [i for i, e in enumerate(events) if e["key"] == key][nth]
