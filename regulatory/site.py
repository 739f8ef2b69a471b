"""Sites: grid connections that one or several assets share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from regulatory.assets.base import AssetId


class Site(BaseModel):
    """A grid connection point and the market context it sits in.

    Country, bidding zone and control area are checked against the country's regulatory
    rule set when a portfolio is loaded; the connection limit bounds the sum of the net
    injection of every asset behind it, in both directions.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: AssetId
    name: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. 'DE'")
    bidding_zone: str = Field(min_length=1, description="e.g. 'DE_LU', 'NL'")
    control_area: str = Field(
        min_length=1, description="TSO control area of the connecting TSO, e.g. 'Amprion'"
    )
    grid_connection_mw: float = Field(
        gt=0, description="max exchange with the grid at this point, both directions [MW]"
    )
    metering_point: str = Field(min_length=1, description="metering point id (e.g. MaLo/EAN)")
    balancing_group: str = Field(
        min_length=1, description="balancing group / BRP perimeter the site is settled in"
    )
    grid_fee_withdrawal_eur_per_mwh: float | None = Field(
        default=None,
        ge=0,
        description="energy component of the grid tariff on withdrawal [EUR/MWh]; None = unknown",
    )
    grid_contract: str | None = Field(
        default=None,
        description="non-standard connection agreement, e.g. 'atr85' (NL time-duration right)",
    )
