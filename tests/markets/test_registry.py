"""Finding market plugins: built-ins and installed packages through the vpp.markets entry points."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint, entry_points

import pytest

import markets.registry
from markets import ENTRY_POINT_GROUP
from markets.countries import at, be, de, fr, nl
from markets.eu import sdac_day_ahead
from markets.plugin import MarketPlugin
from markets.registry import (
    BUILTIN_ORIGIN,
    MarketPluginError,
    MarketRegistry,
    Registered,
    UnknownMarketCountryError,
    default_registry,
    load_entry_point_plugins,
)

BUILTINS = {p.PLUGIN.country: p.PLUGIN for p in (de, nl, be, fr, at)}


def czech_plugin() -> MarketPlugin:
    return MarketPlugin(
        country="CZ",
        name="Czechia",
        timezone="Europe/Prague",
        markets=(sdac_day_ahead("CZ", "CZ", "Europe/Prague"),),
    )


def test_vpp_engine_declares_the_five_built_in_countries_as_entry_points():
    declared = {e.name: e for e in entry_points(group=ENTRY_POINT_GROUP) if e.dist is not None}
    assert set(BUILTINS) <= set(declared)
    for country in BUILTINS:
        entry = declared[country]
        assert entry.value == f"markets.countries.{country.lower()}:PLUGIN"
        assert entry.dist.name == "vpp-engine"


def test_the_built_ins_load_through_their_entry_points_as_built_in_plugins():
    found = {r.plugin.country: r for r in load_entry_point_plugins()}
    for country, plugin in BUILTINS.items():
        assert found[country].plugin is plugin
        assert found[country].origin == BUILTIN_ORIGIN == "vpp-engine (built-in)"


def test_the_default_registry_knows_the_five_built_ins_by_any_case():
    registry = default_registry()
    assert set(BUILTINS) <= set(registry.countries())
    for country, plugin in BUILTINS.items():
        assert registry.get(country) is plugin
        assert registry.get(country.lower()) is plugin
        assert registry.origin(country) == BUILTIN_ORIGIN
        assert country in registry
        assert country.lower() in registry
    assert "XX" not in registry
    assert 42 not in registry


def test_an_unknown_country_error_lists_the_known_countries():
    registry = MarketRegistry(Registered(p, BUILTIN_ORIGIN) for p in BUILTINS.values())
    with pytest.raises(UnknownMarketCountryError) as caught:
        registry.get("XX")
    assert str(caught.value) == "no market plugin for country 'XX'; known: AT, BE, DE, FR, NL"
    with pytest.raises(UnknownMarketCountryError, match="known: AT, BE, DE, FR, NL"):
        registry.origin("cz")
    assert isinstance(caught.value, LookupError)


def test_the_registry_refuses_two_different_plugins_for_one_country():
    impostor = MarketPlugin(
        country="DE", name="Other Germany", timezone="Europe/Berlin", markets=de.PLUGIN.markets
    )
    with pytest.raises(MarketPluginError) as caught:
        MarketRegistry(
            [Registered(de.PLUGIN, BUILTIN_ORIGIN), Registered(impostor, "acme-markets-de 1.0")]
        )
    assert str(caught.value) == (
        "two market plugins claim DE: vpp-engine (built-in) and acme-markets-de 1.0"
    )


def test_the_same_plugin_found_twice_is_registered_once():
    registry = MarketRegistry(
        [Registered(de.PLUGIN, BUILTIN_ORIGIN), Registered(de.PLUGIN, BUILTIN_ORIGIN)]
    )
    assert registry.countries() == ("DE",)


def test_a_plugin_package_adds_a_new_country_with_its_own_origin():
    cz = czech_plugin()
    registry = MarketRegistry(
        [*(Registered(p, BUILTIN_ORIGIN) for p in BUILTINS.values()), Registered(cz, "cz 1.0")]
    )
    assert registry.countries() == ("AT", "BE", "CZ", "DE", "FR", "NL")
    assert registry.get("CZ") is cz
    assert registry.origin("CZ") == "cz 1.0"


# --- broken entry points -----------------------------------------------------------------


PLUGIN_MODULE = """
    from markets.eu import sdac_day_ahead
    from markets.plugin import MarketPlugin

    PLUGIN = MarketPlugin(
        country="CZ",
        name="Czechia",
        timezone="Europe/Prague",
        markets=(sdac_day_ahead("CZ", "CZ", "Europe/Prague"),),
    )
    NOT_A_PLUGIN = {"country": "CZ"}
