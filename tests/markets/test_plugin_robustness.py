"""A plugin keeps answering when another is broken, copies stay independent, sources stay named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import markets.registry as registry_module
from markets.bids import BalancingCapacityBid, CurveBid, CurvePoint, SingleBid
from markets.countries.de import PLUGIN as DE
from markets.eu import sdac_day_ahead
from markets.products import Direction, MarketId
from markets.registry import MarketPluginError
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
        points=(CurvePoint(price_eur_per_mwh=50.0, volume_mw=1.0),),
    )
    late = DE.validate(bid, now=datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
    assert [v.rule for v in late] == ["day_ahead.gate_closure"]
    assert late[0].source == "Nord Pool"
    quarter = DE.products(date(2026, 6, 15), MarketId.INTRADAY_CONTINUOUS)[-1]
    single = SingleBid(product_id=quarter.product_id, volume_mw=1.0, price_eur_per_mwh=50.0)
    too_late = DE.validate(single, now=quarter.gate_closure)
    assert too_late[0].source == "Next Kraftwerke"


def test_an_attached_energy_price_must_be_on_the_tick() -> None:
    product = DE.products(date(2026, 6, 15), MarketId.AFRR_CAPACITY)[0]
    bid = BalancingCapacityBid(
        product_id=product.product_id,
        direction=Direction.POS,
        capacity_mw=5,
        capacity_price_eur_per_mw_h=4.0,
        energy_price_eur_per_mwh=120.005,
    )
    found = DE.validate(bid, now=datetime(2026, 6, 14, 6, 0, tzinfo=UTC))
    assert [(v.rule, v.field) for v in found] == [
        ("afrr_capacity.price_tick", "energy_price_eur_per_mwh")
    ]
