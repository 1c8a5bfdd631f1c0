#!/usr/bin/env bash
# The prepared GPU check (issue 12): one call on a CUDA machine with no network, from a fresh copy of
# the repository, prints every figure and writes its logs (and any submission it made) under $OUT.
#
#   bash bench/gpu_check.sh [STEP ...]      # default: env tests bench data e2e
#
# Steps: env (versions, GPU), tests (the CUDA tests), bench (bench/bench_gpu.py, every config and
# precision), data (the generator on the GPU), e2e (one point end to end: `recscale run` then
# `recscale check`), study (the GPU scaling study, resumable: STUDY_RESUME=FILE.tgz, the archive an
# earlier call returned, carried here, is unpacked first and its finished runs are skipped).
# Missing pure-Python packages (pydantic, jsonschema, mlperf-logging, ...) are installed from the
# wheels in .whl/ when that folder exists (see README, "GPUs"). Each step has its own time limit, so
# one that fails or hangs leaves the others' figures.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-check}
WORK=${WORK:-/tmp/recscale-gpu}  # submissions and data: only logs and archives go to $OUT
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/recscale-site \
    .whl/*.whl || { echo "wheel install failed"; exit 2; }
  export PYTHONPATH=$PWD:/tmp/recscale-site
fi
PY=python3
RECSCALE="$PY -m harness.cli"
STEPS=${*:-env tests bench data e2e}
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"

step() {  # step NAME LIMIT_S COMMAND...: run, log to $OUT/NAME.log, print the log's tail and the verdict
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  echo "=== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -n "${TAIL:-60}" "$OUT/$name.log"
  echo "$name: rc=$rc in $((SECONDS - start)) s" | tee -a "$SUMMARY"
}

for s in $STEPS; do
  case $s in
    env)
      step env 60 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv; \
        $PY -c 'import torch, sys; print(sys.version); print(torch.__version__, torch.version.cuda, \
        torch.cuda.get_device_name(0)); import triton; print(\"triton\", triton.__version__)'" ;;
    tests)  # every CUDA test: the TBE kernels, the generator on CPU vs CUDA, collectives under NCCL
      step tests "${TESTS_LIMIT:-210}" $PY -m pytest -q -p no:cacheprovider -o addopts="" -m "not slow" -k cuda \
        tests/test_model_tbe_cuda.py tests/test_model.py tests/test_data_counter_hash.py tests/test_data_synthetic.py \
        tests/test_runner_distributed.py tests/test_model_cuda_graphs.py tests/test_data_staged.py tests/test_runner.py ;;
    bench)
      step bench "${BENCH_LIMIT:-330}" $PY bench/bench_gpu.py ${BENCH_ARGS:-} ;;
    data)
      step data "${DATA_LIMIT:-120}" $PY bench/bench_data.py --device cuda ${DATA_ARGS:-} ;;
    e2e)
      rm -rf "$WORK/e2e-sub"
      step e2e 240 bash -c "$RECSCALE run smoke --submission $WORK/e2e-sub --device cuda --backend torch \
        --system h200_cuda_torch --status research --data-root $WORK/data --no-progress && \
        $RECSCALE check $WORK/e2e-sub" ;;
    study)
      SUB=${STUDY_SUBMISSION:-$WORK/reference-h200}
      if [ -n "${STUDY_RESUME:-}" ]; then  # the partial submission of an earlier call
        mkdir -p "$(dirname "$SUB")" && tar -xzf "$STUDY_RESUME" -C "$(dirname "$SUB")" || exit 2
      fi
      step study "${STUDY_LIMIT:-420}" bash -c "for w in ${STUDY_WORKLOADS:-study-data-gpu}; do \
        $RECSCALE run \$w --submission $SUB --device cuda --backend torch --system h200_cuda_torch \
        --submitter RecScale --status cloud --data-root $WORK/data --no-progress || exit \$?; done"
      tar -czf "$OUT/study-submission.tgz" -C "$(dirname "$SUB")" "$(basename "$SUB")" ;;
    *) echo "unknown step $s"; exit 2 ;;
  esac
done
echo "=== summary"
cat "$SUMMARY"
