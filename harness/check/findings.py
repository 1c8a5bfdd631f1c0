"""What the checker found: findings per rule id (RULES.md), collected into the CheckReport record.

Every machine-checked rule of RULES.md is in RULES below with a short title; a report lists each
of them as passed or failed, so a reader sees what was verified, not only what went wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = 1
Severity = Literal["error", "note"]

# Machine-checked rules of a RecScale submission (RULES.md); review-only rules are not listed.
RULES: dict[str, str] = {
    "SUB-1": "submission folder layout",
    "SUB-2": "JSON files are strict JSON valid against schemas/",
    "SUB-3": "submission.json lists exactly the runs on disk",
    "SUB-4": "a run folder's path names its run",
    "SUB-5": "one submitter and one division",
    "SUB-6": "workload copies are valid, named by their id and agree with the given workloads",
    "SYS-1": "every system is described, required fields filled",
    "SYS-2": "one system is one stack",
    "FILE-1": "nothing leads outside the submission",
    "FILE-2": "file sizes and folder depth within limits",
    "FILE-3": "no unknown files",
    "LOG-1": "mllog.txt holds only :::MLLOG events",
    "LOG-2": "required events, counts, types and values",
    "LOG-3": "event order",
    "LOG-4": "evaluations are well formed",
    "LOG-5": "evaluation cadence follows the spec",
    "LOG-6": "result.json agrees with its log",
    "TIME-1": "initialisation is logged and not timed",
    "TIME-3": "run_stop at the first target hit or at the end of the pass",
    "TIME-4": "one monotonic clock; recorded times are the log's",
    "TIME-5": "after run_stop: evaluations only after success, pass end last",
    "CLOSED-1": "workload id and version exist",
    "CLOSED-2": "point id and overrides are the workload's",
    "CLOSED-3": "spec and spec_sha256 are the point's",
    "CLOSED-4": "logged hyper-parameters are the point's",
    "OPEN-1": "workload id, version and point exist",
    "OPEN-2": "data, evaluation, quality and passes unchanged",
    "RUN-1": "runs_per_point runs per point and system",
    "RUN-2": "distinct seeds, the same in folder, result and log; no run reported under two seeds",
    "RUN-3": "every started run finished and is reported",
    "RUN-5": "parameter and FLOP counts are the reference accounting",
    "CONV-1": "reaching the target and run_stop status agree",
    "CONV-2": "convergence band against the reference results",
    "CONV-3": "points the convergence band cannot test",
}

# Rules of `recscale check --mlperf` (RULES.md, appendix).
MLPERF_RULES: dict[str, str] = {
    "MLP-1": "every result file reads as mlperf-logging reads it",
    "MLP-2": "runs pass mlperf-logging's compliance check (one may fail)",
    "MLP-3": "run_stop status agrees with the evaluations (noted only)",
    "MLP-4": "system description, result files, scaling.json and a score",
}


class Finding(BaseModel):
    """One thing found: the rule it concerns, the file (relative to the checked folder), what."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    severity: Severity
    file: str
    message: str

    def line(self) -> str:
        tag = self.rule if self.severity == "error" else f"{self.rule} (note)"
        return f"{tag}  {self.file}: {self.message}"


class RuleOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    title: str
    passed: bool
    errors: int = Field(ge=0)
    notes: int = Field(ge=0)


class MLPerfRunSummary(BaseModel):
    """One MLPerf result_N.txt as `recscale check --mlperf` read it."""

    model_config = ConfigDict(extra="forbid")

    system: str
    index: int
    file: str
    minutes: float | None
    status: str | None
    reached_target: bool | None
    evaluations: int
    samples_to_target: int | None
    counted: bool = Field(description="the result summarizer counts the run (it passes the compliance check)")
    dropped_reason: str | None = Field(description="why the summarizer does not count it")


class MLPerfSystemSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str
    runs: list[MLPerfRunSummary]
    score_minutes: float | None = Field(description="the result summarizer's score: olympic mean x scaling_factor")
    olympic_mean_minutes: float | None = Field(description="olympic mean of the counted runs' minutes")
    scaling_factor: float = Field(description="from scaling.json (1 without one)")
    no_score_reason: str | None = Field(description="why the summarizer gives no score")


class CheckReport(BaseModel):
    """The outcome of `recscale check`: pass/fail per rule id, and every finding."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    kind: Literal["recscale", "mlperf"] = "recscale"
    submission: str = Field(description="the folder checked, as given")
    recscale_version: str
    checked_at: str
    division: Literal["closed", "open"] | None = None
    workloads: list[str] = Field(default_factory=list, description="the workload files and folders the runs "
                                 "were checked against, in search order (then the submission's own copies)")
    references: list[str] = Field(default_factory=list, description="the reference submissions of the "
                                  "convergence band (CONV-2)")
    runs: int = Field(ge=0, description="run folders (or MLPerf result files) found")
    passed: bool
    rules: list[RuleOutcome]
    findings: list[Finding]
    mlperf: list[MLPerfSystemSummary] | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "note"]

    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.rules if not r.passed]


@dataclass
class Findings:
    """Collects findings while the concerns run; caps repeats so one broken file is not 10k lines."""

    per_file_rule_cap: int = 20
    items: list[Finding] = field(default_factory=list)
    _counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def error(self, rule: str, file: str, message: str) -> None:
        self._add(rule, "error", file, message)

    def note(self, rule: str, file: str, message: str) -> None:
        self._add(rule, "note", file, message)

    def _add(self, rule: str, severity: Severity, file: str, message: str) -> None:
        file, message = _printable(file), _printable(message)
        if rule not in RULES and rule not in MLPERF_RULES:
            raise KeyError(f"unknown rule id {rule!r}")  # a checker bug: every id is in RULES.md
        key = (rule, file)
        self._counts[key] += 1
        count = self._counts[key]
        if count <= self.per_file_rule_cap:
            self.items.append(Finding(rule=rule, severity=severity, file=file, message=message))
        elif count == self.per_file_rule_cap + 1:
            self.items.append(Finding(rule=rule, severity=severity, file=file,
                                      message="further findings of this rule in this file are not shown"))


def _printable(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from JSON escapes or odd file names) become \\udXXX."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def outcomes(findings: list[Finding], catalog: dict[str, str]) -> list[RuleOutcome]:
    errors = Counter(f.rule for f in findings if f.severity == "error")
    notes = Counter(f.rule for f in findings if f.severity == "note")
    return [RuleOutcome(rule=rule, title=title, passed=errors[rule] == 0, errors=errors[rule], notes=notes[rule])
            for rule, title in catalog.items()]
