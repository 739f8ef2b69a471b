"""Country rule sets: regulatory facts as versioned, dated, sourced data.

A country plugin is a `CountryRules`: an append-only history of `RuleSet`s, each with a
version and the date from which it is in force. A rule change adds a version (see
`CountryRules.amend`); history is never edited, so an audit can always say which rule set
priced or validated a decision.

The history is bitemporal: each version has a valid time (``valid_from``, up to the next
version) and a knowledge time (``recorded_at``, and ``superseded_at`` once a correcting
version names it in ``supersedes``). ``in_force(day, known_on=K)`` answers what the project
believed on K; a correction adds a version and never edits one. Each version and each fact
in it has a stable id (`RuleSet.id`, `RuleSet.facts`).

Every fact carries its `source` and a `confidence`: ``confirmed`` (read in a primary or
named source), ``general`` (general knowledge, not checked), ``uncertain`` (sources
conflict, are old, or none was found). Uncertain facts stay visible in every treatment
derived from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulatory.assets.base import AssetKind, BalancingProduct


class Confidence(StrEnum):
    """How well a fact is backed; see the module docstring."""

    CONFIRMED = "confirmed"
    GENERAL = "general"
    UNCERTAIN = "uncertain"


LEGACY_RECORDED_AT = date(2026, 11, 22)
"""Knowledge time of every rule record that does not state its own: the day the rule base
(market plugins and regulatory rule sets) entered the project. Values changed in place
between then and the start of bitemporal records (2026-12-06) carry it too; git holds
their exact history."""

LEGACY_REVIEW_BY = date(2027, 3, 1)
"""Review date of the uncertain values (market rules and regulatory facts) entered before
review dates were kept: each is checked against a primary source by then
(docs/compliance.md)."""

LEGACY_RECORDER = "vpp-engine maintainers (before authors were recorded)"
"""`recorded_by` of a record that does not name its author."""


def is_known(recorded_at: date, superseded_at: date | None, day: date | None) -> bool:
    """Whether a record held from `recorded_at` until `superseded_at` was held on `day`.

    `day` None asks for today's belief: every record not superseded.
    """
    if day is None:
        return superseded_at is None
    return recorded_at <= day and (superseded_at is None or day < superseded_at)


def same_person(a: str, b: str) -> bool:
    """Whether two names given as author and approver are the same (case and spaces aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class Fact(BaseModel):
    """Base of every rule: where it comes from and how sure we are.

    `source` is the title of what was read; `reference` a URL or document reference a
    reviewer can open; `review_by` the day by which an uncertain fact is checked again.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="where the fact was read")
    confidence: Confidence
    note: str | None = None
    reference: str | None = Field(default=None, description="URL or document reference")
    document_version: str | None = Field(default=None, description="version or date read")
    retrieved_on: date | None = None
    review_by: date | None = Field(default=None, description="uncertain: review by this day")


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
    """Everything one country's regulation says about assets, from `valid_from` on.

    Knowledge time: held from `recorded_at` until `superseded_at` (filled in by
    `CountryRules` from a later version's `supersedes`). `recorded_by` wrote the version,
    `approved_by` (another person) approved it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    version: str = Field(min_length=1)
    valid_from: date
    valid_from_confidence: Confidence = Confidence.CONFIRMED
    change: str = Field(description="what this version changed, with its source")
    review_by: date | None = Field(
        default=None, description="an uncertain valid_from: the day by which to check it"
    )
    recorded_at: date = LEGACY_RECORDED_AT
    recorded_by: str = Field(default=LEGACY_RECORDER, min_length=1)
    approved_by: str | None = None
    supersedes: tuple[str, ...] = Field(
        default=(), description="versions this one corrects (they stop being believed)"
    )
    superseded_at: date | None = None
    timezone: str = Field(description="IANA time zone of the market, e.g. 'Europe/Berlin'")
    bidding_zones: tuple[str, ...] = Field(min_length=1)
    control_areas: tuple[str, ...] = Field(min_length=1)
    products: tuple[ProductRule, ...] = ()
    support_schemes: tuple[SupportScheme, ...] = ()
    charging: tuple[ChargingCharge, ...] = ()
    baselines: tuple[BaselineRule, ...] = ()

    @model_validator(mode="after")
    def _four_eyes(self) -> RuleSet:
        if self.approved_by is not None and same_person(self.approved_by, self.recorded_by):
            raise ValueError(
                f"{self.country} version {self.version}: approved_by={self.approved_by!r} is "
                f"its author (recorded_by={self.recorded_by!r}); another person approves"
            )
        return self

    @property
    def id(self) -> str:
        """Stable id of the version: ``CC:regulatory:VERSION``."""
        return f"{self.country}:regulatory:{self.version}"

    def product(self, product: BalancingProduct) -> ProductRule | None:
        """The rule for `product`, or None if the country has no such product."""
        return next((p for p in self.products if p.product == product), None)

    def facts(self) -> Iterator[tuple[str, Fact]]:
        """Every fact of the version with its stable id, nested ones too, e.g.
        ``DE:regulatory:2025.3:charging:KWKG levy``, ``...:charging:KWKG levy:exemptions[0]``
        or ``DE:regulatory:2022.1:products:fcr``.
        """
        for item in self.products:
            yield f"{self.id}:products:{item.product}", item
        for scheme in self.support_schemes:
            scheme_id = f"{self.id}:support_schemes:{scheme.name}"
            yield scheme_id, scheme
            for b, band in enumerate(scheme.bands):
                yield f"{scheme_id}:bands[{b}]", band
                for r, dated in enumerate(band.rules):
                    yield f"{scheme_id}:bands[{b}]:rules[{r}]", dated.rule
        for charge in self.charging:
            charge_id = f"{self.id}:charging:{charge.name}"
            yield charge_id, charge
            for e, exemption in enumerate(charge.exemptions):
                yield f"{charge_id}:exemptions[{e}]", exemption
        for baseline in self.baselines:
            yield f"{self.id}:baselines:{baseline.method}", baseline

    def known_on(self, day: date | None) -> bool:
        """Whether the project held this version on `day` (None: today's belief)."""
        return is_known(self.recorded_at, self.superseded_at, day)


class NoRuleSetError(LookupError):
    """No rule set of a country is in force on a date."""


class CountryRules(BaseModel):
    """A country's rule-set history, oldest first. Append with `amend`, never edit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    versions: tuple[RuleSet, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _mark_superseded(cls, data: Any) -> Any:
        """Fill in each corrected version's `superseded_at` from its correction."""
        if not isinstance(data, dict) or not isinstance(data.get("versions"), tuple | list):
            return data
        versions = [
            v if isinstance(v, RuleSet) else RuleSet.model_validate(v) for v in data["versions"]
        ]
        names = [v.version for v in versions]
        replaced: dict[str, date] = {}
        for version in versions:
            for target in version.supersedes:
                if target not in names:
                    raise ValueError(
                        f"{version.country} version {version.version} supersedes {target!r}, "
                        f"which is not a version of this history ({', '.join(names)})"
                    )
                when = replaced.get(target)
                replaced[target] = (
                    version.recorded_at if when is None else min(when, version.recorded_at)
                )
        out = []
        for version in versions:
            when = replaced.get(version.version)
            if when is not None:
                if when < version.recorded_at:
                    raise ValueError(
                        f"{version.country} version {version.version} is corrected by a "
                        f"version recorded on {when}, before it was recorded itself"
                    )
                if version.superseded_at is not None:
                    when = min(when, version.superseded_at)
                version = version.model_copy(update={"superseded_at": when})
            out.append(version)
        return {**data, "versions": tuple(out)}

    @model_validator(mode="after")
    def _history_is_ordered(self) -> CountryRules:
        seen: set[str] = set()
        for earlier, later in zip(self.versions, self.versions[1:], strict=False):
            same_day = later.recorded_at == earlier.recorded_at
            if same_day and later.valid_from <= earlier.valid_from and not later.supersedes:
                raise ValueError(
                    f"{self.country} version {later.version} valid_from={later.valid_from} must "
                    f"be after {earlier.version}'s {earlier.valid_from} (both recorded on "
                    f"{later.recorded_at}; a version recorded later, or a correction naming "
                    "the version it supersedes, may fill in the past)"
                )
        knowledge_days = {None, *(v.recorded_at for v in self.versions)}
        knowledge_days |= {v.superseded_at for v in self.versions if v.superseded_at}
        for day in knowledge_days:
            held = self.edition(day)
            for earlier, later in pairwise(held):
                if later.valid_from == earlier.valid_from:
                    as_of = "today" if day is None else f"as known on {day}"
                    raise ValueError(
                        f"{self.country} versions {earlier.version} and {later.version} are "
                        f"both valid from {later.valid_from} {as_of}: a correction must name "
                        "the version it corrects in `supersedes`"
                    )
        for rule_set in self.versions:
            if rule_set.country != self.country:
                raise ValueError(f"version {rule_set.version} is for {rule_set.country}")
            if rule_set.version in seen:
                raise ValueError(f"{self.country} version {rule_set.version} appears twice")
            seen.add(rule_set.version)
        return self

    def edition(self, known_on: date | None = None) -> list[RuleSet]:
        """The versions held on `known_on` (None: today's belief), by `valid_from`."""
        return sorted(
            (v for v in self.versions if v.known_on(known_on)), key=lambda v: v.valid_from
        )

    def in_force(self, on: date, known_on: date | None = None) -> RuleSet:
        """The rule set in force on `on` as known on `known_on` (None: today's belief): the
        latest held version whose `valid_from` is on or before `on`."""
        held = self.edition(known_on)
        current = None
        for rule_set in held:
            if rule_set.valid_from <= on:
                current = rule_set
        if current is None:
            as_of = "" if known_on is None else f" as known on {known_on.isoformat()}"
            if not held:
                raise NoRuleSetError(
                    f"no {self.country} rule set was recorded by {known_on}: the first was "
                    f"recorded on {min(v.recorded_at for v in self.versions).isoformat()}"
                )
            first = held[0]
            raise NoRuleSetError(
                f"no {self.country} rule set is in force on {on.isoformat()}{as_of}: the "
                f"earliest, version {first.version}, is valid from {first.valid_from.isoformat()}"
            )
        return current

    @property
    def latest(self) -> RuleSet:
        """The newest version in today's belief (the latest valid one not superseded)."""
        return self.edition()[-1]

    def amend(
        self,
        *,
        version: str,
        valid_from: date,
        change: str,
        valid_from_confidence: Confidence = Confidence.CONFIRMED,
        base: str | None = None,
        **updates: object,
    ) -> CountryRules:
        """A new history with one more version: version `base` (default: the latest) with
        `updates` applied. A correction passes ``recorded_at``, ``recorded_by``,
        ``approved_by`` and ``supersedes`` among `updates`; a version not corrected keeps
        being believed."""
        start = self.latest if base is None else self.version(base)
        fields = {
            "version": version,
            "valid_from": valid_from,
            "valid_from_confidence": valid_from_confidence,
            "change": change,
            "recorded_at": LEGACY_RECORDED_AT,
            "recorded_by": LEGACY_RECORDER,
            "approved_by": None,
            "supersedes": (),
            "superseded_at": None,
            "review_by": None,
            **updates,
        }
        new = RuleSet.model_validate({**start.model_dump(), **fields})
        return CountryRules(country=self.country, name=self.name, versions=(*self.versions, new))

    def version(self, name: str) -> RuleSet:
        """The version called `name`; `KeyError` names the versions there are."""
        for rule_set in self.versions:
            if rule_set.version == name:
                return rule_set
        known = ", ".join(v.version for v in self.versions)
        raise KeyError(f"{self.country} has no rule-set version {name!r}; it has {known}")
