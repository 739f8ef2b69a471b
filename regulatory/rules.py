"""Country rule sets: regulatory facts as versioned, dated, sourced data.

A country plugin is a `CountryRules`: an append-only history of `RuleSet`s, each with a
version and the date from which it is in force. A rule change adds a version (see
`CountryRules.amend`); history is never edited, so an audit can always say which rule set
priced or validated a decision.

Every fact carries its `source` and a `confidence`: ``confirmed`` (read in a primary or
named source), ``general`` (general knowledge, not checked), ``uncertain`` (sources
conflict, are old, or none was found). Uncertain facts stay visible in every treatment
derived from them.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulatory.assets.base import AssetKind, BalancingProduct


class Confidence(StrEnum):
    """How well a fact is backed; see the module docstring."""

    CONFIRMED = "confirmed"
    GENERAL = "general"
    UNCERTAIN = "uncertain"


class Fact(BaseModel):
    """Base of every rule: where it comes from and how sure we are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="where the fact was read")
    confidence: Confidence
    note: str | None = None


DISPATCHABLE_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
DEMAND_RESPONSE_KINDS: tuple[AssetKind, ...] = ("flexible_load", "heat_pump", "ev_fleet")


class PoolingScope(StrEnum):
    """How far an asset's balancing offer may be pooled with others."""

    CONTROL_AREA = "control_area"
    """Only with assets in the same TSO control area (connecting TSO)."""
    COUNTRY = "country"
    """Anywhere in the country."""


class ProductRule(Fact):
    """A balancing product as the regulator sees it: who may offer it and how."""

    product: BalancingProduct
    eligible_kinds: tuple[AssetKind, ...] = DISPATCHABLE_KINDS
    min_offer_mw: float = Field(gt=0, description="smallest offer the TSO takes [MW]")
    pooling: PoolingScope
    energy_reservoir_h: float | None = Field(
        default=None,
        ge=0,
        description="full-power duration a limited-energy asset must hold in reserve [h]",
    )
    requires_interval_metering: bool = True


class NegativePriceRule(Fact):
    """When a support payment lapses because the day-ahead price is negative.

    ``not_affected``: paid regardless. ``every_period``: lost in every period with a
    negative price. ``non_positive_period``: lost in every period with a price <= 0.
    ``consecutive_hours``: lost for the whole run once the price has been negative for at
    least `hours` consecutive hours.
    """

    kind: Literal["not_affected", "every_period", "non_positive_period", "consecutive_hours"]
    hours: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _hours_iff_consecutive(self) -> NegativePriceRule:
        if (self.kind == "consecutive_hours") != (self.hours is not None):
            raise ValueError("hours is required for consecutive_hours and only there")
        return self

    def describe(self) -> str:
        """One line for people."""
        if self.kind == "consecutive_hours":
            return (
                f"lost once the day-ahead price is negative for >= {self.hours:g} consecutive "
                "hours, for the whole negative run"
            )
        return {
            "not_affected": "paid at any price",
            "every_period": "lost in every period with a negative day-ahead price",
            "non_positive_period": "lost in every period with a day-ahead price <= 0",
        }[self.kind]


