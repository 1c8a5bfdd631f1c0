"""Run records from known curves, for the scorer's tests and benchmark.

Each point's final quality follows a planted law ``NE = E + A / N^alpha + B / D^beta`` (N = total
parameters, D = training samples), optionally with multiplicative noise per run; times follow a
system's throughput. The points and specs are the real expansion of a workload file, so the
records are what the runner writes, less the log.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from recscale.io import atomic_write_json, sha256_file
from recscale.layout import RunKey, SubmissionLayout
from recscale.load import load_points
from recscale.records import (
    ComponentCounts,
    CurvePoint,
    HarnessInfo,
    ManifestRun,
    Metrics,
    Quality,
    RunResult,
    SubmissionManifest,
)
from recscale.sweep import Point
from recscale.system import SoftwareStack, SystemDescription

REPO = Path(__file__).resolve().parent.parent
SYNTHETIC = REPO / "workloads" / "dlrm-synthetic-scaling.yaml"


@dataclass(frozen=True)
class Law:
    """The planted joint law (in NE) and the Bayes floor the generator would report."""

    e: float = 0.58
    a: float = 40.0
    alpha: float = 0.45
    b: float = 12.0
    beta: float = 0.3
    bayes: float = 0.55

    def ne(self, n: float, d: float) -> float:
        return self.e + self.a * n ** -self.alpha + self.b * d ** -self.beta


def _mlp_params(widths: Sequence[int], fan_in: int) -> int:
    total = 0
    for width in widths:
        total += fan_in * width + width
        fan_in = width
    return total


def counts(point: Point) -> tuple[ComponentCounts, ComponentCounts]:
    """(params, training FLOPs per example) of a point's DLRM (dot interaction), roughly as reference/flops."""
    spec = point.spec
    dim = spec.model.embedding.dim
    rows = spec.model.embedding.rows(spec.data.feature_cardinalities)
    features = len(rows) + 1
    embedding = sum(rows) * dim
    bottom = _mlp_params(spec.model.bottom_mlp, spec.data.num_dense)
    top = _mlp_params(spec.model.top_mlp, features * (features - 1) // 2 + spec.model.bottom_mlp[-1])
    params = ComponentCounts(embedding=embedding, bottom_mlp=bottom, interaction=0, top_mlp=top,
                             total=embedding + bottom + top)
    inter_flops = 3 * 2 * features * features * dim
    flops = ComponentCounts(embedding=3 * len(rows) * dim, bottom_mlp=6 * bottom, interaction=inter_flops,
                            top_mlp=6 * top, total=3 * len(rows) * dim + 6 * bottom + inter_flops + 6 * top)
    return params, flops


def make_record(point: Point, seed: int, *, law: Law = Law(), noise: float = 0.0, system: str = "cpu-a",
                samples_per_s: float = 40_000.0, division: str = "closed", synthetic_bayes: bool = True,
                diverged: bool = False) -> RunResult:
    """The record of one run of `point`: final NE from `law` (x (1 + noise * N(0,1)) per run)."""
    spec = point.spec
    params, flops = counts(point)
    rows = spec.data.train_rows
    rng = np.random.default_rng([seed, int(hashlib.sha256(point.point_id.encode()).hexdigest()[:8], 16)])
    jitter = 1.0 + noise * float(rng.standard_normal())
    evals = max(1, round(1 / spec.training.eval_every))
    pass_time = rows / samples_per_s * (1.0 + 0.02 * float(rng.standard_normal()))
    curve = []
    for i in range(1, evals + 1):
        seen = round(rows * i / evals)
        ne = law.ne(params.total, max(seen, 1)) * jitter
        curve.append(CurvePoint(ne=ne, logloss=ne * 0.6, auc=0.9 - 0.3 * ne, calibration=1.0,
                                samples=seen, epoch=i / evals, elapsed_s=pass_time * i / evals))
    target = spec.quality.target
    hit = next((c for c in curve if c.ne <= target), None)
    final = None if diverged else Metrics(ne=curve[-1].ne, logloss=curve[-1].logloss, auc=curve[-1].auc,
                                          calibration=1.0)
    success = hit is not None and not diverged
    return RunResult(
        workload_id=point.workload_id, workload_version=spec.version, point_id=point.point_id,
        overrides=point.overrides, seed=seed, system=system, division=division,  # type: ignore[arg-type]
        spec=point.spec_json, spec_sha256=point.spec_sha256, status="success" if success else "aborted",
        abort_reason=None if success else "diverged: non-finite loss at sample 1" if diverged else "target not reached",
        quality=Quality(metric=spec.quality.metric, target=target, higher_is_better=spec.quality.higher_is_better),
        time_to_target_s=hit.elapsed_s if success and hit else None,
        samples_to_target=hit.samples if success and hit else None,
        run_time_s=hit.elapsed_s if success and hit else pass_time, pass_time_s=pass_time, samples_seen=rows,
        train_samples=rows, eval_samples=spec.data.eval_samples, train_samples_per_s=samples_per_s,
        final=final, at_target=Metrics(ne=hit.ne, logloss=hit.logloss, auc=hit.auc, calibration=1.0)
        if success and hit else None, curve=curve,
        bayes=Metrics(ne=law.bayes, logloss=law.bayes * 0.6, auc=0.75, calibration=1.0) if synthetic_bayes else None,
        params=params, flops_per_example=flops, train_flops=float(flops.total * rows),
        harness=HarnessInfo(recscale="0.1.0", backend="torch", device="cpu"),
        started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:00Z",
    )


def synthetic_points(workload: Path = SYNTHETIC) -> list[Point]:
    return load_points(workload)[1]


def grid_points(root: Path, fractions: Sequence[float], dims: Sequence[int], *, workload: str = "grid",
                train_samples: int = 4_000_000) -> list[Point]:
    """An N x D grid: the synthetic scaling workload's data fractions x embedding dims (the bottom MLP's output
    moving with the dim), written to `root` as its own workload."""
    spec = yaml.safe_load(SYNTHETIC.read_text(encoding="utf-8"))
    spec["id"] = workload
    spec["data"]["train_samples"] = train_samples
    spec["training"]["batch_size"] = 512  # every point holds one batch, down to 1/4096 of 4M rows
    spec["sweep"] = {"data.fraction": list(fractions),
                     "size": {"model.embedding.dim": list(dims), "model.bottom_mlp": [[64, d] for d in dims]}}
    if len(dims) == 1:
        spec["model"]["embedding"]["dim"], spec["model"]["bottom_mlp"] = dims[0], [64, dims[0]]
        spec["sweep"] = {"data.fraction": list(fractions)}
    file = root / f"{workload}.yaml"
    file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_points(file)[1]


def make_records(points: Sequence[Point], seeds: Sequence[int] = (0,), **kwargs: object) -> list[RunResult]:
    return [make_record(point, seed, **kwargs) for point in points for seed in seeds]  # type: ignore[arg-type]


def system_description(name: str, *, accelerator: str = "", backend: str = "torch",
                       division: str = "closed") -> SystemDescription:
    return SystemDescription(
        submitter="TestOrg", division=division, status="research", system_name=name,  # type: ignore[arg-type]
        host_processors_per_node="1", host_processor_model_name="Test CPU", host_processor_core_count="2",
        host_memory_capacity="8 GiB", accelerators_per_node="1" if accelerator else "0",
        accelerator_model_name=accelerator, framework="PyTorch 2.13",
        other_software_stack=SoftwareStack(python="3.11", torch="2.13", recscale="0.1.0"),
        operating_system="Debian 12", embedding_backend=backend, device="cuda" if accelerator else "cpu",  # type: ignore[arg-type]
    )


def write_submission(root: Path, records: Sequence[RunResult], systems: Sequence[SystemDescription],
                     *, submitter: str = "TestOrg", division: str = "closed") -> Path:
    """A submission folder (manifest, systems, results; no logs) holding `records`."""
    for description in systems:
        atomic_write_json(SubmissionLayout(root).system_file(description.system_name), description)
    runs = []
    for record in records:
        folder = SubmissionLayout(root).run_dir(RunKey(record.system, record.workload_id, record.point_id, record.seed))
        atomic_write_json(folder / "result.json", record)
        runs.append(ManifestRun(system=record.system, workload=record.workload_id, point=record.point_id,
                                seed=record.seed, status=record.status, path=str(folder.relative_to(root)),
                                result_sha256=sha256_file(folder / "result.json")))
    manifest = SubmissionManifest(submitter=submitter, division=division, recscale_version="0.1.0",  # type: ignore[arg-type]
                                  updated_at="2026-01-01T00:00:00Z", runs=runs)
    atomic_write_json(root / "submission.json", manifest)
    return root


def canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True)


def geometric(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))
