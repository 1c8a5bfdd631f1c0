"""The interactions' nn.Modules, one module per kind (its Params and arithmetic: recscale.interactions)."""

from __future__ import annotations

import importlib

from torch import nn

from recscale.interactions import interaction_module


def interaction_class(kind: str) -> type[nn.Module]:
    """The ``Interaction`` nn.Module of ``kind`` (reference/model/interactions/<kind>.py)."""
    definition = interaction_module(kind)  # a KeyError naming the known kinds when there is none
    name = definition.__name__.rsplit(".", 1)[1]
    return importlib.import_module(f"{__name__}.{name}").Interaction
