"""The logged hyper-parameters registry (recscale.hyperparams): one list for the runner, the checker and the record."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.check.logs import INIT_KEYS, ONCE
from harness.runlog import as_int, as_number
from recscale import __version__
from recscale.hyperparams import HYPERPARAMETERS, PointFacts, RunFacts, logged_values, point_values, spec_values
from recscale.load import load_points
from recscale.records import HarnessInfo, RunResult

REPO = Path(__file__).resolve().parent.parent
KIND_OK = {"int": lambda v: as_int(v) is not None, "number": lambda v: as_number(v) is not None,
           "str": lambda v: isinstance(v, str)}
STACK = HarnessInfo(recscale=__version__, backend="torchrec", device="cuda", world_size=8)


def test_keys_are_unique_and_every_origin_names_a_place() -> None:
    keys = [entry.key for entry in HYPERPARAMETERS]
    assert len(keys) == len(set(keys))
    for entry in HYPERPARAMETERS:
        assert entry.origin in ("spec", "point", "run", "stack")
        assert (entry.records is None) or entry.origin == "spec"


@pytest.mark.parametrize("workload", sorted((REPO / "workloads").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_value_is_of_its_kind_for_every_shipped_point(workload: Path) -> None:
    for point in load_points(workload)[1]:
        values = logged_values(point.spec, RunFacts(point.point_id, point.spec_sha256, 3, STACK))
        assert list(values) == [entry.key for entry in HYPERPARAMETERS]
        for entry in HYPERPARAMETERS:
            assert KIND_OK[entry.kind](values[entry.key]), (entry.key, values[entry.key])


def test_origins_split_the_values() -> None:
    point = load_points(REPO / "workloads" / "smoke.yaml")[1][0]
    facts = RunFacts(point.point_id, point.spec_sha256, 3, STACK)
    every = logged_values(point.spec, facts)
    assert every["seed"] == 3 and every["recscale_embedding_backend"] == "torchrec"
    assert every["recscale_world_size"] == 8 and every["recscale_device"] == "cuda"
    assert every["train_samples"] == point.spec.data.train_rows
    fixed = point_values(point.spec, PointFacts(point.point_id, point.spec_sha256))
    assert fixed == {e.key: every[e.key] for e in HYPERPARAMETERS if e.origin in ("spec", "point")}
    assert spec_values(point.spec) == {e.key: every[e.key] for e in HYPERPARAMETERS if e.origin == "spec"}


def test_the_record_fields_they_fill_exist() -> None:
    for entry in HYPERPARAMETERS:
        if entry.field is None:
            continue
        model: type = RunResult
        *parents, leaf = entry.field.split(".")
        for name in parents:
            model = model.model_fields[name].annotation
        assert leaf in model.model_fields, entry


def test_the_checker_requires_each_once_inside_initialisation() -> None:
    for entry in HYPERPARAMETERS:
        assert ONCE[entry.key] == ("POINT_IN_TIME", entry.kind)
        assert INIT_KEYS[entry.key] == entry.kind
