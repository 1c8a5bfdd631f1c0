"""`recscale check`: validate a submission offline against RULES.md (and read real MLPerf packages).

Public API (the scorer reads only submissions for which `check_submission(root).passed`):

    check_submission(root, references=None, workloads=None) -> CheckReport
    check_mlperf_package(root, benchmark="dlrm_dcnv2", round_text=None) -> CheckReport

One module per concern: files (layout, links, sizes), schema (JSON against schemas/), logs and
timing (mllog.txt), agreement (result.json vs its log), rules (divisions, runs, systems,
manifest), convergence (reference band); report holds the records and the rule catalogue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.check.report import MLPERF_RULES, RULES, CheckReport, Finding, RuleOutcome

if TYPE_CHECKING:
    from harness.check.checker import check_submission
    from harness.check.mlperf_package import check_mlperf_package

__all__ = ["MLPERF_RULES", "RULES", "CheckReport", "Finding", "RuleOutcome", "check_mlperf_package",
           "check_submission"]


def __getattr__(name: str) -> Any:
    """The checkers are imported on first use: harness.schemas imports this package for CheckReport."""
    if name == "check_submission":
        from harness.check.checker import check_submission

        return check_submission
    if name == "check_mlperf_package":
        from harness.check.mlperf_package import check_mlperf_package

        return check_mlperf_package
    raise AttributeError(name)
