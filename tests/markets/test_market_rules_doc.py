"""docs/market-rules.md names every value the built-in plugins mark uncertain."""

from __future__ import annotations

from pathlib import Path

import pytest

from markets.registry import BUILTIN_COUNTRIES, default_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "market-rules.md"


@pytest.mark.parametrize("country", BUILTIN_COUNTRIES)
def test_every_uncertain_rule_is_listed_in_the_market_rules_doc(country: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    plugin = default_registry().get(country)
    missing = sorted(
        {
            f"{market.value}.{name}"
            for market, name, rule in plugin.rules()
            if rule.uncertain and f"`{market.value}.{name}`" not in text
        }
    )
    assert not missing, f"{country}: uncertain rules not named in docs/market-rules.md: {missing}"
