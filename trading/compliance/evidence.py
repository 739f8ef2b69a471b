"""Which plugin and which rules judged a bid; which rules treated an asset.

Rule ids come from ONE function, `rule_id`, built from what a market rule has today
(country, market, parameter, valid_from): ``DE.day_ahead.price_max@2025-01-01``. When
market rules carry ids of their own, only `rule_id` changes. A check that rests on no
dated market rule (a product that does not exist, the engine's fat-finger guard, an
optional rule the plugin leaves unsaid) is cited as ``vpp-engine.<check>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.metadata import PackageNotFoundError, entry_points, version

from markets import ENTRY_POINT_GROUP
from markets.plugin import MarketPlugin
from markets.products import Product
from markets.registry import BUILTIN_ORIGIN, MarketRegistry
from markets.validation import _DEFINED_BY  # which parameter defines a derived check
from markets.violations import Violation
from regulatory.treatment import Treatment

ENGINE_DISTRIBUTION = "vpp-engine"
"""The distribution of the built-in plugins and treatments."""

ENGINE_RULE_PREFIX = "vpp-engine"
"""Prefix of the ids of checks that rest on no dated market rule."""


@dataclass(frozen=True)
class PluginProvenance:
    """The distribution a market plugin was installed from, and its version."""

    distribution: str
    version: str | None
    """None when the plugin's entry point belongs to no installed distribution."""


@dataclass(frozen=True)
class Evidence:
    """What judged one bid: the plugin's distribution and version, the rules applied."""

    plugin: PluginProvenance
    rule_ids: tuple[str, ...]


def rule_id(country: str, market: str, parameter: str, valid_from: date) -> str:
    """The id of one market rule value: ``<country>.<market>.<parameter>@<valid_from>``.

    The one place rule ids are made; switching to ids kept with the rules changes only this.
    """
    return f"{country}.{market}.{parameter}@{valid_from.isoformat()}"


def rule_ids_for(plugin: MarketPlugin, product: Product) -> tuple[str, ...]:
    """The ids of every rule value that defines `product` (those its bids are judged by)."""
    known = _PRODUCT_IDS.get(id(product))
    if known is not None and known[0] is product:
        return known[1]
    market = product.market.value
    ids = tuple(
        sorted(
            rule_id(plugin.country, market, name, ref.valid_from)
            for name, ref in product.rules.items()
        )
    )
    if len(_PRODUCT_IDS) >= _CACHED_PRODUCTS:
        _PRODUCT_IDS.pop(next(iter(_PRODUCT_IDS)))
    _PRODUCT_IDS[id(product)] = (product, ids)
    return ids


_CACHED_PRODUCTS = 65_536
_PRODUCT_IDS: dict[int, tuple[Product, tuple[str, ...]]] = {}
"""Rule ids of the products last asked about (a plugin hands out the same product object
for an id while it remembers it), kept with the product so an id is never reused wrongly."""


def violated_rule_id(plugin: MarketPlugin | None, found: Violation) -> str:
    """The id of the rule `found` breaks: the value, of the product it names, that defines
    the check; or ``vpp-engine.<check>`` where no dated market rule does."""
    product = None
    if plugin is not None and found.product_id is not None:
        product = plugin.product(found.product_id)
    if plugin is not None and product is not None:
        market, _, name = found.rule.partition(".")
        if market == product.market.value:
            for parameter in _DEFINED_BY.get(name, (name,)):
                ref = product.rules.get(parameter)
                if ref is not None:
                    return rule_id(plugin.country, market, parameter, ref.valid_from)
    return f"{ENGINE_RULE_PREFIX}.{found.rule}"


def treatment_rule_ids(treatment: Treatment) -> tuple[str, ...]:
    """The ids of the parts of `treatment` (balancing products, support, charges, baseline),
    each under its rule set: ``<country>.regulatory.<version>.<part>``."""
    base = regulatory_rule_base(treatment.country, treatment.rule_set_version)
    parts = [f"balancing.{item.product}" for item in treatment.balancing]
    if treatment.support is not None:
        parts.append(f"support.{treatment.support.scheme}")
    parts.extend(f"charges.{item.name}" for item in treatment.charges)
    if treatment.baseline_method is not None:
        parts.append(f"baseline.{treatment.baseline_method}")
    return tuple(f"{base}.{part}" for part in parts)


def treatment_record(treatment: Treatment) -> dict[str, object]:
    """How a plan records an asset's treatment: its country, rule-set version and
    valid-from, the ids of the rules it rests on, and which parts are uncertain."""
    return {
        "country": treatment.country,
        "rule_set_version": treatment.rule_set_version,
        "rule_set_valid_from": treatment.rule_set_valid_from.isoformat(),
        "rule_ids": list(treatment_rule_ids(treatment)),
        "uncertain": list(treatment.uncertain),
    }


def regulatory_rule_base(country: str, version: str) -> str:
    """The prefix of the ids of one regulatory rule set's facts (the one place it is made)."""
    return f"{country}.regulatory.{version}"


@cache
def engine_version() -> str | None:
    """The installed vpp-engine's version; None when run from a tree that is not installed."""
    try:
        return version(ENGINE_DISTRIBUTION)
    except PackageNotFoundError:
        return None


_PROVENANCE: dict[tuple[str, int], tuple[MarketPlugin, PluginProvenance]] = {}


def plugin_provenance(registry: MarketRegistry, country: str) -> PluginProvenance:
    """The distribution and version of the plugin `registry` uses for `country`.

    Built-in plugins are vpp-engine's; an installed plugin's distribution is the one whose
    ``vpp.markets`` entry point loads that very plugin object (``importlib.metadata``).
    """
    plugin = registry.get(country)
    key = (plugin.country, id(plugin))
    known = _PROVENANCE.get(key)
    if known is not None and known[0] is plugin:
        return known[1]
    if registry.origin(country) == BUILTIN_ORIGIN:
        found = PluginProvenance(ENGINE_DISTRIBUTION, engine_version())
    else:
        found = _entry_point_provenance(plugin)
    _PROVENANCE[key] = (plugin, found)
    return found


def _entry_point_provenance(plugin: MarketPlugin) -> PluginProvenance:
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=plugin.country):
        try:
            loaded = entry.load()
        except Exception:
            continue
        if loaded is plugin:
            if entry.dist is None:
                return PluginProvenance(entry.value, None)
            return PluginProvenance(entry.dist.name, entry.dist.version)
    return PluginProvenance(f"unregistered plugin {plugin.country} ({plugin.name})", None)


def evidence_for(
    registry: MarketRegistry, products: Sequence[Product], violations: Iterable[Violation] = ()
) -> Evidence:
    """What judged a bid on `products` (all of one country): the plugin's provenance and
    every rule id that defines the products, plus those of the rules it breaks."""
    plugin = registry.get(products[0].country)
    ids = {i for product in products for i in rule_ids_for(plugin, product)}
    ids.update(violated_rule_id(plugin, v) for v in violations)
    return Evidence(plugin_provenance(registry, plugin.country), tuple(sorted(ids)))
