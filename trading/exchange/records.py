"""What an exchange tells a trader about a bid: still pending, or cleared with its outcome.

Both records are immutable. Signs follow `markets.bids`: an energy volume is positive for a
sale (injection) and negative for a purchase (withdrawal); a balancing capacity volume is a
positive MW figure whose direction the bid names. Prices: EUR/MWh for energy, EUR/MW/h for
balancing capacity; each field's name carries its unit.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from markets.bids import Bid
from markets.products import MarketId, Pricing

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ClearingStatus(StrEnum):
    """The outcome of a cleared bid."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PendingBid(BaseModel):
    """A bid the exchange holds and has not cleared yet.

    `clears` is False for a bid an exchange holds but will not clear, `reason` then says
    why; the simulated exchange clears every market (True), and `reason` says when and by
    which rule (for continuous intraday: against the intraday price proxy).
    """

    model_config = _CONFIG

    bid_key: str = Field(description="the exchange's key of the bid: its bid_id, or one given")
    bid: Bid
    market: MarketId
    product_ids: tuple[str, ...]
    gate_closure: AwareDatetime = Field(description="UTC; withdrawal is refused from then on")
    submitted_at: AwareDatetime
    clears: bool
    reason: str


class Clearing(BaseModel):
    """The outcome of one bid, fixed at the gate closure of its product(s).

    - `cleared_volumes_mw` [MW]: one per product in `product_ids`; energy volumes signed
      (positive = sell/injection, negative = buy/withdrawal), capacity volumes positive;
      all zero when rejected.
    - `clearing_price_eur_per_mwh` [EUR/MWh]: energy bids: the uniform clearing price of the
      product, or for a block the volume-weighted average over its MTUs; None for capacity,
      and when no price was found.
    - `capacity_price_eur_per_mw_h` [EUR/MW/h]: capacity bids: the marginal price of the
      block; None for energy, and when no price was found.
    - `remuneration_eur_per_mwh` / `remuneration_eur_per_mw_h`: the price an accepted bid is
      settled at (energy: the clearing price, paid to a seller and by a buyer; capacity:
      the bid's own price under pay-as-bid, the marginal price under pay-as-cleared); None
      when rejected.
    - `reason`: why it was accepted or rejected, for people.
    """

    model_config = _CONFIG

    bid_key: str
    bid: Bid
    market: MarketId
    pricing: Pricing
    status: ClearingStatus
    product_ids: tuple[str, ...]
    cleared_volumes_mw: tuple[float, ...]
    clearing_price_eur_per_mwh: float | None = None
    capacity_price_eur_per_mw_h: float | None = None
    remuneration_eur_per_mwh: float | None = None
    remuneration_eur_per_mw_h: float | None = None
    gate_closure: AwareDatetime = Field(description="UTC gate closure the bid was cleared at")
    cleared_at: AwareDatetime = Field(description="UTC instant the exchange ran the clearing")
    reason: str

    @property
    def accepted(self) -> bool:
        """Whether the bid was accepted (with a nonzero volume)."""
        return self.status is ClearingStatus.ACCEPTED

    @property
    def cleared_volume_mw(self) -> float:
        """Cleared MW of a bid for one product (single, curve, capacity) [MW, signed as bid].

        A block's volumes differ per MTU: read `cleared_volumes_mw`; asking a block for one
        volume raises `ValueError`.
        """
        if len(self.cleared_volumes_mw) != 1:
            raise ValueError(
                f"bid {self.bid_key} spans {len(self.product_ids)} products; "
                "read cleared_volumes_mw, one volume per product"
            )
        return self.cleared_volumes_mw[0]
