"""Bids, as a trader or the optimiser writes them, before any market rule is checked.

One model per bid shape, told apart by `type`:

- `SingleBid`: one volume at one limit price for one product (continuous intraday, or a
  one-step order in an auction).
- `CurveBid`: a price-volume step curve for one MTU of an auction (day-ahead).
- `BlockBid`: one price for several consecutive MTUs of an auction, with a volume per MTU.
- `BalancingCapacityBid`: MW of reserve in one direction for one block, at a capacity price.
- `BalancingEnergyBid`: MW of balancing energy in one direction for one MTU.

Sign convention for energy volumes: positive = sell (injection), negative = buy
(withdrawal). Balancing volumes are positive; the `direction` says up or down. This module
checks only the shape of a bid (types, finite numbers); whether it obeys a market's rules is
`MarketPlugin.validate`'s job, which reports every broken rule at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, TypeAdapter

from markets.products import Direction

_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

Number = Annotated[float, Strict()]
"""A JSON number: an int or a float, never a string or a boolean that looks like one."""
Flag = Annotated[bool, Strict()]
"""A JSON boolean: true or false, never "yes" or 1."""
MAX_TEXT_CHARS = 200
"""The longest text a bid field (an id or a reference) may hold [characters]."""

Text = Annotated[str, Strict(), StringConstraints(max_length=MAX_TEXT_CHARS)]
"""A JSON string of at most `MAX_TEXT_CHARS` characters, never a number."""


class _Bid(BaseModel):
    model_config = _CONFIG

    bid_id: Text | None = Field(default=None, description="the submitter's own reference")


class SingleBid(_Bid):
    """Sell (volume > 0) or buy (volume < 0) `volume_mw` at `price_eur_per_mwh` or better."""

    type: Literal["single"] = "single"
    product_id: Text
    volume_mw: Number = Field(description="[MW]; positive = sell, negative = buy")
    price_eur_per_mwh: Number = Field(description="limit price [EUR/MWh]")
    cross_border: Flag = Field(
        default=False,
        description="continuous intraday: must be matchable across borders, so it must "
        "arrive before the cross-border gate closure",
    )


class CurvePoint(BaseModel):
    """At `price_eur_per_mwh`, sell (> 0) or buy (< 0) `volume_mw`."""

    model_config = _CONFIG

    price_eur_per_mwh: Number
    volume_mw: Number = Field(description="[MW]; positive = sell, negative = buy")


class CurveBid(_Bid):
    """A step curve for one MTU: net volume per price, prices ascending.

    The volume offered must not fall as the price rises (a supply curve: sell more, or buy
    less, at higher prices).
    """

    type: Literal["curve"] = "curve"
    product_id: Text
    points: tuple[CurvePoint, ...] = Field(min_length=1, description="see curve_points_min/max")


class BlockBid(_Bid):
    """One limit price for consecutive MTUs, accepted together (or not at all).

    `volumes_mw` gives the volume of each product in `product_ids` (a regular block repeats
    one value; a profiled block varies it). `min_acceptance_ratio` below 1 lets the auction
    accept the block partly; `linked_to` names a parent block that must be accepted first.
    """

    type: Literal["block"] = "block"
    product_ids: tuple[Text, ...] = Field(min_length=1, description="consecutive MTU products")
    volumes_mw: tuple[Number, ...] = Field(min_length=1, description="[MW] one per product")
    price_eur_per_mwh: Number
    min_acceptance_ratio: Number = Field(default=1.0, gt=0, le=1)
    linked_to: Text | None = None


class BalancingCapacityBid(_Bid):
    """Hold `capacity_mw` of reserve in `direction` for one block, at a capacity price."""

    type: Literal["balancing_capacity"] = "balancing_capacity"
    product_id: Text
    direction: Direction
    capacity_mw: Number = Field(description="[MW], positive")
    capacity_price_eur_per_mw_h: Number = Field(description="[EUR/MW/h]")
    energy_price_eur_per_mwh: Number | None = Field(
        default=None,
        description="energy price carried into the energy market, where the market allows it",
    )
    divisible: Flag = Field(default=True, description="may be accepted in part")


class BalancingEnergyBid(_Bid):
    """Deliver up to `volume_mw` of balancing energy in `direction` for one MTU."""

    type: Literal["balancing_energy"] = "balancing_energy"
    product_id: Text
    direction: Direction
    volume_mw: Number = Field(description="[MW], positive")
    energy_price_eur_per_mwh: Number = Field(description="[EUR/MWh]")


Bid = Annotated[
    SingleBid | CurveBid | BlockBid | BalancingCapacityBid | BalancingEnergyBid,
    Field(discriminator="type"),
]
"""Any bid; pydantic tells the shapes apart by `type`."""

BID_ADAPTER: TypeAdapter[Bid] = TypeAdapter(Bid)
BIDS_ADAPTER: TypeAdapter[list[Bid]] = TypeAdapter(list[Bid])


def product_ids_of(bid: Bid) -> tuple[str, ...]:
    """The products a bid is for, in order."""
    return bid.product_ids if isinstance(bid, BlockBid) else (bid.product_id,)


def parse_bid(data: object) -> Bid:
    """A bid from JSON-like data; `pydantic.ValidationError` names the bad field."""
    return BID_ADAPTER.validate_python(data)
