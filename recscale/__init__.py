"""RecScale's leaf layer: what every other part of the suite agrees on.

The workload spec language (spec, sweep, load, errors), the record models (records, system), the
submission layout, atomic file writes (io), the registries (metrics, hyper-parameters, data
sources, interactions) and pure arithmetic on specs (accounting). It imports no torch and nothing
from ``reference`` (the DLRM implementation) or ``harness`` (runner, checker, scorer, CLI), which
both import it.
"""

__version__ = "0.1.0"
