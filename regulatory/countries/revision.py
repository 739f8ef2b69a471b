"""Re-record a country's rule sets with sources: one correcting version per version believed.

A country's audit module says, for each fact of a version (by its place, e.g.
``products:fcr`` or ``charging:EEG levy:exemptions[0]``), where it was read (a
`Provenance`) and, where the source contradicts it, the corrected fields. `revise` then adds,
for every version believed today, a version ``V-revN`` that supersedes it: the same facts
with their sources and corrections, recorded on the audit day by its author and approved
by another person. Nothing is edited: the versions before stay readable with
``--known-on`` a day before the audit, or in git for those recorded the same day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from regulatory.countries.de_sources import Provenance
from regulatory.rules import (
    ChargingCharge,
    CountryRules,
    DatedNegativePriceRule,
    Fact,
    RuleSet,
    SupportBand,
    SupportScheme,
)

_REVISION = re.compile(r"^(?P<base>.+)-rev(?P<n>\d+)$")


@dataclass(frozen=True)
class Entry:
    """What the audit read for one fact: its `provenance` and the fields it corrects.

    `provenance` None keeps the fact's own (a sourced charge whose exemption is withdrawn).

    `changes` replaces fields wholesale (a corrected value, or new `bands` or `exemptions`
    already carrying their own sources); `correction` says in one line what changed and why,
    for the version's ``change`` (empty when nothing but the source changed).
    """

    provenance: Provenance | None
    changes: dict[str, Any] = field(default_factory=dict)
    correction: str = ""


Lookup = Callable[[str, Fact, RuleSet], Entry | None]
"""``(place, fact, version) -> Entry | None``: `place` is the fact's id without the version
id and its leading colon, e.g. ``support_schemes:EAG market premium:bands[0]``."""


def sourced(fact: Fact, provenance: Provenance, **changes: object) -> Fact:
    """`fact` with `provenance` and `changes`, validated again (for a new fact a correction
    adds, e.g. a band or an exemption)."""
    return type(fact).model_validate({**fact.model_dump(), **provenance.updates(fact), **changes})


def next_revision(version: str) -> str:
    """``2024.1`` -> ``2024.1-rev1``; ``2024.1-rev1`` -> ``2024.1-rev2``."""
    match = _REVISION.match(version)
    if match is None:
        return f"{version}-rev1"
    return f"{match['base']}-rev{int(match['n']) + 1}"


def _apply(place: str, fact: Fact, version: RuleSet, lookup: Lookup, done: list[str]) -> Fact:
    """`fact` with its children revised first, then its own entry (if any) applied; an
    entry that corrects nothing leaves a fact that already names a reference as it is."""
    updates: dict[str, Any] = {}
    if isinstance(fact, SupportScheme):
        updates["bands"] = tuple(
            _apply(f"{place}:bands[{b}]", band, version, lookup, done)
            for b, band in enumerate(fact.bands)
        )
    elif isinstance(fact, SupportBand):
        updates["rules"] = tuple(
            DatedNegativePriceRule(
                applies_from=dated.applies_from,
                rule=_apply(f"{place}:rules[{r}]", dated.rule, version, lookup, done),  # type: ignore[arg-type]
            )
            for r, dated in enumerate(fact.rules)
        )
    elif isinstance(fact, ChargingCharge):
        updates["exemptions"] = tuple(
            _apply(f"{place}:exemptions[{e}]", exemption, version, lookup, done)
            for e, exemption in enumerate(fact.exemptions)
        )
    entry = lookup(place, fact, version)
    sourced = bool((fact.reference or "").strip())
    if entry is not None and (entry.changes or not sourced):
        if entry.provenance is not None:
            updates |= entry.provenance.updates(fact)
        updates |= entry.changes
        if entry.correction and entry.correction not in done:
            done.append(entry.correction)
    if not updates:
        return fact
    return type(fact).model_validate({**fact.model_dump(), **updates})


def re_record(
    version: RuleSet, *, lookup: Lookup, session: str, recorded: dict[str, object]
) -> RuleSet:
    """Version `next_revision(version)`: `version` with every fact `lookup` knows sourced or
    corrected, recorded as `recorded` says (``recorded_at``, ``recorded_by``,
    ``approved_by``) and superseding `version`."""
    done: list[str] = []
    products = tuple(
        _apply(f"products:{p.product}", p, version, lookup, done) for p in version.products
    )
    schemes = tuple(
        _apply(f"support_schemes:{s.name}", s, version, lookup, done)
        for s in version.support_schemes
    )
    charging = tuple(
        _apply(f"charging:{c.name}", c, version, lookup, done) for c in version.charging
    )
    baselines = tuple(
        _apply(f"baselines:{b.method}", b, version, lookup, done) for b in version.baselines
    )
    corrected = "; corrected: " + "; ".join(done) if done else "; no value corrected"
    return RuleSet.model_validate(
        {
            **version.model_dump(),
            "version": next_revision(version.version),
            "change": f"{version.change} - re-recorded with the sources read in {session}"
            + corrected,
            "supersedes": (version.version,),
            "superseded_at": None,
            "products": products,
            "support_schemes": schemes,
            "charging": charging,
            "baselines": baselines,
            **recorded,
        }
    )


def revise(
    rules: CountryRules, *, lookup: Lookup, session: str, recorded: dict[str, object]
) -> CountryRules:
    """`rules` with one more version for each version believed today (`re_record`),
    appended in valid-time order after the history."""
    revised = tuple(
        re_record(v, lookup=lookup, session=session, recorded=recorded) for v in rules.edition()
    )
    return CountryRules(
        country=rules.country, name=rules.name, versions=(*rules.versions, *revised)
    )
