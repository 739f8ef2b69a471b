"""vpp-engine's conformance kit, run on this package's market plugin."""

from __future__ import annotations

from markets.conformance import assert_conformant
from markets.registry import default_registry

from vpp_markets_si import PLUGIN


def test_plugin_passes_the_conformance_kit() -> None:
    assert_conformant(PLUGIN)


def test_plugin_is_registered_under_its_country_code() -> None:
    registry = default_registry()
    assert registry.get("SI") is PLUGIN
    assert registry.origin("SI").startswith("vpp-markets-si ")
