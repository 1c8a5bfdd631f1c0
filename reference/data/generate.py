"""Materialise a synthetic data set as shards: in parallel, atomically, cached by its spec.

A data set is a pure function of the workload's data section without `fraction` (every point of a
data-fraction sweep shares one). `ensure_synthetic` generates it once into
`<data_root>/synthetic-<key>/`: into a temporary folder first, renamed into place when complete,
under a file lock, so a killed generation never leaves a folder that looks complete and concurrent
runs generate it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recscale import __version__
from recscale.io import sha256_file, utc_now
from recscale.spec import DataSpec
from reference.data.manifest import (
    ArrayFile,
    DatasetManifest,
    QualityMetrics,
    Shard,
    Split,
    SyntheticInfo,
    describe_array,
    read_manifest,
    record_verified,
    write_manifest,
)
from reference.data.synthetic import (
    EVAL_STREAM,
    GENERATOR_VERSION,
    TRAIN_STREAM,
    SyntheticConfig,
    Teacher,
    build_teacher,
)
from reference.metrics import evaluate_probs

TASK_ROWS = 1 << 17  # rows a worker generates and writes at a time


def data_spec_key(data: DataSpec) -> tuple[str, dict[str, Any]]:
    """(12-hex key, canonical dict) of a DataSpec without `fraction`: what the rows depend on."""
    fields = data.model_dump(mode="json")
    fields.pop("fraction", None)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12], fields


@dataclass(frozen=True)
class _SplitPlan:
    name: str
    stream: int
    rows: int

    def files(self, root: Path) -> dict[str, Path]:
        folder = root / self.name
        names = {"dense": "day_0_dense.npy", "sparse": "day_0_sparse.npy", "labels": "day_0_labels.npy"}
        if self.stream == EVAL_STREAM:
            names["probs"] = "teacher_probs.npy"
        return {role: folder / name for role, name in names.items()}


def bayes_metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """NE, log loss, AUC and calibration of the exact probabilities probs [N] against labels [N] or [N, 1]."""
    return evaluate_probs(torch.from_numpy(np.array(probs, np.float64)),
                          torch.from_numpy(np.array(labels, np.float64).reshape(-1)))


# ------------------------------------------------------------------------------------ workers

_worker: dict[str, Any] = {}


def _init_worker() -> None:
    """In a forked worker: the teacher was inherited from the parent (copy-on-write)."""
    torch.set_num_threads(1)  # one process per core; also keeps OpenMP out of a forked child
    _worker["maps"] = {}


def _write_rows(split: _SplitPlan, root: Path, start: int, stop: int) -> None:
    """Generate rows [start, stop) of a split into its (pre-allocated) files."""
    teacher: Teacher = _worker["teacher"]
    maps = _worker["maps"]
    arrays = {}
    for role, path in split.files(root).items():
        if path not in maps:
            maps[path] = np.load(path, mmap_mode="r+")
        arrays[role] = maps[path]
    rows = teacher.generate(split.stream, start, stop - start, "cpu")
    arrays["dense"][start:stop] = rows.dense.numpy()
    arrays["sparse"][start:stop] = rows.sparse.numpy()
    arrays["labels"][start:stop, 0] = rows.labels.numpy()
    if "probs" in arrays:
        arrays["probs"][start:stop] = rows.probs.numpy()
    for array in arrays.values():
        array.flush()


def _tasks(plans: list[_SplitPlan]) -> Iterator[tuple[_SplitPlan, int, int]]:
    for plan in plans:
        for start in range(0, plan.rows, TASK_ROWS):
            yield plan, start, min(plan.rows, start + TASK_ROWS)


# ----------------------------------------------------------------------------------- generate


def generate_synthetic(data: DataSpec, out: Path, workers: int | None = None,
                       timings: dict[str, float] | None = None) -> DatasetManifest:
    """Generate the data set of a synthetic DataSpec into the empty folder `out`; returns its manifest.

    workers: processes (default: the CPUs available); 1 generates in this process.
    timings: filled with the seconds of each phase (teacher, rows, finish), if given.
    """
    clock = {"start": time.perf_counter()}
    config = SyntheticConfig.from_data_spec(data)
    teacher = build_teacher(config)
    teacher.on("cpu")  # its tables built before forking, so the workers share them
    plans = [_SplitPlan("train", TRAIN_STREAM, data.train_samples), _SplitPlan("eval", EVAL_STREAM, data.eval_samples)]
    features = len(config.cardinalities)
    id_dtype = np.int32 if max(config.cardinalities) <= 2**31 else np.int64
    for plan in plans:
        files = plan.files(out)
        files["dense"].parent.mkdir(parents=True, exist_ok=True)
        shapes = {"dense": ((plan.rows, config.num_dense), np.int32), "sparse": ((plan.rows, features), id_dtype),
                  "labels": ((plan.rows, 1), np.int32), "probs": ((plan.rows,), np.float64)}
        for role, path in files.items():
            shape, dtype = shapes[role]
            np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape).flush()
    tasks = list(_tasks(plans))
    clock["teacher"] = time.perf_counter()
    workers = min(workers or len(os.sched_getaffinity(0)), len(tasks))
    _worker.update(teacher=teacher, maps={})
    try:
        if workers <= 1:
            for plan, first, stop in tasks:
                _write_rows(plan, out, first, stop)
        else:
            # fork, as torch's DataLoader does: workers inherit the teacher, and spawn would re-run an
            # unguarded __main__ (a user's script) in every worker
            with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_init_worker) as pool:
                for done in [pool.submit(_write_rows, plan, out, first, stop) for plan, first, stop in tasks]:
                    done.result()
    finally:
        _worker.clear()
    clock["rows"] = time.perf_counter()
    manifest = _finish(out, data, config, teacher, plans)
    clock["finish"] = time.perf_counter()
    if timings is not None:
        stamps = list(clock.values())
        timings.update({name: stamps[i + 1] - stamps[i] for i, name in enumerate(list(clock)[1:])})
    return manifest


def _finish(out: Path, data: DataSpec, config: SyntheticConfig, teacher: Teacher,
            plans: list[_SplitPlan]) -> DatasetManifest:
    """Checksum the files, score the eval set with the teacher, write the manifest."""
    paths = [path for plan in plans for path in plan.files(out).values()]
    with ThreadPoolExecutor(min(len(paths), 4)) as pool:  # hashlib releases the GIL on large buffers
        digests = dict(zip(paths, pool.map(sha256_file, paths), strict=True))
    described = {path: describe_array(out, path, digests[path]) for path in paths}

    def split(plan: _SplitPlan) -> Split:
        files = plan.files(out)
        shard = Shard(name="day_0", rows=plan.rows, dense=described[files["dense"]],
                      sparse=described[files["sparse"]], labels=described[files["labels"]])
        return Split(rows=plan.rows, shards=[shard])

    eval_files = plans[1].files(out)
    bayes = bayes_metrics(np.load(eval_files["probs"], mmap_mode="r"), np.load(eval_files["labels"], mmap_mode="r"))
    _, spec_fields = data_spec_key(data)
    probs: ArrayFile = described[eval_files["probs"]]
    manifest = DatasetManifest(
        source="synthetic", created_at=utc_now(), recscale_version=__version__, num_dense=config.num_dense,
        cardinalities=list(config.cardinalities), dense_transform="log1p", train=split(plans[0]),
        eval=split(plans[1]),
        # block_rows 1: every row is a pure function of its index (reference/data/counter_hash.py)
        synthetic=SyntheticInfo(generator_version=GENERATOR_VERSION, block_rows=1, data_spec=spec_fields,
                                teacher_bias=teacher.bias, bayes=QualityMetrics(**bayes), teacher_probs=probs),
    )
    record_verified(out, list(described.values()))
    write_manifest(out, manifest)
    return manifest


# ------------------------------------------------------------------------------------- cache


def is_current(folder: Path, data: DataSpec) -> bool:
    """Whether `folder` holds the complete data set of `data` made by this generator version."""
    try:
        manifest = read_manifest(folder)
    except Exception:  # missing, unreadable or invalid: not current
        return False
    info = manifest.synthetic
    return (info is not None and info.generator_version == GENERATOR_VERSION
            and info.data_spec == data_spec_key(data)[1])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialise(data: DataSpec, final: Path, workers: int | None = None) -> Path:
    """Generate into `final` unless a current data set is there; safe against kills and races."""
    if is_current(final, data):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / f".{final.name}.lock"):
        if is_current(final, data):  # another process made it while we waited
            return final
        for leftover in final.parent.glob(f".{final.name}.tmp-*"):  # from a killed run: we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        if final.exists():  # an older generator's data set, or not a data set at all: replace it
            stale = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.stale-"))
            os.rename(final, stale / final.name)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
        try:
            generate_synthetic(data, tmp, workers)
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; data sets are meant to be shared
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def ensure_synthetic(data: DataSpec, data_root: Path, workers: int | None = None) -> Path:
    """The folder of a synthetic DataSpec's data set under data_root, generated if absent."""
    key, _ = data_spec_key(data)
    return materialise(data, data_root / f"synthetic-{key}", workers)
