"""Batches made ahead of the training step: a background thread runs a host loader's pass, puts each
batch in page-locked memory and queues up to `depth` of them; the training loop takes them in order
and copies them to the device with non_blocking copies, which return at once, so reading, the
transforms and the copies overlap the step instead of preceding it.

For data that fits in no device memory (reference/data/pipeline.py decides): the host loader
(memory-mapped shards) or the point's data staged in host memory. The batches and their order are
those of the wrapped loader: a thread only changes when they are made.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

import torch

from reference.data.batch import Batch
from reference.data.loader import Loader

DEPTH = 4  # batches made ahead: enough to hide a slow batch, few enough to bound pinned memory
_POLL_S = 0.1  # how often a blocked producer looks whether the consumer has gone


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


def _put(items: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Queue `item` unless the consumer has stopped (False then)."""
    while not stop.is_set():
        try:
            items.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


class Prefetcher:
    """train_batches / eval_batches of `source`, made ahead in a thread and delivered on `device`."""

    def __init__(self, source: Loader, device: torch.device, depth: int = DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.source, self.device, self.depth = source, device, depth
        self.pin = device.type == "cuda"

    def train_batches(self, batch_size: int, rows: int, seed: int, rank: int = 0,
                      world_size: int = 1) -> Iterator[Batch]:
        return self._ahead(lambda: self.source.train_batches(batch_size, rows, seed, rank, world_size))

    def eval_batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        return self._ahead(lambda: self.source.eval_batches(batch_size, rank, world_size))

    def _produce(self, make: Callable[[], Iterator[Batch]], items: queue.Queue[object],
                 stop: threading.Event) -> None:
        try:
            for batch in make():
                if not _put(items, batch.pin_memory() if self.pin else batch, stop):
                    return
            _put(items, _END, stop)
        except BaseException as error:  # handed to the consumer, which raises it
            _put(items, _Failed(error), stop)

    def _ahead(self, make: Callable[[], Iterator[Batch]]) -> Iterator[Batch]:
        items: queue.Queue[object] = queue.Queue(maxsize=self.depth)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(make, items, stop), name="recscale-prefetch",
                                  daemon=True)
        worker.start()
        try:
            while True:
                item = items.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield cast(Batch, item).to(self.device, non_blocking=self.pin)
        finally:  # the pass ended or the consumer left early (a diverged run): stop the thread
            stop.set()
            worker.join()
