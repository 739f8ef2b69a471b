"""Which countries' market rules are known: built-ins plus installed plugin packages.

A market plugin is any distribution that declares, in the entry-point group ``vpp.markets``,
a name equal to the ISO country code pointing at a `MarketPlugin`. vpp-engine's own five
countries are declared there too; they are also imported directly, so that a source
checkout without an install still knows them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from markets import ENTRY_POINT_GROUP
from markets.plugin import MarketPlugin

BUILTIN_COUNTRIES = ("DE", "NL", "BE", "FR", "AT")
BUILTIN_ORIGIN = "vpp-engine (built-in)"


class UnknownMarketCountryError(LookupError):
    """A country code for which no market plugin is installed."""


class MarketPluginError(RuntimeError):
    """A market plugin that cannot be loaded or contradicts another."""


@dataclass(frozen=True)
class Registered:
    """A plugin and the distribution it came from."""

    plugin: MarketPlugin
    origin: str


class MarketRegistry:
    """Country code -> `MarketPlugin`."""

    def __init__(self, plugins: Iterable[Registered], broken: dict[str, str] | None = None) -> None:
        self.broken: dict[str, str] = dict(broken or {})
        """Entry-point name -> why that plugin could not be loaded."""
        self._plugins: dict[str, Registered] = {}
        for registered in plugins:
            country = registered.plugin.country
            known = self._plugins.get(country)
            if known is not None and known.plugin is not registered.plugin:
                raise MarketPluginError(
                    f"two market plugins claim {country}: {known.origin} and {registered.origin}"
                )
            if known is None or known.origin == BUILTIN_ORIGIN:
                self._plugins[country] = registered

    def get(self, country: str) -> MarketPlugin:
        """The plugin of `country`; `UnknownMarketCountryError` names the known ones."""
        try:
            return self._plugins[country.upper()].plugin
        except KeyError:
            if country.upper() in self.broken:
                raise MarketPluginError(self.broken[country.upper()]) from None
            raise UnknownMarketCountryError(
                f"no market plugin for country {country!r}; known: {', '.join(self.countries())}"
            ) from None

    def origin(self, country: str) -> str:
        """The distribution that provides `country`'s plugin."""
        self.get(country)
        return self._plugins[country.upper()].origin

    def countries(self) -> tuple[str, ...]:
        """Known country codes, sorted."""
        return tuple(sorted(self._plugins))

    def __contains__(self, country: object) -> bool:
        return isinstance(country, str) and country.upper() in self._plugins


def _builtin_plugins() -> list[Registered]:
    return [
        Registered(
            importlib.import_module(f"markets.countries.{cc.lower()}").PLUGIN, BUILTIN_ORIGIN
        )
        for cc in BUILTIN_COUNTRIES
    ]


def _load(entry: EntryPoint) -> Registered:
    """One entry point's plugin, checked for type and country; `MarketPluginError` if broken."""
    where = f"market plugin {entry.name} ({entry.value})"
    try:
        plugin = entry.load()
    except Exception as exc:  # a broken plugin must say which one it is
        raise MarketPluginError(f"{where} cannot be loaded: {exc}") from exc
    if not isinstance(plugin, MarketPlugin):
        raise MarketPluginError(f"{where} is a {type(plugin).__name__}, not a MarketPlugin")
    if plugin.country != entry.name:
        raise MarketPluginError(f"{where} declares country {plugin.country}")
    dist = entry.dist
    origin = f"{dist.name} {dist.version}" if dist is not None else entry.value
    if entry.value.startswith("markets.countries."):
        origin = BUILTIN_ORIGIN
    return Registered(plugin, origin)


def load_entry_point_plugins() -> list[Registered]:
    """Every plugin declared in the ``vpp.markets`` group; the first broken one raises."""
    return [_load(entry) for entry in entry_points(group=ENTRY_POINT_GROUP)]


def _load_each() -> tuple[list[Registered], dict[str, str]]:
    """Every loadable plugin, and for each broken entry point the reason, by its name."""
    found: list[Registered] = []
    broken: dict[str, str] = {}
    builtins = {r.plugin.country: r.plugin for r in _builtin_plugins()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            registered = _load(entry)
        except MarketPluginError as exc:
            broken[entry.name] = str(exc)
            continue
        builtin = builtins.get(registered.plugin.country)
        if builtin is not None and builtin is not registered.plugin:
            broken[entry.name] = (
                f"market plugin {entry.name} ({entry.value}) from {registered.origin} claims "
                f"{entry.name}, which vpp-engine has built in; it is ignored"
            )
            continue
        found.append(registered)
    claims: dict[str, list[Registered]] = {}
    for registered in found:
        if registered.origin != BUILTIN_ORIGIN:
            claims.setdefault(registered.plugin.country, []).append(registered)
    for country, rivals in claims.items():
        if len({id(r.plugin) for r in rivals}) > 1:
            origins = " and ".join(sorted(r.origin for r in rivals))
            broken[country] = f"two market plugins claim {country}: {origins}; both are ignored"
    found = [r for r in found if r.plugin.country not in broken or r.origin == BUILTIN_ORIGIN]
    return found, broken


@cache
def default_registry() -> MarketRegistry:
    """Built-in countries plus every installed ``vpp.markets`` plugin (loaded once).

    A plugin package that cannot be loaded does not take the others down: it is listed in
    `MarketRegistry.broken`, and asking for its country raises `MarketPluginError` with
    the reason.
    """
    found, broken = _load_each()
    return MarketRegistry([*_builtin_plugins(), *found], broken=broken)
