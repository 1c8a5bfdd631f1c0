"""result.json is the record its log and its point give (RULES.md LOG-6, TIME-4, RUN-2, RUN-5, CONV-1).

harness.record derives every field of a run's record from its mllog.txt and the point it ran (the
result's recorded spec and overrides), as the runner did when it wrote result.json. Each field
that says something else is a finding under the rule the field belongs to: the times TIME-4 (within
2 ms: time_ms is whole milliseconds), the seed RUN-2, the accounting RUN-5, the quality target
CONV-1, the workload, system and division SUB-5, everything else LOG-6. Besides, the spec_sha256 is
the hash of the recorded spec and the logged values the spec gives are the spec's (LOG-6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.check.findings import Findings
from harness.check.specview import SpecView
from harness.record import INPUTS, PointInputs, derive
from harness.runlog import LogFacts, as_number
from recscale.records import RunResult

TIME_TOLERANCE_S = 0.002  # time_ms is whole milliseconds
RELATIVE = 1e-9
TIMES = frozenset({"time_to_target_s", "run_time_s", "pass_time_s", "elapsed_s"})  # compared within 2 ms
RULE_OF_FIELD = {
    "seed": "RUN-2", "time_to_target_s": "TIME-4", "run_time_s": "TIME-4", "pass_time_s": "TIME-4",
    "started_at": "TIME-4", "finished_at": "TIME-4", "params": "RUN-5", "flops_per_example": "RUN-5",
    "train_flops": "RUN-5", "quality": "CONV-1", "workload_id": "SUB-5", "system": "SUB-5", "division": "SUB-5",
}
SAYS = {  # how a finding names where the derived value comes from (default: the log)
    "quality": "{path} {recorded} is not the spec's {derived}",
    "params": "{path} is {recorded}, recscale/accounting.py counts {derived}",
    "flops_per_example": "{path} is {recorded}, recscale/accounting.py counts {derived}",
    "train_flops": "{path} {recorded} is not flops_per_example.total x samples_seen = {derived}",
}
_ABSENT = object()  # a key one side has and the other not


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers by value, booleans only to booleans, the rest by type and value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b  # Python compares int and float exactly, and never overflows (float(10**400) would)
    return type(a) is type(b) and a == b


def _agree(recorded: Any, derived: Any, leaf: str) -> bool:
    """Leaf values agree: times within 2 ms, other non-integers relatively within 1e-9, the rest equal."""
    if same(recorded, derived):
        return True
    x, y = as_number(recorded), as_number(derived)
    if x is None or y is None or isinstance(recorded, bool) or isinstance(derived, bool):
        return False
    if leaf in TIMES:
        return abs(x - y) <= TIME_TOLERANCE_S
    if isinstance(recorded, int) and isinstance(derived, int):
        return False
    return abs(x - y) <= RELATIVE * max(abs(x), abs(y))


@dataclass(frozen=True)
class Difference:
    path: str  # dotted, with [i] for list items: curve[2].auc
    recorded: Any
    derived: Any

    @property
    def field(self) -> str:
        return self.path.split(".")[0].split("[")[0]

    @property
    def rule(self) -> str:
        return "TIME-4" if self.path.rsplit(".", 1)[-1] in TIMES else RULE_OF_FIELD.get(self.field, "LOG-6")

    def message(self) -> str:
        if isinstance(self.recorded, list) and isinstance(self.derived, list):
            return f"{self.path} has {len(self.recorded)} entries, the log gives {len(self.derived)}"
        template = SAYS.get(self.field, "{path} {recorded} but the log says {derived}")
        return template.format(path=self.path, recorded=_show(self.recorded), derived=_show(self.derived))


def _show(value: Any, limit: int = 80) -> str:
    text = "nothing" if value is _ABSENT else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def differences(recorded: Any, derived: Any, path: str) -> Iterator[Difference]:
    """Every leaf where two JSON values disagree (a list of another length is one difference)."""
    if isinstance(recorded, dict) and isinstance(derived, dict):
        for key in [*derived, *(key for key in recorded if key not in derived)]:
            yield from differences(recorded.get(key, _ABSENT), derived.get(key, _ABSENT), f"{path}.{key}")
    elif isinstance(recorded, list) and isinstance(derived, list):
        if len(recorded) != len(derived):
            yield Difference(path, recorded, derived)
        for i, (a, b) in enumerate(zip(recorded, derived, strict=False)):
            yield from differences(a, b, f"{path}[{i}]")
    elif not _agree(recorded, derived, path.rsplit(".", 1)[-1]):
        yield Difference(path, recorded, derived)


def check_record(result: RunResult, facts: LogFacts, spec: SpecView, spec_sha256: str, file: str,
                 out: Findings) -> None:
    """The record is what harness.record derives from its log and its recorded point."""
    fixed = dict(spec.fixed)
    if "params" not in fixed:
        out.note("RUN-5", file, "the spec is not one this repository can read: parameter and FLOP counts not verified")
        fixed.update(params=result.params.model_dump(), flops_per_example=result.flops_per_example.model_dump())
    derived = derive(facts, PointInputs(result.spec, result.overrides, fixed))
    recorded = result.model_dump(mode="json", exclude=set(INPUTS))
    for name, value in derived.fields.items():
        # Equal as Python values needs no walk (a boolean logged for a number is LOG-2's: its kinds exclude it).
        if name in INPUTS or recorded[name] == value:
            continue
        for difference in differences(recorded[name], value, name):
            if name not in derived.not_logged and difference.path not in derived.not_logged:
                out.error(difference.rule, file, difference.message())  # what the log lacks, the log checks report
    if result.spec_sha256 != spec_sha256:
        out.error("LOG-6", file, f"spec_sha256 {result.spec_sha256[:12]}... is not the hash of the recorded spec "
                  f"({spec_sha256[:12]}...)")
    for key, wanted in (spec.hyper or {}).items():
        if (event := facts.once(key)) is not None and not same(event.value, wanted):
            out.error("LOG-6", file, f"the log's {key} is {event.value!r}, the run's spec says {wanted!r}")
