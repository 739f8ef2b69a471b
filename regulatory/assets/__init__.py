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

_union_adapter: TypeAdapter[Asset] = TypeAdapter(Asset)


def validate_asset(data: object) -> AssetBase:
    """Validate one asset from plain data (a dict from YAML/JSON), choosing the model by kind.

    Errors come from the kind's own model, so their locations are plain field paths
    (``soc_min_mwh``, not ``battery.soc_min_mwh``); data without a known string `kind` gets
    the union's error listing the known kinds.
    """
    kind = data.get("kind") if isinstance(data, dict) else None
    if isinstance(kind, str) and kind in ASSET_MODELS:
        return ASSET_MODELS[kind].model_validate(data)
    return _union_adapter.validate_python(data)


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
    "validate_asset",
]
