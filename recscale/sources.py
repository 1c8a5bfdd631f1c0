"""The data sources a workload can name (``data.source``): one registry entry each.

A source is either *generated* (a pure function of the workload's generator settings, made on
demand under the run's data root: reference/data/generate.py) or *stored* (converted shards with a
manifest, read from the workload's ``data.path``: reference/data/loader.py). Everything that
needs the list (the spec language, the data set manifest, the loader, `recscale data`) reads it
here, so adding a source is its converter module in reference/data/ plus one entry below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class DataSource:
    name: str
    generated: bool  # True: made from the workload's generator settings; False: read from data.path
    description: str
    cardinalities: str | None = None  # the named vocabulary sizes of its features (recscale.cardinalities)


SOURCES: dict[str, DataSource] = {
    source.name: source
    for source in (
        DataSource("synthetic", True, "planted-teacher synthetic clicks (reference/data/synthetic.py)"),
        DataSource("criteo_kaggle", False, "Criteo Display Advertising Challenge train.txt, converted "
                   "(`recscale data convert criteo-kaggle`)", "criteo_kaggle"),
        DataSource("criteo_1tb", False, "Criteo 1TB Click Logs day_0 .. day_23, converted (`recscale data "
                   "convert criteo-1tb`) or torchrec's preprocessed .npy days indexed in place", "criteo_1tb"),
        DataSource("npy", False, "any torchrec-style day_N_{dense,sparse,labels}.npy days, indexed in place "
                   "(`recscale data convert torchrec-npy --source npy`)"),
    )
}

# The names as a type: pydantic models (the workload spec, the data set manifest) validate against it
# and the JSON schemas list them.
SourceName = Literal[tuple(SOURCES)]  # type: ignore[valid-type]  (built from the registry at import)


def generated_sources() -> list[str]:
    return [name for name, source in SOURCES.items() if source.generated]


def stored_sources() -> list[str]:
    return [name for name, source in SOURCES.items() if not source.generated]
