"""`recscale check`: validate a submission offline against RULES.md (and read real MLPerf packages).

Public API (the scorer reads only submissions for which `check_submission(root).passed`):

    check_submission(root, *, workloads=None, references=None) -> CheckReport
    check_mlperf_package(root, benchmark="dlrm_dcnv2", round_text=None) -> CheckReport

One module per concern: files (layout, links, sizes), schema (JSON against the shipped schemas),
catalogue (the workloads runs are checked against), logs and timing (mllog.txt), agreement
(result.json vs its log), rules (divisions, runs, systems, manifest), convergence (reference band);
findings holds the findings, the rule catalogue and the CheckReport record. The modules of this
package import each other directly (never this package), so importing it has no cycle.
"""

from __future__ import annotations

from harness.check.checker import check_submission
from harness.check.findings import MLPERF_RULES, RULES, CheckReport, Finding, RuleOutcome
from harness.check.mlperf_package import check_mlperf_package

__all__ = ["MLPERF_RULES", "RULES", "CheckReport", "Finding", "RuleOutcome", "check_mlperf_package",
           "check_submission"]
