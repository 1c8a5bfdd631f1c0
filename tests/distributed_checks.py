"""harness.distributed and the runner's evaluation in a real process group, one launch per setting:

    PYTHONPATH=. torchrun --standalone --nproc_per_node=N tests/distributed_checks.py --device cpu|cuda \\
        --data-root /tmp/recscale-data

`--device cuda` forces NCCL, even with one process (torchrun --nproc_per_node=1): the group's
collectives then run for real on the GPU, so a tensor left on the CPU fails as it does with 8 GPUs
(the bug that stopped every multi-GPU run at its first divergence check). `--device cpu` uses gloo.
Every rank runs every check; the exit status is 0 when all pass on every rank. Run by
tests/test_runner_distributed.py (2 CPU processes always, 1 and 2 GPUs where present).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

import torch
import torch.distributed as torch_dist

from harness.distributed import Distributed
from harness.runner import RunConfig, eval_scores, evaluate, train_run
from recscale.load import load_points
from recscale.sweep import Point
from reference.data.batch import Batch
from reference.data.loader import Dataset, open_dataset
from reference.model.dlrm import build_model

TINY = Path(__file__).resolve().parent / "fixtures" / "workloads" / "tiny.yaml"
EVAL_BATCH = 333  # does not divide the 2048 eval rows, and its slices differ in size between ranks
# A DLRM scoring a slice of a batch may round differently from one scoring all of it (another matmul
# shape), and a freshly initialised one scores many rows almost alike, so a few AUC pairs may flip.
ROUNDING = 1e-4


class RowWise(torch.nn.Module):
    """A model whose logit of a row depends on that row alone, bit for bit whatever the batch size."""

    def forward(self, batch: Batch) -> torch.Tensor:
        return batch.dense[:, 0] - 0.5 * batch.dense[:, 1]


def join(device: str) -> Distributed:
    """The process group: NCCL forced on CUDA (whatever the world size), gloo on the CPU."""
    if device == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        torch_dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    else:
        torch_dist.init_process_group("gloo")
    dist = Distributed.from_env(device)
    assert dist.grouped and dist.world_size == int(os.environ["WORLD_SIZE"])
    assert dist.backend == ("nccl" if device == "cuda" else "gloo"), dist.backend
    assert dist.comm_device.type == device
    assert dist.local_world_size == int(os.environ["LOCAL_WORLD_SIZE"])
    return dist


def check_any(dist: Distributed) -> None:
    assert dist.any(dist.rank == dist.world_size - 1) is True  # only the last rank's flag is set
    assert dist.any(False) is False


def check_from_main(dist: Distributed) -> None:
    decision = dist.from_main({"rank": dist.rank, "skip": dist.rank == 0, "reason": f"rank {dist.rank}"})
    assert decision == {"rank": 0, "skip": True, "reason": "rank 0"}, decision
    assert dist.from_main(None if dist.is_main else "not rank 0's") is None


def check_gather_to_main(dist: Distributed) -> None:
    # rank r sends r rows (rank 0 none): lengths differ and one is empty
    mine = torch.arange(2 * dist.rank, dtype=torch.float32, device=dist.comm_device).reshape(-1, 2) + 100 * dist.rank
    parts = dist.gather_to_main(mine)
    if not dist.is_main:
        assert parts is None
        return
    assert parts is not None and len(parts) == dist.world_size
    for rank, part in enumerate(parts):
        expected = torch.arange(2 * rank, dtype=torch.float32).reshape(-1, 2) + 100 * rank
        assert part.device == dist.comm_device and torch.equal(part.cpu(), expected), (rank, part)


def check_evaluation(dist: Distributed, dataset: Dataset, point: Point, device: torch.device) -> None:
    """Scores in file order on rank 0 and metrics on every rank, as one process computes them."""
    rowwise = RowWise()
    alone = eval_scores(rowwise, dataset, EVAL_BATCH, device, Distributed.single())
    together = eval_scores(rowwise, dataset, EVAL_BATCH, device, dist)
    if dist.is_main:
        assert together is not None and alone is not None and torch.equal(together, alone)
    else:
        assert together is None
    expected = evaluate(rowwise, dataset, EVAL_BATCH, device, Distributed.single())
    assert evaluate(rowwise, dataset, EVAL_BATCH, device, dist) == expected

    dlrm = build_model(point.spec, "torch", device, seed=0)  # the same weights on every rank
    alone_metrics = evaluate(dlrm, dataset, EVAL_BATCH, device, Distributed.single())
    metrics = evaluate(dlrm, dataset, EVAL_BATCH, device, dist)
    assert dist.from_main(metrics) == metrics  # every rank holds rank 0's dict
    same = metrics == alone_metrics if dist.world_size == 1 else all(
        math.isclose(metrics[k], alone_metrics[k], abs_tol=ROUNDING) for k in alone_metrics)
    assert same, (metrics, alone_metrics)


def check_train_run(dist: Distributed, point: Point, config: RunConfig) -> None:
    """A whole run inside the group (world size 1: the torch backend, no sharding) against one without:
    the divergence checks, evaluations and barriers run as collectives, the numbers do not change."""
    if dist.world_size != 1:
        return  # several processes shard with TorchRec: tests/test_runner_distributed.py runs them end to end
    with tempfile.TemporaryDirectory() as tmp:
        grouped = train_run(point, 0, config, Path(tmp) / "grouped", dist)
        alone = train_run(point, 0, config, Path(tmp) / "alone", Distributed.single())
    assert grouped is not None and alone is not None and grouped.final is not None and alone.final is not None
    assert grouped.samples_seen == alone.samples_seen and grouped.harness.world_size == 1
    assert len(grouped.curve) == len(alone.curve) and grouped.final.ne < 1.0
    assert abs(grouped.final.ne - alone.final.ne) < ROUNDING * 10, (grouped.final, alone.final)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], required=True)
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args()
    dist = join(args.device)
    device = dist.device(args.device)
    _, points = load_points(TINY)
    point = points[-1]
    config = RunConfig(submitter="test-org", division="closed", system="box", backend="torch",
                       device=args.device, data_root=args.data_root, progress=False)
    dataset = open_dataset(point.spec, args.data_root)
    try:
        check_any(dist)
        check_from_main(dist)
        check_gather_to_main(dist)
        check_evaluation(dist, dataset, point, device)
        check_train_run(dist, point, config)
        dist.barrier()
    finally:
        dist.close()
    print(f"rank {dist.rank}/{dist.world_size} ({dist.backend}): every check passed", flush=True)


if __name__ == "__main__":
    main()
