"""Rule ids: every record has a stable id, products and violations carry the ids that judged a
bid, and `MarketPlugin.rule_ids_for` answers which records apply to a product."""

from __future__ import annotations

from datetime import UTC, date, datetime

from markets.bids import BalancingCapacityBid, SingleBid
from markets.countries import de, fr
from markets.products import Direction, MarketId
from markets.rules import LEGACY_RECORDED_AT, rule_id

DAY = date(2026, 6, 15)


def test_every_record_of_every_built_in_plugin_has_a_unique_id_naming_it():
    for plugin in (de.PLUGIN, fr.PLUGIN):
        ids = [entry.id for _, _, entry in plugin.rules()]
        assert None not in ids
        assert len(set(ids)) == len(ids)
        for market, name, entry in plugin.rules():
            assert entry.id == rule_id(
                plugin.country,
                market.value,
                name,
                entry.valid_from,
                entry.recorded_at,
                entry.revision,
            )


def test_ids_are_readable_and_the_same_in_every_run():
    assert (
        rule_id("FR", "intraday_auction", "mtu_minutes", date(2024, 6, 14))
        == f"FR:intraday_auction:mtu_minutes:2024-06-14:{LEGACY_RECORDED_AT.isoformat()}"
    )


def test_rule_ids_for_a_product_are_the_records_it_was_resolved_from():
    product = de.PLUGIN.products(DAY, MarketId.DAY_AHEAD)[0]
    ids = de.PLUGIN.rule_ids_for(product.product_id)
    assert ids == de.PLUGIN.rule_ids_for(product)
    assert ids == tuple(sorted(ref.rule_id for ref in product.rules.values()))
    assert any(i.startswith("DE:day_ahead:price_max:") for i in ids)
    assert any(i.startswith("DE:day_ahead:mtu_minutes:2025-10-01:") for i in ids)
    assert de.PLUGIN.rule_ids_for("DE:day_ahead:SDAC:1999-01-01T00:00Z") == ()


def test_a_refused_bid_names_the_record_that_refused_it():
    product = de.PLUGIN.products(DAY, MarketId.DAY_AHEAD)[0]
    bid = SingleBid(product_id=product.product_id, volume_mw=1.0, price_eur_per_mwh=99999.0)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    (violation,) = de.PLUGIN.validate(bid, now=now)
    assert violation.rule == "day_ahead.price_max"
    assert violation.rule_id == product.rules["price_max"].rule_id
    assert violation.rule_id in de.PLUGIN.rule_ids_for_bid(bid)


def test_a_capacity_bid_with_an_energy_price_also_cites_the_energy_products_records():
    capacity = next(
        p for p in de.PLUGIN.products(DAY, MarketId.AFRR_CAPACITY) if p.direction is Direction.POS
    )
    plain = BalancingCapacityBid(
        product_id=capacity.product_id,
        direction=Direction.POS,
        capacity_mw=1.0,
        capacity_price_eur_per_mw_h=5.0,
    )
    priced = plain.model_copy(update={"energy_price_eur_per_mwh": 100.0})
    assert all(i.startswith("DE:afrr_capacity:") for i in de.PLUGIN.rule_ids_for_bid(plain))
    assert any(i.startswith("DE:afrr_energy:") for i in de.PLUGIN.rule_ids_for_bid(priced))
