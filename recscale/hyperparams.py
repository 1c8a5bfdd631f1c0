"""The hyper-parameters and facts a run logs during initialisation, named once.

Each entry is one MLLOG key, the JSON type of its value (RULES.md LOG-2) and where the value
comes from (its origin):

- ``spec``: the point's resolved workload spec, by attribute path of recscale.spec.WorkloadSpec
  (so a derived property such as ``data.train_rows`` works);
- ``point``: the point that ran (its id, the sha256 of its spec);
- ``run``: the run itself (its seed);
- ``stack``: the stack that ran it, a field of recscale.records.HarnessInfo (the runner builds it
  from its run configuration).

The runner logs every entry in this order (harness.runner). The checker requires each once, of its
type, inside initialisation (LOG-2, TIME-1); compares the logged ``spec`` and ``point`` values
with the workload's point (CLOSED-4) and the ``spec`` ones with the run's own spec (LOG-6); and the
run's record takes its ``point``, ``run`` and ``stack`` facts, and the spec values it repeats, from
the logged values (harness.record). Adding a logged value is one entry here; a new stack fact (as
the numeric precision was) also needs its HarnessInfo field, which the runner fills from its
configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from recscale import logkeys as k
from recscale.records import HarnessInfo
from recscale.spec import WorkloadSpec

Kind = Literal["int", "number", "str"]
Origin = Literal["spec", "point", "run", "stack"]


@dataclass(frozen=True)
class PointFacts:
    """What identifies the point that ran, beside its spec."""

    point_id: str
    spec_sha256: str


@dataclass(frozen=True)
class RunFacts(PointFacts):
    """What a run is beside its point's spec: which point, which seed, which stack."""

    seed: int
    stack: HarnessInfo


@dataclass(frozen=True)
class Hyperparameter:
    key: str  # the MLLOG key (recscale.logkeys)
    kind: Kind
    origin: Origin
    name: str  # spec: attribute path in WorkloadSpec; point, run: attribute of RunFacts; stack: HarnessInfo field
    records: str | None = None  # spec only: the RunResult field that repeats the value

    @property
    def field(self) -> str | None:
        """The RunResult field (dotted) that holds the logged value, if the record holds it."""
        if self.origin == "spec":
            return self.records
        return f"harness.{self.name}" if self.origin == "stack" else self.name

    def value(self, spec: WorkloadSpec, facts: PointFacts) -> Any:
        """The value to log for this entry (``facts`` must be RunFacts for run and stack entries)."""
        if self.origin == "spec":
            return attrgetter(self.name)(spec)
        if self.origin == "stack":
            return getattr(facts.stack, self.name)  # type: ignore[attr-defined]
        return getattr(facts, self.name)


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter(k.SEED, "int", "run", "seed"),
    Hyperparameter(k.GLOBAL_BATCH_SIZE, "int", "spec", "training.batch_size"),
    Hyperparameter(k.OPT_NAME, "str", "spec", "training.optimizer.dense.name"),
    Hyperparameter(k.OPT_BASE_LR, "number", "spec", "training.optimizer.dense.lr"),
    Hyperparameter(k.OPT_ADAGRAD_EPSILON, "number", "spec", "training.optimizer.dense.eps"),
    Hyperparameter(k.SPARSE_OPT_NAME, "str", "spec", "training.optimizer.sparse.name"),
    Hyperparameter(k.SPARSE_LEARNING_RATE, "number", "spec", "training.optimizer.sparse.lr"),
    Hyperparameter(k.TRAIN_SAMPLES, "int", "spec", "data.train_rows", records="train_samples"),
    Hyperparameter(k.EVAL_SAMPLES, "int", "spec", "data.eval_samples", records="eval_samples"),
    Hyperparameter(k.WORKLOAD_VERSION, "int", "spec", "version", records="workload_version"),
    Hyperparameter(k.POINT_ID, "str", "point", "point_id"),
    Hyperparameter(k.SPEC_SHA256, "str", "point", "spec_sha256"),
    Hyperparameter(k.EMBEDDING_BACKEND, "str", "stack", "backend"),
    Hyperparameter(k.WORLD_SIZE, "int", "stack", "world_size"),
    Hyperparameter(k.DEVICE, "str", "stack", "device"),
    Hyperparameter(k.PRECISION, "str", "stack", "precision"),
    Hyperparameter(k.RECSCALE_VERSION, "str", "stack", "recscale"),
)


def logged_values(spec: WorkloadSpec, facts: RunFacts) -> dict[str, Any]:
    """Every entry's value for one run, in logging order."""
    return {entry.key: entry.value(spec, facts) for entry in HYPERPARAMETERS}


def point_values(spec: WorkloadSpec, facts: PointFacts) -> dict[str, Any]:
    """The values a point fixes (its spec's and its identity's): what CLOSED-4 compares."""
    return {entry.key: entry.value(spec, facts) for entry in HYPERPARAMETERS if entry.origin in ("spec", "point")}


def spec_values(spec: WorkloadSpec) -> dict[str, Any]:
    """The values a spec gives: what LOG-6 compares with the run's own spec."""
    return {entry.key: attrgetter(entry.name)(spec) for entry in HYPERPARAMETERS if entry.origin == "spec"}
