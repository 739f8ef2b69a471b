"""What one country's rules mean for one asset on one day: the `Treatment`.

Treatments are derived, never stored by hand: `regulatory.resolve.treatment_for` builds them
from an asset, its site and the rule set in force. Each part carries the source and
confidence of the rule it came from, and the rule-set version that produced it.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from regulatory.assets.base import BalancingProduct
from regulatory.rules import Confidence, NegativePriceRule, PoolingScope


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    confidence: Confidence


class BalancingEligibility(_Part):
    """May the asset offer `product`, with how many MW, pooled how far."""

    product: BalancingProduct
    eligible: bool
    prequalified_mw: float = Field(description="MW the asset may offer [MW]; 0 if not eligible")
    min_offer_mw: float = Field(description="the TSO's smallest offer [MW]")
    pool_only: bool = Field(description="prequalified MW is below the minimum offer")
    pooling: PoolingScope
    pool_key: str = Field(description="assets pool together only with the same key")
    energy_reservoir_h: float | None = Field(
        description="full-power duration a limited-energy asset must keep in reserve [h]"
    )
    reason: str


class SupportTreatment(_Part):
    """The support scheme that pays this asset and what it loses at negative prices."""

    scheme: str
    reference_value_eur_per_mwh: float
    negative_prices: NegativePriceRule
    summary: str


class ChargeItem(_Part):
    """One levy or fee on grid withdrawal and whether the asset pays it."""

    name: str
    unit: str
    eur_per_mwh: float | None = Field(
        description="rate on withdrawal [EUR/MWh]; None = not known (site tariff missing)"
    )
    exempt: bool
    exempt_until: date | None = None
    reason: str


class Treatment(BaseModel):
    """How `country`'s rule set `rule_set_version` treats asset `asset_id` on `on`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: str
    kind: str
    country: str
    on: date
    rule_set_version: str
    rule_set_valid_from: date
    balancing: tuple[BalancingEligibility, ...]
    support: SupportTreatment | None
    support_note: str | None = None
    charges: tuple[ChargeItem, ...]
    charging_cost_eur_per_mwh: float = Field(
        description="sum of known per-MWh charges the asset pays on withdrawal [EUR/MWh]"
    )
    baseline_method: str | None
    uncertain: tuple[str, ...] = Field(
        description="the parts of this treatment that rest on uncertain facts"
    )

    def prequalified_mw(self, product: BalancingProduct) -> float:
        """MW the asset may offer for `product` [MW]; 0 if it may not."""
        return next(
            (b.prequalified_mw for b in self.balancing if b.product == product and b.eligible),
            0.0,
        )
