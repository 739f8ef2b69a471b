"""The markets part of `vpp demo`: what each country trades tomorrow, and bids checked."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from rich.console import Console
from rich.table import Table

from markets.bids import BalancingCapacityBid, BalancingEnergyBid, Bid, CurveBid, CurvePoint
from markets.calendar import iso_z, local_label
from markets.plugin import MarketPlugin
from markets.products import Direction, MarketId, Product
from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.treatment import Treatment


def show_markets(
    out: Console, portfolio: Portfolio, treatments: dict[str, Treatment], day: date
) -> None:
    """Print tomorrow's markets per country and a few bids checked against their rules."""
    delivery = day + timedelta(days=1)
    out.print(market_table(portfolio, treatments, delivery))
    show_bid_checks(out, default_registry().get("DE"), delivery)


def market_table(portfolio: Portfolio, treatments: dict[str, Treatment], delivery: date) -> Table:
    """Per country and market: products, first gate closure, pricing, eligible assets."""
    table = Table(
        title=f"Markets for delivery {delivery} and which sample assets may take part",
        title_justify="left",
    )
    for column in (
        "country",
        "market",
        "products",
        "first gate closure UTC (local)",
        "pricing",
        "eligible assets (MW)",
        "uncertain rules",
    ):
        table.add_column(column, overflow="fold")
    registry = default_registry()
    countries = sorted({s.country for s in portfolio.sites} & set(registry.countries()))
    for country in countries:
        plugin = registry.get(country)
        for spec in plugin.markets:
            products = spec.products(delivery)
            if not products:
                table.add_row(country, spec.market.value, "0", "not offered", "-", "-", "-")
                continue
            first = min(products, key=lambda p: p.gate_closure)
            table.add_row(
                country,
                spec.market.value,
                str(len(products)),
                f"{iso_z(first.gate_closure)} ({local_label(first.gate_closure, first.timezone)})",
                first.pricing.value,
                _eligible(portfolio, treatments, products, delivery),
                str(len(first.uncertain_rules)),
            )
    return table


def _eligible(
    portfolio: Portfolio, treatments: dict[str, Treatment], products: list[Product], delivery: date
) -> str:
    """Per direction: how many assets in service on `delivery` the products admit (and MW)."""
    parts = []
    seen: set[object] = set()
    for product in products:
        if product.direction in seen:
            continue
        seen.add(product.direction)
        admitted = [
            a
            for a in portfolio.assets
            if a.in_service(delivery)
            and product.eligibility.admits(
                treatments[a.id], bidding_zone=portfolio.site_of(a).bidding_zone
            )
        ]
        limit = [product.eligibility.max_mw(treatments[a.id]) for a in admitted]
        mw = f" ({sum(x for x in limit if x is not None):g})" if limit and None not in limit else ""
        prefix = f"{product.direction.value}: " if product.direction else ""
        parts.append(f"{prefix}{len(admitted)}{mw}")
    return ", ".join(parts)


def demo_bids(plugin: MarketPlugin, delivery: date) -> tuple[datetime, list[tuple[str, Bid]]]:
    """A submission time (30 min before day-ahead gate closure) and bids to check then."""
    day_ahead = plugin.products(delivery, MarketId.DAY_AHEAD)
    afrr = plugin.products(delivery, MarketId.AFRR_CAPACITY)
    energy = plugin.products(delivery, MarketId.AFRR_ENERGY)
    now = day_ahead[0].gate_closure - timedelta(minutes=30)
    bids: list[tuple[str, Bid]] = [
        (
            "battery sells 4 MW above 80 EUR/MWh, buys 4 MW below 20 in the first "
            f"{day_ahead[0].duration_minutes}-minute product",
            CurveBid(
                product_id=day_ahead[0].product_id,
                points=(
                    CurvePoint(price_eur_per_mwh=20.0, volume_mw=-4.0),
                    CurvePoint(price_eur_per_mwh=80.0, volume_mw=4.0),
                ),
            ),
        )
    ]
    if afrr:
        bids.append(
            (
                "0.9 MW of positive aFRR capacity, sent after the 09:00 D-1 gate",
                BalancingCapacityBid(
                    product_id=afrr[0].product_id,
                    direction=afrr[0].direction or Direction.POS,
                    capacity_mw=0.9,
                    capacity_price_eur_per_mw_h=12.5,
                ),
            )
        )
    if energy:
        bids.append(
            (
                "aFRR energy offered one cent above the price limit",
                BalancingEnergyBid(
                    product_id=energy[-1].product_id,
                    direction=energy[-1].direction or Direction.POS,
                    volume_mw=2.0,
                    energy_price_eur_per_mwh=(energy[-1].price_max or 0) + 0.01,
                ),
            )
        )
    return now, bids


def show_bid_checks(out: Console, plugin: MarketPlugin, delivery: date) -> None:
    """Validate the demo bids and print each verdict with the rules it breaks."""
    now, bids = demo_bids(plugin, delivery)
    out.print(
        f"\nBids checked against {plugin.country} rules at {iso_z(now)} "
        f"({local_label(now, plugin.timezone)}):",
        markup=False,
    )
    for description, bid in bids:
        found = plugin.validate(bid, now=now)
        verdict = "valid" if not found else f"refused, {len(found)} violation(s)"
        out.print(f"- {description}: {verdict}", markup=False)
        for violation in found:
            out.print(f"    {violation}", markup=False)
