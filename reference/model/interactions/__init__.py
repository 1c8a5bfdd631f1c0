"""Feature-interaction architectures, one module each, discovered by name.

A new interaction is one module in this package defining:

- ``Params``: a pydantic model (subclass of :class:`InteractionParams`) whose ``kind`` is a
  ``Literal`` naming the interaction; it is what a workload's ``model.interaction`` holds;
- ``Interaction``: an ``nn.Module`` built as ``Interaction(params, num_sparse, dim)`` whose
  ``forward(dense [B, D], sparse [B, F, D]) -> [B, output_dim]``;
- ``output_dim(params, num_sparse, dim) -> int``, ``param_count(params, num_sparse, dim) -> int``
  and ``forward_flops(params, num_sparse, dim) -> int`` (per example; see reference/flops.py).

Nothing else needs editing: the spec language and the model builder find it here.

The spec language imports every interaction module to learn its ``Params``, and the scorer's FLOP
accounting calls the arithmetic functions; neither needs torch. So the built-in modules keep their
``nn.Module`` in a private sibling (``_nn_<kind>.py``, skipped by discovery) and expose it as
``Interaction`` through :func:`lazy_attribute`: torch is imported on first use of ``Interaction``.
A new interaction may equally define ``Interaction`` directly (it then imports torch with the spec).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class InteractionParams(BaseModel):
    """Base of every interaction's parameters: strict (unknown keys are errors) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    kind: str
    # Whether the interaction stacks the bottom MLP's output with the embeddings (then its width
    # must equal the embedding dim). True of dot, DCN and Wukong; an interaction that projects
    # the dense features itself sets it False.
    stacks_dense_with_embeddings: ClassVar[bool] = True


@cache
def interaction_modules() -> dict[str, ModuleType]:
    """Every interaction module of this package, keyed by its ``Params.kind``."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = module.Params.model_fields["kind"].default
        found[kind] = module
    return found


def interaction_module(kind: str) -> ModuleType:
    modules = interaction_modules()
    if kind not in modules:
        raise KeyError(f"unknown interaction kind {kind!r}; known: {', '.join(sorted(modules))}")
    return modules[kind]


def lazy_attribute(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` (PEP 562) that imports ``names`` (attribute -> name in
    ``module``) on first access, so that the importing module stays free of torch."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(module), names[name])
        raise AttributeError(f"module has no attribute {name!r}")

    return __getattr__
