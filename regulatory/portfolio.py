"""A portfolio: the sites and assets one tenant trades as a virtual power plant.

Cross-object rules live here (unique ids, sites that exist, countries with rules, ratings
inside connection limits); single-object rules live on the models themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulatory.assets import Asset, AssetBase
from regulatory.assets.base import AssetId, out_of_service_cause
from regulatory.problems import Problem, format_value
from regulatory.registry import CountryRegistry, default_registry
from regulatory.resolve import treatment_for
from regulatory.site import Site
from regulatory.treatment import Treatment

Lines = Mapping[tuple[str, int] | tuple[str, int, str], int]
"""1-based lines in the source file, where known: (section, index) -> line of that item;
(section, index, field) -> line of that field of the item."""


class PortfolioHeader(BaseModel):
    """Who a portfolio belongs to: the fields beside its sites and assets."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_uri: str | None = Field(
        default=None, alias="$schema", description="optional JSON Schema reference for editors"
    )
    id: AssetId
    name: str | None = None
    tenant: str = Field(min_length=1, description="the trading tenant that owns the bids")
    owner: str | None = Field(default=None, description="legal owner / asset operator")


class NothingInServiceError(ValueError):
    """No asset of a portfolio is in service on a day (rule G1 of `docs/plan-rules.md`).

    `day` is that day; `causes` maps every asset id to the date that rules it out
    (``commissioned 2027-02-01``, ``decommissioned 2026-01-01``).
    """

    SHOWN = 5
    """Assets named in the message; the rest are counted."""

    def __init__(self, portfolio_id: str, day: date, causes: Mapping[str, str]) -> None:
        self.portfolio_id = portfolio_id
        self.day = day
        self.causes = dict(causes)
        named = [f"{a}: {c}" for a, c in list(self.causes.items())[: self.SHOWN]]
        if len(self.causes) > len(named):
            named.append(f"and {len(self.causes) - len(named)} more")
        super().__init__(
            f"portfolio {portfolio_id} has no asset in service on {day.isoformat()} "
            f"({'; '.join(named)})"
        )


