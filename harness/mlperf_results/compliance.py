"""mlperf-logging's compliance check of one result file, as its result summarizer runs it.

The summarizer counts a run only when ``mlp_compliance`` passes it (``_read_result_file``): the
checker built with ``quiet=True, werror=False`` runs ``training_<ruleset>/common.yaml`` and the configs
that enqueues (``closed_common``/``open_common`` by the logged division, ``closed_<benchmark>``), and
fails a log with parse errors. That check -- not ``run_stop``'s status, which it never reads --
decides which runs count. RecScale runs the same checker on the lines it read (``resultlog``), so the
file is read once and the messages name real line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlperf_logging.compliance_checker import mlp_compliance

from harness.mlperf_results.resultlog import ResultLog
from harness.mlperf_results.rounds import USAGE


@dataclass(frozen=True)
class Compliance:
    """The outcome: passed, the checker's messages, or (crash) the error that stopped it."""

    passed: bool
    messages: tuple[str, ...] = ()
    crash: str | None = None

    def summary(self, limit: int = 2) -> str:
        """The first messages, one line each ("CHECK for 'x' failed in line N: failed test: ...")."""
        if self.crash:
            return f"mlperf-logging's compliance checker stops: {self.crash}"
        short = []
        for message in self.messages[:limit]:
            lines = message.splitlines()
            failed_test = next((s for s in lines if s.startswith("failed test:")), "")
            short.append(" ".join(part for part in (lines[0].rstrip(":"), failed_test) if part))
        more = len(self.messages) - limit
        return "; ".join(short) + (f" (and {more} more)" if more > 0 else "")


def check_compliance(log: ResultLog, ruleset: str) -> Compliance:
    """``ComplianceChecker.check_file`` without its logging, on the lines already read."""
    checker = mlp_compliance.make_checker(usage=USAGE, ruleset=ruleset, quiet=True, werror=False)
    # configs wait in a module-level queue; one left by a check that raised would run in this one
    mlp_compliance.enqueued_configs.clear()
    if log.rejected:
        checker.put_message("Log lines had parsing errors.")
    try:
        checker.check_loglines(list(log.loglines), f"{USAGE}_{ruleset}/common.yaml")
    except Exception as err:  # e.g. a non-numeric eval_accuracy in ATLEAST_ONE_CHECK: the summarizer stops too
        mlp_compliance.enqueued_configs.clear()
        return Compliance(False, crash=f"{type(err).__name__}: {err}")
    messages = (*checker.overwritable.values(), *checker.not_overwritable)
    return Compliance(not checker.has_messages(), tuple(messages))
