"""Bounds on workload files and on the values of a spec, each with the reason for it.

A workload file is user input, and so is a copy of one inside a submission someone else made:
every value it can hold must either run or be refused by ``recscale validate`` with a message,
never crash or hang a run. The bounds below are far from any workload the suite means (the
shipped ones are a few KB, 5 levels deep and at most a few dozen points), and close enough to
keep the reader, the sweep expansion and the run finite. README.md ("Limits of the workload
language") lists them for users; tests/test_spec_limits.py tests each, and
bench/bench_bad_workloads.py throws ~700 malformed workloads at the CLI.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# ---------------------------------------------------------------------------------- YAML reading

MAX_YAML_BYTES = 1 << 20  # a workload file is a few KB; 1 MiB leaves room for long cardinality lists
MAX_YAML_DEPTH = 32  # a workload nests about 7 levels (sweep -> group -> path -> list -> value -> list)
# Values (scalars, lists, mappings) once aliases are expanded: an alias is a reference, so a file
# of 1 KB can stand for billions of values (the "billion laughs"); far above any workload.
MAX_YAML_NODES = 100_000
MAX_INT_DIGITS = 100  # Python refuses to read integers over 4,300 digits; no spec value needs 20

# ---------------------------------------------------------------------------------- sweeps

MAX_SWEEP_POINTS = 10_000  # the product of the axes, computed before a single point is made
# Points x values per resolved spec: expansion validates and hashes every point's whole spec. Measured:
# 10,000 points of 78 values each (780,000) in 13 s and 120 MB peak on 2 busy CPU cores; without this
# bound, 10,000 points of a 100,000-value spec would take hours and tens of GB.
MAX_SWEEP_VALUES = 1_000_000

# ---------------------------------------------------------------------------------- spec values

INT64_MAX = 2**63 - 1  # every count ends up in a numpy / torch int64 (and in JSON records)
Count = Annotated[int, Field(gt=0, le=INT64_MAX)]  # PositiveInt that fits an int64
NonNegativeInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]

# Evaluations per run are at most 1 / eval_every: each is a pass over the whole eval set, and
# 10,000 of them is a curve far finer than any fit needs (MLPerf DLRM-DCNv2 evaluates 20 times).
MIN_EVAL_EVERY = 1e-4
# NE and AUC are defined only when the eval set holds a click and a non-click: two examples at least.
MIN_EVAL_SAMPLES = 2
# Synthetic data: the spec fixes the expected count of the rarer label, eval_samples x min(ctr, 1 - ctr);
# at 10 or more, an eval set without that label has probability e^-10 (about 5e-5) or less.
MIN_EXPECTED_RARER_LABELS = 10
# The synthetic teacher solves its bias by bracketing in [-60, 60] (reference/data/synthetic.py,
# Teacher.calibrate). With teacher_scale <= 4, every CTR in [0.001, 0.999] is reached with the root at
# least 8 logits inside the bracket (a grid over 1-100 features, 1-13 dense, rank 1-256, Zipf
# 0.01-5); a larger scale or a more extreme CTR leaves no root at all.
MIN_CTR, MAX_CTR = 0.001, 0.999
MAX_TEACHER_SCALE = 4.0  # logit sd ~9; Bayes NE well below 0.36 (the 2.0 of the calibration notes)
MAX_TEACHER_RANK = 256  # the teacher's table holds rank + 1 float32 per id; DLRM's dims studied are <= 128
MAX_RUNS_PER_POINT = 100  # seeds 0..n-1, each a full run; MLPerf asks 10 of DLRM-DCNv2
