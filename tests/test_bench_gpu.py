"""bench/bench_gpu.py keeps working on a machine without a GPU (its --small CPU mode, one config).

Slow (10-50 s on 2 cores: four backends built and trained, twice more for the determinism check):
``make test-all`` runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_gpu.py"


@pytest.mark.slow
def test_cpu_mode_prints_every_variant_and_the_determinism_check() -> None:
    command = [sys.executable, str(BENCH), "--device", "cpu", "--small", "--configs", "data-gpu-16k",
               "--warmup", "1", "--steps", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH.parent.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for variant in ("tbe-sorted", "tbe-atomic", r"coo \(old\)"):
        row = re.search(rf"^data-gpu-16k\s+256 fp32 {variant}\s+([\d,]+) ", result.stdout, re.MULTILINE)
        assert row and int(row.group(1).replace(",", "")) > 0, result.stdout
        assert re.search(rf"^  {variant}\s+identical$", result.stdout, re.MULTILINE), result.stdout