class Portfolio(PortfolioHeader):
    """Sites and assets of one tenant; every asset sits behind one of the sites."""

    sites: tuple[Site, ...] = Field(min_length=1)
    assets: tuple[Asset, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_checks(self) -> Portfolio:
        problems = list(cross_problems(self.sites, self.assets))
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    def site_of(self, asset: AssetBase) -> Site:
        """The site `asset` sits behind."""
        return next(s for s in self.sites if s.id == asset.site)

    def asset(self, asset_id: str) -> AssetBase:
        """The asset with id `asset_id`; KeyError names it if absent."""
        for asset in self.assets:
            if asset.id == asset_id:
                return asset
        raise KeyError(f"portfolio {self.id} has no asset {asset_id!r}")

    def out_of_service(self, day: date) -> dict[str, str]:
        """Asset id -> why it is out of service on `day`, for each such asset, in file order.

        Empty when every asset is in service. Works whatever the day, also when no asset
        is in service at all, so reports can always say what is left out.
        """
        notes = {asset.id: asset.service_note(day) for asset in self.assets}
        return {asset_id: note for asset_id, note in notes.items() if note is not None}

    def in_service(self, day: date) -> Portfolio:
        """This portfolio with only the assets in service on `day`; every site is kept.

        Returns the portfolio itself when every asset is in service. Raises
        `NothingInServiceError` (naming the day and each asset's date) when none is: a
        portfolio holds at least one asset, so "nothing to trade" is an error to handle,
        not an empty portfolio.
        """
        kept = tuple(asset for asset in self.assets if asset.in_service(day))
        if len(kept) == len(self.assets):
            return self
        if not kept:
            raise NothingInServiceError(self.id, day, _causes(self.assets, day))
        return self.model_copy(update={"assets": kept})

    def treatment(self, asset: AssetBase, on: date) -> Treatment:
        """The regulatory treatment of `asset` at its site on day `on`."""
        return treatment_for(asset, site=self.site_of(asset), on=on)

    def treatments(self, on: date) -> list[tuple[AssetBase, Site, Treatment]]:
        """Every asset with its site and treatment on day `on`, in file order."""
        return [(a, self.site_of(a), self.treatment(a, on)) for a in self.assets]


def _causes(assets: Iterable[AssetBase], day: date) -> dict[str, str]:
    """Asset id -> the date that puts it out of service on `day`, for those out of it."""
    found = {
        a.id: out_of_service_cause(day, a.commissioning_date, a.decommissioning_date)
        for a in assets
    }
    return {asset_id: cause for asset_id, cause in found.items() if cause is not None}


def cross_problems(
    sites: Iterable[Site],
    assets: Iterable[AssetBase],
    *,
    registry: CountryRegistry | None = None,
    lines: Lines | None = None,
    check_references: bool = True,
) -> Iterator[Problem]:
    """Every rule that spans objects: ids, site references, countries, connection limits.

    `check_references=False` skips unique ids and site references, for a loader that
    checked them on the raw file already (where invalid items cannot hide them).
    """
    registry = registry or default_registry()
    lines = lines or {}
    sites, assets = list(sites), list(assets)
    if check_references:
        yield from _duplicates("sites", [s.id for s in sites], lines)
        yield from _duplicates("assets", [a.id for a in assets], lines)
    for index, site in enumerate(sites):
        yield from _site_problems(site, registry, lines.get(("sites", index)))
    by_id = {s.id: s for s in sites}
    for index, asset in enumerate(assets):
        line = lines.get(("assets", index))
        site = by_id.get(asset.site)
        if site is None:
            if check_references:
                yield unknown_site_problem(asset.id, asset.site, by_id, line)
            continue
        if asset.rating_mw() > site.grid_connection_mw + 1e-9:
            yield Problem(
                f"asset {asset.id}",
                asset.rating_field(),
                asset.rating_mw(),
                f"exceeds grid_connection_mw={format_value(site.grid_connection_mw)} "
                f"of site {site.id}",
                line,
            )


def unknown_site_problem(
    asset_id: str, site_id: object, known_sites: Iterable[str], line: int | None
) -> Problem:
    """Asset `asset_id` refers to a site the portfolio does not have."""
    known = ", ".join(sorted(known_sites)) or "none"
    return Problem(
        f"asset {asset_id}",
        "site",
        site_id,
        f"is not a site of this portfolio (sites: {known})",
        line,
    )


def _duplicates(section: str, ids: list[str], lines: Lines) -> Iterator[Problem]:
    first_seen: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in first_seen:
            yield duplicate_id_problem(section, item_id, first_seen[item_id], index, lines)
        else:
            first_seen[item_id] = index


def duplicate_id_problem(
    section: str, item_id: str, first: int, index: int, lines: Lines
) -> Problem:
    """Item `index` of `section` ('sites' or 'assets') repeats the id of item `first`."""
    kind = section[:-1]
    where = lines.get((section, first))
    at = f" at line {where}" if where else f" (entry {first + 1})"
    return Problem(
        f"{kind} {item_id}",
        "id",
        item_id,
        f"is used by another {kind}{at}; ids must be unique",
        lines.get((section, index)),
    )


def _site_problems(site: Site, registry: CountryRegistry, line: int | None) -> Iterator[Problem]:
    subject = f"site {site.id}"
    if site.country not in registry:
        known = ", ".join(registry.countries())
        yield Problem(
            subject, "country", site.country, f"is not a known country (known: {known})", line
        )
        return
    rules = registry.get(site.country).latest
    if site.bidding_zone not in rules.bidding_zones:
        yield Problem(
            subject,
            "bidding_zone",
            site.bidding_zone,
            f"is not a bidding zone of {site.country} (expected {', '.join(rules.bidding_zones)})",
            line,
        )
    if site.control_area not in rules.control_areas:
        yield Problem(
            subject,
            "control_area",
            site.control_area,
            f"is not a control area of {site.country} "
            f"(expected one of {', '.join(rules.control_areas)})",
            line,
        )


__all__ = [
    "NothingInServiceError",
    "Portfolio",
    "PortfolioHeader",
    "cross_problems",
    "duplicate_id_problem",
    "unknown_site_problem",
]
