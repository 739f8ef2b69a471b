"""What `vpp markets rules|treatments|review` show: rule records as an auditor reads them.

Pure functions from plugins and rule sets to JSON-ready rows; the commands in
`trading.cli.markets` print them. Dates are delivery days (valid time) or the days the
project held a record (knowledge time, ``known_on``); None means today's belief.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from markets.kinds import describe_value
from markets.plugin import MarketPlugin
from markets.products import MarketId
from markets.rules import Rule
from regulatory.rules import Confidence, CountryRules, Fact, RuleSet


def rule_row(market: MarketId, parameter: str, entry: Rule[Any]) -> dict[str, Any]:
    """One market rule record: market, parameter, value and its times and provenance."""
    return {
        "market": market.value,
        "parameter": parameter,
        "value": describe_value(entry.value),
        **entry.provenance(),
    }


def market_rules(
    plugin: MarketPlugin,
    *,
    market: MarketId | None = None,
    on: date | None = None,
    known_on: date | None = None,
    every_record: bool = False,
) -> list[dict[str, Any]]:
    """The records of `plugin` (one `market`'s), as known on `known_on` (None: today).

    With `on`, only each parameter's record in force on that delivery day; with
    `every_record`, every record ever held, superseded ones included.
    """
    if on is not None:
        found = plugin.rules_on(on, known_on)
    elif every_record:
        found = plugin.rules()
    else:
        found = ((m, name, entry) for m, name, entry in plugin.rules() if entry.known_on(known_on))
    return [rule_row(m, name, entry) for m, name, entry in found if market is None or m == market]


def diff_rows(
    before: Iterable[dict[str, Any]],
    after: Iterable[dict[str, Any]],
    every: Iterable[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """What changed between two editions of records (rows with an ``id``): each record
    held only in the later one (``diff``: ``added``) or only in the earlier
    (``withdrawn``), with the ids of the records that corrected a withdrawn one (a
    record's ``supersedes`` names ids; a rule-set version's names versions).

    A record corrected twice between the editions (a same-day revision, id ``...:r2``)
    was corrected by the later edition's record at the end of the chain: `every` (rows of
    every record ever held) supplies the records in between."""
    old = {row["id"]: row for row in before}
    new = {row["id"]: row for row in after}
    links = {row["id"]: tuple(row.get("supersedes", ())) for row in every}
    links.update({key: tuple(row.get("supersedes", ())) for key, row in new.items()})

    def replaced_by(key: str) -> set[str]:
        seen: set[str] = set()
        todo = list(links.get(key, ()))
        while todo:
            target = todo.pop()
            if target not in seen:
                seen.add(target)
                todo.extend(links.get(target, ()))
        return seen

    corrects = {key: replaced_by(key) for key in new}
    changes = []
    for key in sorted(old.keys() - new.keys()):
        row = old[key]
        names = {key, row.get("version")} - {None}
        by = [other for other in new if names & corrects[other]]
        changes.append({**row, "diff": "withdrawn", "corrected_by": by})
    for key in sorted(new.keys() - old.keys()):
        changes.append({**new[key], "diff": "added", "corrected_by": []})
    return changes


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def version_row(rule_set: RuleSet) -> dict[str, Any]:
    """One regulatory rule-set version with its times and approvals."""
    return {
        "id": rule_set.id,
        "version": rule_set.version,
        "valid_from": rule_set.valid_from.isoformat(),
        "valid_from_confidence": rule_set.valid_from_confidence.value,
        "recorded_at": rule_set.recorded_at.isoformat(),
        "superseded_at": _iso(rule_set.superseded_at),
        "recorded_by": rule_set.recorded_by,
        "approved_by": rule_set.approved_by,
        "supersedes": list(rule_set.supersedes),
        "change": rule_set.change,
    }


def fact_row(fact_id: str, fact: Fact) -> dict[str, Any]:
    """One fact of a rule-set version with its source."""
    body = fact.model_dump(
        mode="json",
        exclude={
            "source",
            "confidence",
            "note",
            "reference",
            "document_version",
            "retrieved_on",
            "review_by",
        },
    )
    return {
        "id": fact_id,
        "value": _summary(body),
        "confidence": fact.confidence.value,
        "source": fact.source,
        "reference": fact.reference,
        "document_version": fact.document_version,
        "retrieved_on": _iso(fact.retrieved_on),
        "review_by": _iso(fact.review_by),
        "note": fact.note,
    }


def _summary(body: dict[str, Any]) -> str:
    """A fact's own fields in one line (nested sources left out)."""
    parts = []
    for key, value in body.items():
        if value in (None, (), [], False) or key in {"kinds", "bands", "exemptions", "rules"}:
            continue
        parts.append(f"{key}={value}")
    for key in ("exemptions", "bands"):
        if body.get(key):
            parts.append(f"{len(body[key])} {key}")
    return ", ".join(parts)


def treatments(
    rules: CountryRules, *, on: date | None = None, known_on: date | None = None
) -> dict[str, Any]:
    """A country's rule-set versions held on `known_on` (None: today); with `on`, the one in
    force on that day and each of its facts."""
    versions = [version_row(v) for v in rules.edition(known_on)]
    if on is None:
        return {"country": rules.country, "known_on": _iso(known_on), "versions": versions}
    in_force = rules.in_force(on, known_on)
    return {
        "country": rules.country,
        "on": on.isoformat(),
        "known_on": _iso(known_on),
        "in_force": version_row(in_force),
        "facts": [fact_row(fact_id, fact) for fact_id, fact in in_force.facts()],
    }


