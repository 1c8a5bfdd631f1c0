"""The BLAS thread count of the scaling fits.

The fits' matrices are tiny: waking OpenBLAS's thread pool for each of L-BFGS-B's thousands of
small calls costs 10-30x the work on a shared 2-core machine, so the fits run on ``FIT_THREADS``
BLAS threads (one). The reproduction tests set it to another count and check that the published
numbers do not change (RULES.md SCORE-8).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

FIT_THREADS = 1


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded BLAS libraries once


@contextlib.contextmanager
def fit_blas_threads() -> Iterator[None]:
    """Run the enclosed fits with ``FIT_THREADS`` BLAS threads."""
    with _controller().limit(limits=FIT_THREADS, user_api="blas"):
        yield
