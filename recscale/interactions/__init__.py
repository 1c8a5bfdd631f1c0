"""Feature-interaction architectures: each one's parameters and arithmetic, discovered by name.

An interaction is two modules of the same name, one per layer:

- ``recscale/interactions/<kind>.py`` (this package; no torch): ``Params``, a pydantic model
  (subclass of :class:`InteractionParams`) whose ``kind`` is a ``Literal`` naming the interaction
  (what a workload's ``model.interaction`` holds), and the arithmetic per example:
  ``output_dim(params, num_sparse, dim)``, ``param_count(...)`` and ``forward_flops(...)``
  (recscale/accounting.py states the FLOP convention);
- ``reference/model/interactions/<kind>.py``: ``Interaction``, the ``nn.Module`` built as
  ``Interaction(params, num_sparse, dim)`` whose ``forward(dense [B, D], sparse [B, F, D]) -> [B, output_dim]``.

Nothing else needs editing: the spec language, the accounting and the model builder find both by
name, and tests/test_interactions.py checks that every kind has both halves.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class InteractionParams(BaseModel):
    """Base of every interaction's parameters: strict (unknown keys, inf and nan are errors), immutable.

    Integers are :data:`recscale.limits.Count` (1 to 2^63 - 1) unless a tighter bound applies.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    kind: str
    # Whether the interaction stacks the bottom MLP's output with the embeddings (then its width
    # must equal the embedding dim). True of dot, DCN and Wukong; an interaction that projects
    # the dense features itself sets it False.
    stacks_dense_with_embeddings: ClassVar[bool] = True


@cache
def interaction_modules() -> dict[str, ModuleType]:
    """Every interaction definition of this package, keyed by its ``Params.kind``."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = module.Params.model_fields["kind"].default
        found[kind] = module
    return found


def interaction_module(kind: str) -> ModuleType:
    modules = interaction_modules()
    if kind not in modules:
        raise KeyError(f"unknown interaction kind {kind!r}; known: {', '.join(sorted(modules))}")
    return modules[kind]
