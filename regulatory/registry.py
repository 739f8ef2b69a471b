"""Which countries' regulatory rules are known: built-ins plus installed plugins.

A country plugin is any distribution that declares, in the entry-point group
``vpp.regulatory``, a name equal to the ISO country code pointing at a `CountryRules`
object. vpp-engine's own five countries are declared there too; they are also imported
directly so that a source checkout without an install still knows them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points

from regulatory.rules import CountryRules

ENTRY_POINT_GROUP = "vpp.regulatory"
BUILTIN_COUNTRIES = ("DE", "NL", "BE", "FR", "AT")


class UnknownCountryError(LookupError):
    """A country code for which no regulatory plugin is installed."""


class PluginError(RuntimeError):
    """A regulatory plugin that cannot be loaded or contradicts another."""


class CountryRegistry:
    """Country code -> `CountryRules`."""

    def __init__(self, rules: Iterable[CountryRules]) -> None:
        self._rules: dict[str, CountryRules] = {}
        for country_rules in rules:
            known = self._rules.get(country_rules.country)
            if known is not None and known != country_rules:
                raise PluginError(f"two different rule plugins claim {country_rules.country}")
            self._rules[country_rules.country] = country_rules

    def get(self, country: str) -> CountryRules:
        """The rules of `country`; `UnknownCountryError` names the known ones."""
        try:
            return self._rules[country]
        except KeyError:
            known = ", ".join(self.countries())
            raise UnknownCountryError(
                f"no regulatory rules for country {country!r}; known: {known}"
            ) from None

    def countries(self) -> tuple[str, ...]:
        """Known country codes, sorted."""
        return tuple(sorted(self._rules))

    def __contains__(self, country: object) -> bool:
        return country in self._rules


def _builtin_rules() -> list[CountryRules]:
    return [
        importlib.import_module(f"regulatory.countries.{code.lower()}").RULES
        for code in BUILTIN_COUNTRIES
    ]


def _plugin_rules() -> list[CountryRules]:
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            rules = entry.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise PluginError(f"regulatory plugin {entry.name} ({entry.value}): {exc}") from exc
        if not isinstance(rules, CountryRules):
            raise PluginError(
                f"regulatory plugin {entry.name} ({entry.value}) is a "
                f"{type(rules).__name__}, not CountryRules"
            )
        if rules.country != entry.name:
            raise PluginError(
                f"regulatory plugin {entry.name} ({entry.value}) declares country {rules.country}"
            )
        found.append(rules)
    return found


@cache
def default_registry() -> CountryRegistry:
    """Built-in countries plus every installed ``vpp.regulatory`` plugin (loaded once)."""
    return CountryRegistry([*_builtin_rules(), *_plugin_rules()])
