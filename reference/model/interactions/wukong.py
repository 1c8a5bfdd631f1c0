"""Wukong interaction stack (Zhang et al. 2024, "Wukong: Towards a Scaling Law for Large-Scale
Recommendation"): layers of a factorization-machine block beside a linear compression block."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reference.model.interactions import InteractionParams


class Params(InteractionParams):
    kind: Literal["wukong"] = "wukong"
    layers: int = Field(2, ge=1, description="number of stacked Wukong layers")
    fmb_features: int = Field(16, ge=1, description="embeddings each FM block outputs (n_F)")
    lcb_features: int = Field(16, ge=1, description="embeddings each linear compression block outputs (n_L)")
    fmb_rank: int = Field(8, ge=1, description="rank k of the optimised FM (X X^T Y with Y: n x k)")
    fmb_mlp: list[int] = Field(default_factory=lambda: [256], description="hidden widths of the FM block MLP")