class DatedNegativePriceRule(BaseModel):
    """A negative-price rule that applies to delivery on or after `applies_from`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applies_from: date = date(1900, 1, 1)
    rule: NegativePriceRule


class SupportBand(Fact):
    """Plants commissioned in [commissioned_from, commissioned_before), rating in [min, max].

    `rules` lists the negative-price rule by delivery date (a band's rule can tighten year
    by year); the last one whose `applies_from` is on or before the day applies.
    """

    commissioned_from: date | None = None
    commissioned_before: date | None = None
    min_rating_mw: float = Field(default=0.0, ge=0, description="inclusive lower bound [MW]")
    max_rating_mw: float | None = Field(
        default=None, gt=0, description="inclusive upper bound [MW]; None = no upper bound"
    )
    rules: tuple[DatedNegativePriceRule, ...] = Field(min_length=1)

    def covers(self, commissioned: date, rating_mw: float) -> bool:
        """Whether a plant commissioned on `commissioned` with `rating_mw` [MW] falls here."""
        after_start = self.commissioned_from is None or commissioned >= self.commissioned_from
        before_end = self.commissioned_before is None or commissioned < self.commissioned_before
        below_max = self.max_rating_mw is None or rating_mw <= self.max_rating_mw
        return after_start and before_end and self.min_rating_mw <= rating_mw and below_max

    def rule_on(self, day: date) -> NegativePriceRule | None:
        """The rule that applies to delivery on `day`, or None before the first one."""
        current = None
        for dated in sorted(self.rules, key=lambda d: d.applies_from):
            if dated.applies_from <= day:
                current = dated.rule
        return current


class SupportScheme(Fact):
    """An operating-support scheme and how it treats negative prices."""

    name: str
    kinds: tuple[AssetKind, ...]
    bands: tuple[SupportBand, ...] = Field(min_length=1)


class Exemption(Fact):
    """Conditions under which a charge is waived; all given conditions must hold."""

    description: str
    kinds: tuple[AssetKind, ...]
    commissioned_from: date | None = None
    commissioned_before: date | None = None
    duration_years: int | None = Field(
        default=None, gt=0, description="waived for this many years from commissioning"
    )
    grid_contracts: tuple[str, ...] | None = Field(
        default=None, description="only for sites with one of these connection agreements"
    )


class ChargingCharge(Fact):
    """A levy, tax or grid fee on energy (or capacity) drawn from the grid.

    `eur_per_mwh` None with ``unit='EUR/MWh'`` means the site's own tariff applies
    (`Site.grid_fee_withdrawal_eur_per_mwh`). Capacity-based charges (``EUR/kW/year``)
    are reported but do not vary with dispatch.
    """

    name: str
    kinds: tuple[AssetKind, ...]
    unit: Literal["EUR/MWh", "EUR/kW/year"] = "EUR/MWh"
    eur_per_mwh: float | None = Field(default=None, ge=0)
    site_tariff: bool = Field(
        default=False, description="the amount is the site's grid tariff, not a national one"
    )
    exemptions: tuple[Exemption, ...] = ()


class BaselineRule(Fact):
    """How delivered flexibility of a demand-response asset is measured."""

    method: str = Field(description="short id, e.g. 'bsp_schedule'")
    description: str
    kinds: tuple[AssetKind, ...] = DEMAND_RESPONSE_KINDS


class RuleSet(BaseModel):
    """Everything one country's regulation says about assets, from `valid_from` on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    version: str = Field(min_length=1)
    valid_from: date
    valid_from_confidence: Confidence = Confidence.CONFIRMED
    change: str = Field(description="what this version changed, with its source")
    timezone: str = Field(description="IANA time zone of the market, e.g. 'Europe/Berlin'")
    bidding_zones: tuple[str, ...] = Field(min_length=1)
    control_areas: tuple[str, ...] = Field(min_length=1)
    products: tuple[ProductRule, ...] = ()
    support_schemes: tuple[SupportScheme, ...] = ()
    charging: tuple[ChargingCharge, ...] = ()
    baselines: tuple[BaselineRule, ...] = ()

    def product(self, product: BalancingProduct) -> ProductRule | None:
        """The rule for `product`, or None if the country has no such product."""
        return next((p for p in self.products if p.product == product), None)


class NoRuleSetError(LookupError):
    """No rule set of a country is in force on a date."""


class CountryRules(BaseModel):
    """A country's rule-set history, oldest first. Append with `amend`, never edit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    versions: tuple[RuleSet, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _history_is_ordered(self) -> CountryRules:
        seen: set[str] = set()
        for earlier, later in zip(self.versions, self.versions[1:], strict=False):
            if later.valid_from <= earlier.valid_from:
                raise ValueError(
                    f"{self.country} version {later.version} valid_from="
                    f"{later.valid_from} must be after {earlier.version}'s {earlier.valid_from}"
                )
        for rule_set in self.versions:
            if rule_set.country != self.country:
                raise ValueError(f"version {rule_set.version} is for {rule_set.country}")
            if rule_set.version in seen:
                raise ValueError(f"{self.country} version {rule_set.version} appears twice")
            seen.add(rule_set.version)
        return self

    def in_force(self, on: date) -> RuleSet:
        """The rule set in force on `on`: the latest whose `valid_from` is on or before it."""
        current = None
        for rule_set in self.versions:
            if rule_set.valid_from <= on:
                current = rule_set
        if current is None:
            first = self.versions[0]
            raise NoRuleSetError(
                f"no {self.country} rule set is in force on {on.isoformat()}: the earliest, "
                f"version {first.version}, is valid from {first.valid_from.isoformat()}"
            )
        return current

    @property
    def latest(self) -> RuleSet:
        """The newest version."""
        return self.versions[-1]

    def amend(
        self,
        *,
        version: str,
        valid_from: date,
        change: str,
        valid_from_confidence: Confidence = Confidence.CONFIRMED,
        **updates: object,
    ) -> CountryRules:
        """A new history with one more version: the latest one with `updates` applied."""
        new = self.latest.model_copy(
            update={
                "version": version,
                "valid_from": valid_from,
                "valid_from_confidence": valid_from_confidence,
                "change": change,
                **updates,
            }
        )
        new = RuleSet.model_validate(new.model_dump())
        return CountryRules(country=self.country, name=self.name, versions=(*self.versions, new))
