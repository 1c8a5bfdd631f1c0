"""Pairwise dot-product interaction (DLRM, Naumov et al. 2019)."""

from __future__ import annotations

from typing import Literal

from reference.model.interactions import InteractionParams


class Params(InteractionParams):
    kind: Literal["dot"] = "dot"
