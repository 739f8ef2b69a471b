"""The asset data model: one pydantic model per kind, joined in a union tagged by `kind`."""

from typing import Annotated

from pydantic import Field, TypeAdapter

from regulatory.assets.base import (
    AssetBase,
    AssetKind,
    BalancingProduct,
    Metering,
    Prequalification,
    SupportContract,
)
from regulatory.assets.generation import CHP, PV, Wind
from regulatory.assets.loads import EVFleet, FlexibleLoad, HeatPump
from regulatory.assets.storage import Battery

Asset = Annotated[
    Battery | PV | Wind | CHP | FlexibleLoad | HeatPump | EVFleet,
    Field(discriminator="kind"),
]
"""Any asset; `kind` selects the model."""

ASSET_MODELS: dict[str, type[AssetBase]] = {
    model.model_fields["kind"].default: model
    for model in (Battery, PV, Wind, CHP, FlexibleLoad, HeatPump, EVFleet)
}
"""Asset kind -> model class."""

asset_adapter: TypeAdapter[Asset] = TypeAdapter(Asset)
"""Validates one asset from plain data (dicts from YAML/JSON)."""

__all__ = [
    "ASSET_MODELS",
    "CHP",
    "PV",
    "Asset",
    "AssetBase",
    "AssetKind",
    "BalancingProduct",
    "Battery",
    "EVFleet",
    "FlexibleLoad",
    "HeatPump",
    "Metering",
    "Prequalification",
    "SupportContract",
    "Wind",
    "asset_adapter",
]
