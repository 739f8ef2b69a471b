"""Which plugin and which rules judged a bid; which rules treated an asset.

Rule ids are the rule records' own (`markets.rules.rule_id`:
``CC:market:parameter:valid_from:recorded_at``; `regulatory.rules.RuleSet.facts`:
``CC:regulatory:VERSION:section:name``). The ids a bid is judged by come from its plugin,
`MarketPlugin.rule_ids_for_bid`. A check that rests on no dated market rule (a product
that does not exist, the engine's fat-finger guard, an optional rule the plugin leaves
unsaid, a linked block's parent) is cited as ``vpp-engine:<check>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, entry_points, version

from markets import ENTRY_POINT_GROUP
from markets.bids import Bid
from markets.plugin import MarketPlugin
from markets.registry import BUILTIN_ORIGIN, MarketRegistry
from markets.violations import Violation
from regulatory.registry import CountryRegistry
from regulatory.registry import default_registry as regulatory_registry
from regulatory.rules import BaselineRule, ChargingCharge, Fact, ProductRule, SupportScheme
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


def violated_rule_id(found: Violation) -> str:
    """The id of the rule record `found` breaks, or ``vpp-engine:<check>`` where the check
    rests on no dated market rule."""
    return found.rule_id or f"{ENGINE_RULE_PREFIX}:{found.rule}"


def treatment_rule_ids(
    treatment: Treatment, registry: CountryRegistry | None = None
) -> tuple[str, ...]:
    """The ids of the facts of its rule set that `treatment` rests on (its balancing
    products, support scheme, charges and baseline), as `RuleSet.facts` names them."""
    rules = (registry or regulatory_registry()).get(treatment.country)
    rule_set = next(v for v in rules.versions if v.version == treatment.rule_set_version)
    products = {item.product for item in treatment.balancing}
    scheme = None if treatment.support is None else treatment.support.scheme
    charges = {item.name for item in treatment.charges}

    def used(fact: Fact) -> bool:
        if isinstance(fact, ProductRule):
            return fact.product in products
        if isinstance(fact, SupportScheme):
            return fact.name == scheme
        if isinstance(fact, ChargingCharge):
            return fact.name in charges
        if isinstance(fact, BaselineRule):
            return fact.method == treatment.baseline_method
        return False

    return tuple(fact_id for fact_id, fact in rule_set.facts() if used(fact))


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
            continue  # a broken rival is not the plugin in use
        if loaded is plugin:
            if entry.dist is None:
                return PluginProvenance(entry.value, None)
            return PluginProvenance(entry.dist.name, entry.dist.version)
    return PluginProvenance(f"unregistered plugin {plugin.country} ({plugin.name})", None)


def evidence_for(
    registry: MarketRegistry, country: str, bid: Bid, violations: Iterable[Violation] = ()
) -> Evidence:
    """What judged `bid` of `country`: the plugin's provenance and every rule id applied,
    plus those of the rules it breaks."""
    plugin = registry.get(country)
    ids = set(plugin.rule_ids_for_bid(bid))
    ids.update(violated_rule_id(v) for v in violations)
    return Evidence(plugin_provenance(registry, plugin.country), tuple(sorted(ids)))


def violated_rule_ids(violations: Sequence[Violation]) -> list[str]:
    """The id of the rule each of `violations` breaks, in their order."""
    return [violated_rule_id(v) for v in violations]
