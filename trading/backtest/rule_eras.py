"""The rule records a backtest runs under, era by era, and a check that every day has them.

A run over an older year crosses rule changes (the German aFRR products went from weekly to
daily 4-hour blocks on 2018-07-12, the bidding zone from DE-AT-LU to DE-LU on 2018-10-01).
`rule_era_notes` says, for each country of the portfolio, which regulatory rule set and
which market rule records were in force on which days of the run, by their stable ids
(`regulatory.rules.RuleSet.id`, `markets.rules.rule_id`), so an analyst can trace every
figure to the rules that produced it. `rules_cover` names the first day that no rule set
covers, with the dates that are covered, before anything is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from markets.countries.de_history import BIDDING_ZONE_HISTORY, ZONE_SPLIT
from markets.kinds import Market
from markets.products import MarketId
from markets.registry import MarketRegistry
from markets.registry import default_registry as default_markets
from regulatory.registry import CountryRegistry
from regulatory.registry import default_registry as default_regulatory
from regulatory.rules import NoRuleSetError
from trading.optimiser.build import ENERGY_MARKETS, RESERVE_MARKETS

MARKET_IDS: dict[str, MarketId] = {**ENERGY_MARKETS, **RESERVE_MARKETS}
"""A backtest market choice -> the market whose rules it trades under."""

STRUCTURE = (
    "in_operation",
    "mtu_minutes",
    "block_hours",
    "sessions",
    "contracts",
    "gate_closure",
)
"""Parameters named in an era that starts the market (the run's first, or the first after
days it was not offered): what its products are and when they close."""


def _days(start: date, end: date) -> Iterator[date]:
    for k in range((end - start).days + 1):
        yield start + timedelta(days=k)


def rules_cover(
    countries: Iterable[str],
    start: date,
    end: date,
    regulatory: CountryRegistry | None = None,
) -> str | None:
    """None when a regulatory rule set of every country is in force on every day from
    `start` to `end` (inclusive); else one line naming the country, the first day not
    covered and the first and last days the country's rule sets cover."""
    registry = regulatory or default_regulatory()
    for country in sorted(set(countries)):
        rules = registry.get(country)
        held = rules.edition()
        first = held[0]
        for day in _days(start, end):
            try:
                rules.in_force(day)
            except NoRuleSetError:
                return (
                    f"no {country} regulatory rule set is in force on {day}: the {country} "
                    f"rule sets cover {first.valid_from} (version {first.version}) to any "
                    f"later day (latest version {held[-1].version} from "
                    f"{held[-1].valid_from}); choose --start on or after {first.valid_from}"
                )
    return None


def _span(a: date, b: date) -> str:
    return a.isoformat() if a == b else f"{a}..{b}"


def _regulatory_note(country: str, start: date, end: date, registry: CountryRegistry) -> str:
    rules = registry.get(country)
    eras: list[tuple[str, date, date]] = []
    for day in _days(start, end):
        version = rules.in_force(day).id
        if eras and eras[-1][0] == version:
            eras[-1] = (version, eras[-1][1], day)
        else:
            eras.append((version, day, day))
    return f"rules {country} regulatory: " + "; ".join(
        f"{_span(a, b)} {version}" for version, a, b in eras
    )


def _market_notes(country: str, spec: Market, start: date, end: date) -> list[str]:
    eras: list[tuple[dict[str, str], bool, date, date]] = []
    for day in _days(start, end):
        ids = {name: entry.id or "" for name, entry in spec.rules_on(day).items()}
        offered = spec.offered_on(day)
        if eras and eras[-1][0] == ids and eras[-1][1] == offered:
            eras[-1] = (ids, offered, eras[-1][2], day)
        else:
            eras.append((ids, offered, day, day))
    notes = []
    previous: dict[str, str] = {}
    was_offered = False
    for ids, offered, a, b in eras:
        if not offered:
            why = spec.rules_on(a).get("in_operation")
            reason = f"{why.id}: {why.note}" if why is not None else "no in_operation rule"
            text = f"not offered ({reason})"
        else:
            shown = (
                [n for n in ids if ids[n] != previous.get(n)]
                if was_offered
                else [n for n in STRUCTURE if n in ids]
            )
            text = "offered; " + ", ".join(ids[n] for n in shown)
        notes.append(f"rules {country} {spec.market.value} {_span(a, b)}: {text}")
        previous, was_offered = ids, offered
    return notes


def rule_era_notes(
    countries: Iterable[str],
    markets: Iterable[str],
    start: date,
    end: date,
    *,
    market_registry: MarketRegistry | None = None,
    regulatory: CountryRegistry | None = None,
) -> list[str]:
    """Lines for a run's notes: for each country, the regulatory rule set of each span of
    days, and for each market of the run the rule records that start a new era (the
    market's structure in the first era; what changed after), or why it is not offered.
    German runs before 2018-10-01 also name the joint zone's record."""
    plugins = market_registry or default_markets()
    registry = regulatory or default_regulatory()
    notes: list[str] = []
    for country in sorted(set(countries)):
        notes.append(_regulatory_note(country, start, end, registry))
        plugin = plugins.get(country)
        for choice in markets:
            market = MARKET_IDS.get(choice)
            if market is None:
                continue
            notes.extend(_market_notes(country, plugin.market(market), start, end))
        if country == "DE" and start < ZONE_SPLIT:
            joint = next(r for r in BIDDING_ZONE_HISTORY if r.value == "DE_AT_LU")
            notes.append(
                f"rules DE bidding zone: delivery until {ZONE_SPLIT - timedelta(days=1)} was "
                f"in the joint German-Austrian-Luxembourg zone DE_AT_LU ({joint.id}); "
                "its prices stand for the DE_LU sites of the run"
            )
    return notes