def review_items(
    plugins: Iterable[MarketPlugin],
    country_rules: Iterable[CountryRules],
    *,
    today: date,
    days: int,
) -> dict[str, list[dict[str, Any]]]:
    """Every uncertain value believed today with its review date (overdue ones first, then
    by date; a missing date counts as overdue), and every change scheduled in the `days`
    days after `today`: market records starting or ending, rule-set versions starting."""
    horizon = today + timedelta(days=days)
    uncertain: list[dict[str, Any]] = []
    scheduled: list[dict[str, Any]] = []
    for plugin in plugins:
        for market, name, entry in plugin.rules(known_on=None):
            if entry.superseded_at is not None:
                continue
            row = {"country": plugin.country, **rule_row(market, name, entry)}
            if entry.uncertain:
                uncertain.append(_due(row, entry.review_by, today))
            if today < entry.valid_from <= horizon:
                scheduled.append({"on": entry.valid_from.isoformat(), "what": "starts", **row})
            if entry.valid_to is not None and today < entry.valid_to <= horizon:
                scheduled.append({"on": entry.valid_to.isoformat(), "what": "ends", **row})
    for rules in country_rules:
        for version in rules.edition():
            base = {"country": rules.country, "version": version.version}
            if version.valid_from_confidence is Confidence.UNCERTAIN:
                row = {
                    **base,
                    "id": version.id,
                    "value": f"valid_from={version.valid_from.isoformat()}",
                    "confidence": "uncertain",
                    "source": version.change,
                    "note": "the day this version takes effect is uncertain",
                }
                uncertain.append(_due(row, version.review_by, today))
            if today < version.valid_from <= horizon:
                scheduled.append(
                    {
                        **base,
                        "on": version.valid_from.isoformat(),
                        "what": "rule-set version starts",
                        **version_row(version),
                    }
                )
        seen: set[str] = set()
        for version in _current_and_later(rules, today):
            for fact_id, fact in version.facts():
                what = fact_id.removeprefix(version.id)
                if fact.confidence is not Confidence.UNCERTAIN or what in seen:
                    continue
                seen.add(what)
                row = {"country": rules.country, **fact_row(fact_id, fact)}
                uncertain.append(_due(row, fact.review_by, today))
    uncertain.sort(key=lambda r: (not r["overdue"], r["review_by"] or "", r["id"]))
    scheduled.sort(key=lambda r: (r["on"], r.get("id") or ""))
    return {"uncertain": uncertain, "scheduled": scheduled}


def _current_and_later(rules: CountryRules, today: date) -> list[RuleSet]:
    """The versions believed today that are in force today or start later."""
    held = rules.edition()
    started = [v for v in held if v.valid_from <= today]
    first = held.index(started[-1]) if started else 0
    return held[first:]


def _due(row: dict[str, Any], review_by: date | None, today: date) -> dict[str, Any]:
    return {**row, "review_by": _iso(review_by), "overdue": review_by is None or review_by < today}


def reference_rows(
    plugins: Iterable[MarketPlugin], country_rules: Iterable[CountryRules]
) -> list[dict[str, Any]]:
    """Per country: market rule records (ever held, believed today, with and without a
    reference a reviewer can open, uncertain) and regulatory facts of the rule-set
    versions believed today (with and without a reference). Countries sorted."""
    from markets.conformance import reference_count

    rows: dict[str, dict[str, Any]] = {}
    for plugin in plugins:
        count = reference_count(plugin)
        rows[plugin.country] = {
            "country": plugin.country,
            "market_records": count.records,
            "market_believed": count.believed,
            "market_with_reference": count.with_reference,
            "market_without_reference": len(count.without_reference),
            "market_uncertain": count.uncertain,
            "market_ids_without_reference": list(count.without_reference),
        }
    for rules in country_rules:
        facts = [(fid, fact) for v in rules.edition() for fid, fact in v.facts()]
        missing = sorted(fid for fid, fact in facts if not (fact.reference or "").strip())
        row = rows.setdefault(rules.country, {"country": rules.country})
        row.update(
            {
                "regulatory_facts": len(facts),
                "regulatory_with_reference": len(facts) - len(missing),
                "regulatory_without_reference": len(missing),
                "regulatory_ids_without_reference": missing,
            }
        )
    return [rows[c] for c in sorted(rows)]


def approval_rows(
    plugins: Iterable[MarketPlugin], country_rules: Iterable[CountryRules]
) -> list[dict[str, Any]]:
    """Who approved what: every market record and rule-set version believed today that
    names an approver, with its author and knowledge time, by approver then id."""
    rows = []
    for plugin in plugins:
        for market, name, entry in plugin.rules():
            if entry.superseded_at is None and entry.approved_by:
                rows.append(
                    {
                        "country": plugin.country,
                        "id": entry.id,
                        "what": f"{market.value}.{name}",
                        "recorded_at": entry.recorded_at.isoformat(),
                        "recorded_by": entry.recorded_by,
                        "approved_by": entry.approved_by,
                    }
                )
    for rules in country_rules:
        for version in rules.edition():
            if version.approved_by:
                rows.append(
                    {
                        "country": rules.country,
                        "id": version.id,
                        "what": f"rule-set version {version.version}",
                        "recorded_at": version.recorded_at.isoformat(),
                        "recorded_by": version.recorded_by,
                        "approved_by": version.approved_by,
                    }
                )
    rows.sort(key=lambda r: (r["approved_by"], r["id"]))
    return rows
