"""The real MLPerf Training dlrm_dcnv2 packages under tests/fixtures (provenance: tests/fixtures/README.md for
mlperf_training_v*/, tests/fixtures/mlperf_rounds/PROVENANCE.md for mlperf_rounds/).

Expected values are what mlperf-logging 4.1.68's result summarizer gives for them
(``_compute_strong_score_standalone`` with the round's ruleset); tests/test_mlperf_parity.py
recomputes them with the summarizer itself, so these literals are a second, readable record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROUNDS = FIXTURES / "mlperf_rounds"  # round folders as the public repositories hold them
R30, R40, R51 = (f"mlperf_rounds/training_results_{r}" for r in ("v3.0", "v4.0", "v5.1"))


@dataclass(frozen=True)
class FixtureSystem:
    round_dir: str  # folder under tests/fixtures, named after the round
    submitter: str
    system: str
    ruleset: str
    olympic_mean: float  # minutes, 4 decimals
    scaling_factor: float  # from scaling.json, 1.0 without one
    score: float  # olympic_mean x scaling_factor, 4 decimals
    counted: int  # runs the summarizer counts
    what: str  # why it is here

    @property
    def root(self) -> Path:
        return FIXTURES / self.round_dir / self.submitter

    @property
    def folder(self) -> Path:
        return self.root / "results" / self.system / "dlrm_dcnv2"


SYSTEMS = [
    FixtureSystem(R30, "GIGABYTE", "G593-SD0_hugectr", "3.0.0", 4.1035, 1.0370762711864403,
                  4.2557, 10, "ruleset 3.0.0; scaling.json"),
    FixtureSystem("mlperf_training_v3.1", "NVIDIA", "eos_ngc23.09_merlin_hugectr", "3.1.0", 3.8361, 1.0238095238095237,
                  3.9275, 10, "scaling.json"),
    FixtureSystem(R40, "ASUSTeK", "ESC_N8A-E12", "4.0.0", 3.7892, 1.0238095238095237, 3.8794, 10,
                  "result files numbered 2..11; scaling.json"),
    FixtureSystem("mlperf_training_v4.0", "NVIDIA", "eos_n16_ngc24.04_merlin_hugectr", "4.0.0", 0.9896, 1.0, 0.9896,
                  10, "no scaling.json"),
    FixtureSystem(R40, "smc", "1xSMC-H100-SXM-80GB", "4.0.0", 3.8271, 1.0152777777777777, 3.8855,
                  10, "result_<job>_NN.txt names; shell trace lines; scaling.json"),
    FixtureSystem(R51, "Cisco", "hpf_n8", "5.1.0", 1.5542, 1.0032277763238246, 1.5592, 9,
                  "`+ echo ':::SYSJSON ...'` trace lines; one run fails the compliance check; scaling.json"),
    FixtureSystem(R51, "Dell", "2xXE9680Lx8B200-SXM-180GB", "5.1.0", 2.3305, 1.0238095238095237,
                  2.3860, 10, "`0: :::MLLOG` rank prefixes; `+ echo ':::SYSJSON ...'` trace lines; scaling.json"),
]