"""


@pytest.fixture
def module_in(tmp_path, monkeypatch):
    """Writes a module into a directory on sys.path; forgets it from sys.modules afterwards."""
    written: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def installed(monkeypatch):
    """Makes `entry_points` return the given entry points for the vpp.markets group."""
    asked: list[str] = []

    def install(*pairs: tuple[str, str]) -> list[str]:
        found = [EntryPoint(name=n, value=v, group=ENTRY_POINT_GROUP) for n, v in pairs]

        def fake_entry_points(*, group):
            asked.append(group)
            return found if group == ENTRY_POINT_GROUP else []

        monkeypatch.setattr(markets.registry, "entry_points", fake_entry_points)
        return asked

    return install


def test_a_working_external_entry_point_is_loaded_with_its_value_as_origin(module_in, installed):
    module = module_in("vpp_test_cz_ok", PLUGIN_MODULE)
    asked = installed(("CZ", f"{module}:PLUGIN"))
    (registered,) = load_entry_point_plugins()
    assert asked == [ENTRY_POINT_GROUP]
    assert registered.plugin.country == "CZ"
    assert registered.origin == f"{module}:PLUGIN"  # no distribution behind this entry point


def test_an_entry_point_whose_module_fails_to_import_names_the_entry_point(module_in, installed):
    module = module_in("vpp_test_cz_raises", "raise RuntimeError('tariff table missing')\n")
    installed(("CZ", f"{module}:PLUGIN"))
    with pytest.raises(MarketPluginError) as caught:
        load_entry_point_plugins()
    assert str(caught.value) == (
        f"market plugin CZ ({module}:PLUGIN) cannot be loaded: tariff table missing"
    )
    assert isinstance(caught.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("vpp_test_no_such_module:PLUGIN", id="missing-module"),
        pytest.param("vpp_test_cz_attr:MISSING", id="missing-attribute"),
    ],
)
def test_an_entry_point_that_cannot_be_resolved_names_the_entry_point(module_in, installed, value):
    module_in("vpp_test_cz_attr", PLUGIN_MODULE)
    installed(("CZ", value))
    with pytest.raises(MarketPluginError, match=f"market plugin CZ \\({value}\\) cannot be loaded"):
        load_entry_point_plugins()


def test_an_entry_point_that_is_not_a_market_plugin_is_refused(module_in, installed):
    module = module_in("vpp_test_cz_wrong_type", PLUGIN_MODULE)
    installed(("CZ", f"{module}:NOT_A_PLUGIN"))
    with pytest.raises(MarketPluginError) as caught:
        load_entry_point_plugins()
    assert str(caught.value) == (
        f"market plugin CZ ({module}:NOT_A_PLUGIN) is a dict, not a MarketPlugin"
    )


def test_an_entry_point_named_for_another_country_than_its_plugin_is_refused(module_in, installed):
    module = module_in("vpp_test_cz_mismatch", PLUGIN_MODULE)
    installed(("SK", f"{module}:PLUGIN"))
    with pytest.raises(MarketPluginError) as caught:
        load_entry_point_plugins()
    assert str(caught.value) == f"market plugin SK ({module}:PLUGIN) declares country CZ"


def test_one_broken_entry_point_stops_loading_rather_than_being_skipped(module_in, installed):
    good = module_in("vpp_test_cz_good", PLUGIN_MODULE)
    installed(("CZ", f"{good}:PLUGIN"), ("PL", f"{good}:PLUGIN"))
    with pytest.raises(MarketPluginError, match="market plugin PL"):
        load_entry_point_plugins()
