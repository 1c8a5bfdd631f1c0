"""Data: the planted-teacher synthetic generator, real Criteo converters, shards and loaders.

    synthetic.py   the planted teacher and its exact Zipf/heavy-tail sampling (block-deterministic)
    generate.py    parallel, atomic, cached materialisation of a synthetic data set
    criteo.py      vectorised parsing of Criteo TSV logs (Kaggle train.txt, 1TB day_N[.gz])
    convert.py     `recscale data convert`: logs -> shards + manifest (streaming)
    npy.py         torchrec day_N_*.npy and MLPerf multi-hot .npz days, indexed in place
    manifest.py    the on-disk format: manifest model, checksums, memory maps
    loader.py      Dataset / open_dataset: nested fractions, seeded shuffle, per-rank batches
    dali.py        optional NVIDIA DALI pipeline over the same shards

The names below are imported lazily, so `import reference.data.synthetic` in a worker (or spec
validation, which imports cardinalities) does not pull in torch.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Batch": "reference.data.batch",
    "Dataset": "reference.data.loader",
    "open_dataset": "reference.data.loader",
    "DatasetManifest": "reference.data.manifest",
    "SyntheticConfig": "reference.data.synthetic",
    "ensure_synthetic": "reference.data.generate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'reference.data' has no attribute {name!r}")
