"""The keys of a run's MLLOG (mllog.txt): MLPerf's standard ones and RecScale's own, named once.

The event order and the meaning of RecScale's keys are in RULES.md (LOG-*); which hyper-parameters
are logged, and where each value comes from, is recscale.hyperparams.
"""

from __future__ import annotations

from mlperf_logging.mllog import constants

# RecScale's keys beside MLPerf's standard ones (mlperf_logging.mllog.constants).
POINT_ID = "recscale_point_id"
SPEC_SHA256 = "recscale_spec_sha256"
WORKLOAD_VERSION = "recscale_workload_version"
SPARSE_OPT_NAME = "recscale_sparse_opt_name"
SPARSE_LEARNING_RATE = "recscale_sparse_learning_rate"
EMBEDDING_BACKEND = "recscale_embedding_backend"
WORLD_SIZE = "recscale_world_size"
DEVICE = "recscale_device"
PRECISION = "recscale_precision"
RECSCALE_VERSION = "recscale_version"
BAYES = "recscale_bayes"
CUDA_GRAPHS = "recscale_cuda_graphs"  # whether the dense part ran as CUDA graphs (harness/runner.py)
STAGING_S = "recscale_staging_s"  # seconds initialisation spent staging the point's data (TIME-6)
EVAL_METRICS = "recscale_eval_metrics"
ABORT_REASON = "recscale_abort_reason"
TRAIN_SAMPLES_PER_S = "recscale_train_samples_per_s"
PASS_END = "recscale_pass_end"

# Standard MLPerf keys the runner uses, named once here.
SUBMISSION_BENCHMARK = constants.SUBMISSION_BENCHMARK
SUBMISSION_DIVISION = constants.SUBMISSION_DIVISION
SUBMISSION_ORG = constants.SUBMISSION_ORG
SUBMISSION_PLATFORM = constants.SUBMISSION_PLATFORM
SUBMISSION_STATUS = constants.SUBMISSION_STATUS
INIT_START = constants.INIT_START
INIT_STOP = constants.INIT_STOP
RUN_START = constants.RUN_START
RUN_STOP = constants.RUN_STOP
EVAL_START = constants.EVAL_START
EVAL_STOP = constants.EVAL_STOP
EVAL_ACCURACY = constants.EVAL_ACCURACY
SEED = constants.SEED
GLOBAL_BATCH_SIZE = constants.GLOBAL_BATCH_SIZE
OPT_NAME = constants.OPT_NAME
OPT_BASE_LR = constants.OPT_BASE_LR
OPT_ADAGRAD_EPSILON = constants.OPT_ADAGRAD_EPSILON
TRAIN_SAMPLES = constants.TRAIN_SAMPLES
EVAL_SAMPLES = constants.EVAL_SAMPLES
EPOCH_NUM = constants.EPOCH_NUM
SAMPLES_COUNT = constants.SAMPLES_COUNT
STATUS = constants.STATUS
SUCCESS = constants.SUCCESS
ABORTED = constants.ABORTED
