"""A plugin keeps answering when another is broken, copies stay independent, sources stay named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import markets.registry as registry_module
from markets.bids import BalancingCapacityBid, CurveBid, CurvePoint, SingleBid
from markets.countries.de import PLUGIN as DE
from markets.eu import sdac_day_ahead
from markets.products import Direction, MarketId
from markets.registry import MarketPluginError, default_registry
from markets.rules import rule


@pytest.fixture
def a_broken_plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_cz.py").write_text("raise RuntimeError('syntax of the year')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entries = [
        EntryPoint(name="CZ", value="broken_cz:PLUGIN", group="vpp.markets"),
        EntryPoint(name="DE", value="markets.countries.de:PLUGIN", group="vpp.markets"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: entries)
    registry_module.default_registry.cache_clear()
    yield
    registry_module.default_registry.cache_clear()


@pytest.mark.usefixtures("a_broken_plugin_package")
def test_a_broken_plugin_package_is_set_aside_and_the_others_keep_working() -> None:
    registry = registry_module.default_registry()
    assert "CZ" in registry.broken
    assert "syntax of the year" in registry.broken["CZ"]
    assert registry.get("DE") is DE
    with pytest.raises(MarketPluginError, match="broken_cz:PLUGIN"):
        registry.get("CZ")


def test_a_plugin_claiming_a_builtin_country_is_ignored_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "impostor.py").write_text(
        "from markets.countries.de import PLUGIN as DE\n"
        "PLUGIN = DE.model_copy(update={'name': 'Germany, unofficially'})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = EntryPoint(name="DE", value="impostor:PLUGIN", group="vpp.markets")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [entry])
    registry_module.default_registry.cache_clear()
    try:
        registry = registry_module.default_registry()
        assert registry.get("DE") is DE
        assert "has built in" in registry.broken["DE"]
    finally:
        registry_module.default_registry.cache_clear()


def test_with_rules_replaces_one_history_and_keeps_the_rest() -> None:
    later = sdac_day_ahead("DE", "DE_LU", "Europe/Berlin").with_rules(
        in_operation=(
            rule(False, "2022-01-01", "test: not coupled yet"),
            rule(True, "2024-01-01", "test: coupled"),
        )
    )
    assert later.products(date(2023, 6, 1)) == []
    assert len(later.products(date(2024, 6, 1))) == 24
    with pytest.raises(ValueError, match="no parameter"):
        later.with_rules(volume_minimum=())


def test_gate_violations_name_the_rule_that_sets_the_gate() -> None:
    product = DE.products(date(2026, 6, 15), MarketId.DAY_AHEAD)[0]
    bid = CurveBid(
        product_id=product.product_id,
        points=(
            CurvePoint(price_eur_per_mwh=50.0, volume_mw=0.0),
            CurvePoint(price_eur_per_mwh=60.0, volume_mw=1.0),
        ),
    )
    late = DE.validate(bid, now=datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
    assert [v.rule for v in late] == ["day_ahead.gate_closure"]
    assert late[0].source.startswith("Nord Pool")
    quarter = DE.products(date(2026, 6, 15), MarketId.INTRADAY_CONTINUOUS)[-1]
    single = SingleBid(product_id=quarter.product_id, volume_mw=1.0, price_eur_per_mwh=50.0)
    too_late = DE.validate(single, now=quarter.gate_closure)
    assert too_late[0].source.startswith("EPEX SPOT German intraday continuous lead times")
    assert too_late[0].rule_id == "DE:intraday_continuous:local_gate_closure:2022-01-01:2026-12-06"
    assert quarter.delivery_start - quarter.gate_closure == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("energy_price", "rule"),
    [(120.005, "afrr_energy.price_tick"), (1e9, "afrr_energy.price_max")],
)
def test_an_attached_energy_price_is_held_to_the_energy_markets_rules(
    energy_price: float, rule: str
) -> None:
    product = DE.products(date(2026, 6, 15), MarketId.AFRR_CAPACITY)[0]
    bid = BalancingCapacityBid(
        product_id=product.product_id,
        direction=Direction.POS,
        capacity_mw=5,
        capacity_price_eur_per_mw_h=4.0,
        energy_price_eur_per_mwh=energy_price,
    )
    found = DE.validate(bid, now=datetime(2026, 6, 14, 6, 0, tzinfo=UTC))
    assert [(v.rule, v.field) for v in found] == [(rule, "energy_price_eur_per_mwh")]
    assert found[0].source is not None


def test_numbers_and_flags_must_be_json_numbers_and_booleans_not_look_alikes() -> None:
    from pydantic import ValidationError

    from markets.bids import parse_bid

    with pytest.raises(ValidationError) as caught:
        parse_bid(
            {
                "type": "balancing_capacity",
                "product_id": "DE:afrr_capacity:4h:pos:2026-06-14T22:00Z",
                "direction": "pos",
                "capacity_mw": "5",
                "capacity_price_eur_per_mw_h": True,
                "divisible": "yes",
            }
        )
    fields = {error["loc"][-1] for error in caught.value.errors()}
    assert fields == {"capacity_mw", "capacity_price_eur_per_mw_h", "divisible"}
    whole = parse_bid(
        {
            "type": "balancing_capacity",
            "product_id": "DE:afrr_capacity:4h:pos:2026-06-14T22:00Z",
            "direction": "pos",
            "capacity_mw": 5,
            "capacity_price_eur_per_mw_h": 12,
        }
    )
    assert whole.capacity_mw == 5.0


def _at_capacity(mw: float) -> BalancingCapacityBid:
    from markets.countries.at import PLUGIN as AT

    product = AT.products(date(2026, 6, 15), MarketId.AFRR_CAPACITY)[0]
    return BalancingCapacityBid(
        product_id=product.product_id,
        direction=Direction.POS,
        capacity_mw=mw,
        capacity_price_eur_per_mw_h=3.0,
    )


@pytest.mark.parametrize(
    ("sizes", "refused"),
    [((5, 1), []), ((1, 5), []), ((1, 1), [1]), ((2, 5, 3), [2])],
)
def test_at_allows_one_small_bid_per_product_whatever_the_order(sizes, refused) -> None:
    from markets.countries.at import PLUGIN as AT

    found = AT.validate_all(
        [_at_capacity(mw) for mw in sizes], now=datetime(2026, 6, 14, 6, 0, tzinfo=UTC)
    )
    assert [i for i, violations in enumerate(found) if violations] == refused
    for index in refused:
        assert [v.rule for v in found[index]] == ["afrr_capacity.further_bid_min_mw"]


def test_a_linked_block_needs_its_parent_in_the_same_submission() -> None:
    from markets.bids import BlockBid

    day_ahead = DE.products(date(2026, 6, 15), MarketId.DAY_AHEAD)
    parent = BlockBid(
        bid_id="parent",
        product_ids=tuple(p.product_id for p in day_ahead[40:44]),
        volumes_mw=(2.0, 2.0, 2.0, 2.0),
        price_eur_per_mwh=90.0,
    )
    child = parent.model_copy(update={"bid_id": "child", "linked_to": "parent"})
    orphan = parent.model_copy(update={"bid_id": "orphan", "linked_to": "nobody"})
    selfish = parent.model_copy(update={"bid_id": "selfish", "linked_to": "selfish"})
    found = DE.validate_all(
        [parent, child, orphan, selfish], now=datetime(2026, 6, 14, 9, 0, tzinfo=UTC)
    )
    assert [[v.rule for v in f] for f in found] == [
        [],
        [],
        ["block.linked_to"],
        ["block.linked_to"],
    ]


def test_a_curve_needs_two_points_where_the_exchange_says_so() -> None:
    product = DE.products(date(2026, 6, 15), MarketId.DAY_AHEAD)[0]
    one = CurveBid(
        product_id=product.product_id,
        points=(CurvePoint(price_eur_per_mwh=50.0, volume_mw=1.0),),
    )
    found = DE.validate(one, now=datetime(2026, 6, 14, 9, 0, tzinfo=UTC))
    assert [(v.rule, v.limit, v.value) for v in found] == [
        ("day_ahead.curve_points_min", ">= 2 points", "1")
    ]


def test_an_id_at_the_end_of_the_calendar_is_just_an_unknown_product() -> None:
    assert DE.product("DE:day_ahead:SDAC:9999-12-31T23:00Z") is None


def test_two_outside_packages_claiming_one_country_are_both_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("first_xx", "second_xx"):
        (tmp_path / f"{name}.py").write_text(
            "from markets.countries.nl import PLUGIN as NL\n"
            "PLUGIN = NL.model_copy(update={'country': 'XX', 'markets': tuple(\n"
            "    m.model_copy(update={'country': 'XX'}) for m in NL.markets)})\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    entries = [
        EntryPoint(name="XX", value="first_xx:PLUGIN", group="vpp.markets"),
        EntryPoint(name="XX", value="second_xx:PLUGIN", group="vpp.markets"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: entries)
    registry_module.default_registry.cache_clear()
    try:
        registry = registry_module.default_registry()
        assert "two market plugins claim XX" in registry.broken["XX"]
        assert "XX" not in registry
        assert registry.get("DE") is DE
    finally:
        registry_module.default_registry.cache_clear()


@pytest.mark.parametrize(
    ("product_id", "reason"),
    [
        (
            "DE:intraday_auction:IDA1:2024-01-09T23:00Z",
            "DE's intraday_auction market does not run for delivery day 2024-01-10; "
            "it runs from 2024-06-14",
        ),
        ("DE:balancing:X:2026-06-14T22:00Z", "DE has no market 'balancing' (it has day_ahead"),
        (
            "DE:day_ahead:SDAC:2026-06-14T22:05Z",
            "no day_ahead product of DE starts at 2026-06-14T22:05Z (delivery day 2026-06-15)",
        ),
        ("DE:day_ahead:SDAC", "the id is not of the form"),
        ("NL:day_ahead:SDAC:2026-06-14T22:00Z", "the id is not one of DE's"),
    ],
)
def test_an_unknown_product_is_explained(product_id: str, reason: str) -> None:
    plugin = default_registry().get("DE")
    assert plugin.product(product_id) is None
    assert reason in plugin.why_unknown(product_id)
