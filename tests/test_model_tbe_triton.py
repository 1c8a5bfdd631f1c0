"""The Triton kernel of the table-batched embedding under Triton's interpreter, on the CPU.

The checks (tests/tbe_triton_checks.py) run in a pytest process of their own, because Triton
reads TRITON_INTERPRET once, when it is first imported. Triton is optional (CUDA builds of
PyTorch bring it): without it this test is skipped. The compiled kernel on a GPU:
tests/test_model_tbe_cuda.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKS = Path(__file__).with_name("tbe_triton_checks.py")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_triton_kernel_under_the_interpreter() -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-o", "python_files=tbe_triton_checks.py", str(CHECKS)]
    result = subprocess.run(command, env={**os.environ, "TRITON_INTERPRET": "1"}, capture_output=True, text=True,
                            cwd=CHECKS.parent.parent, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
