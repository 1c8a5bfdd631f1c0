"""DCNv2 low-rank cross network (Wang et al. 2021), as in the MLPerf DLRM-DCNv2 reference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reference.model.interactions import InteractionParams


class Params(InteractionParams):
    kind: Literal["dcn"] = "dcn"
    layers: int = Field(3, ge=1, description="number of cross layers")
    low_rank: int = Field(512, ge=1, description="rank of each layer's factorised weight W = U V")
