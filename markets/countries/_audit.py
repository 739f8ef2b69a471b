"""Provenance shared by the records of the rule audits of 2026-12-06 (issue 17).

Each correcting record carries these times and names; its own source, reference and
confidence are written where it is. The author is the session that read the sources; the
approver is the coordinator whose merge review admits the records into the project (four
eyes: docs/compliance.md; the approver must be registered in ``markets/reviewers.toml``).
A record the merge does not admit never exists.

Five sessions audited that day: the first (`AUDIT`) corrected the examples of the issue,
the second (`AUDIT_2`) went through every record of NL, BE, FR, AT and the shared EU
blocks, the third (`AUDIT_3`) sourced German records and regulatory facts, the fourth
(`AUDIT_4`) sourced market records the others had left without a reference, the fifth
(`AUDIT_5`) continued it and revised records recorded earlier that day; a sixth (`AUDIT_6`)
took the records still without a reference and corrected the French aFRR capacity market's
days in operation. `sourced`
re-records a legacy record with the source it was checked against. A seventh session
(`AUDIT_7`), on the next day, records its corrections with that day's knowledge time, so
``--known-on 2026-12-06`` still shows what the sixth believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from markets.kinds import Market
from markets.rules import Confidence, Rule, rule, rule_id

AUDIT_DAY = date(2026, 12, 6)
"""Knowledge time of the audit's records: the day they were recorded."""

AUDIT_REVIEW_BY = date(2027, 1, 31)
"""By when the audit's uncertain records are checked again."""

AUDIT: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "i17-rules (rule-audit session of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch i17-rules)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the first audit session."""

AUDIT_2: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "h17audit (rule-audit session 2 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-h17audit)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the second audit session."""

AUDIT_3: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "compliance (rule-audit session 3 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-compliance)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the third audit session (the
German records left without a reference)."""

AUDIT_4: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "mktfacts (rule-audit session 4 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-mktfacts)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the fourth audit session (market
records of the five countries still without a reference after the first three)."""

AUDIT_5: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "mktfacts-2 (rule-audit session 5 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-mktfacts)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the fifth audit session (the
fourth's work continued on its branch: market records still without a reference, and
same-day revisions of records the earlier sessions recorded that day)."""

AUDIT_6: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "facts (rule-audit session 6 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-facts)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the sixth audit session (the 72
market records still without a reference after the fifth, and the French aFRR capacity
auction's suspension of 2022-2024)."""

AUDIT_7_DAY = date(2026, 12, 7)
"""Knowledge time of the seventh audit session's records."""

AUDIT_7: dict[str, Any] = {
    "recorded_at": AUDIT_7_DAY,
    "retrieved_on": AUDIT_7_DAY,
    "recorded_by": "facts3 (rule-audit session 7 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-facts3)",
}
"""Keyword arguments of `markets.rules.rule` for a record of the seventh audit session (the
60 market records still without a reference after the sixth, and the French aFRR capacity
auction's suspension corrected against RTE's own account of it)."""

M = TypeVar("M", bound=Market)

_KEEP: Any = object()


@dataclass(frozen=True)
class Reading:
    """What the audit read for one record: the record of `parameter` valid from
    `valid_from`, re-recorded with this source.

    `value` and `valid_to` default to the old record's (a confirmation); a different
    value is a correction and says so in `note`. `note` None keeps the old note.
    """

    parameter: str
    valid_from: date | str
    source: str
    reference: str
    document_version: str
    confidence: Confidence = Confidence.CONFIRMED
    note: str | None = None
    value: Any = _KEEP
    valid_to: Any = _KEEP
    review_by: date | None = None


def sourced(market: M, *readings: Reading, session: dict[str, Any] | None = None) -> M:
    """`market` with each reading's record re-recorded: a record recorded on `AUDIT_DAY`
    by the audit `session` (default: the second, `AUDIT_2`), with the reading's source,
    reference and confidence, superseding the legacy record it checked (which stays
    readable with ``--known-on``).

    A record the audit already re-recorded that day (or first recorded that day) is
    revised: the reading becomes the next `revision` of that day and supersedes the
    revision believed until then, so no id is taken twice and the earlier record stays in
    the history. A reading naming no record is a `ValueError` naming it.
    """
    updates: dict[str, tuple[Rule[Any], ...]] = {}
    for reading in readings:
        history = updates.get(reading.parameter, getattr(market, reading.parameter))
        start = (
            reading.valid_from
            if isinstance(reading.valid_from, date)
            else date.fromisoformat(reading.valid_from)
        )
        where = f"{market.country} {market.market.value}.{reading.parameter} from {start}"
        same_day = [e for e in history if e.valid_from == start and e.recorded_at == AUDIT_DAY]
        old = [e for e in history if e.valid_from == start and e.recorded_at < AUDIT_DAY]
        if same_day:
            entry = max(same_day, key=lambda e: e.revision)
        elif len(old) == 1:
            (entry,) = old
        else:
            raise ValueError(f"{where}: no single legacy record to re-record")
        revision = entry.revision + 1 if entry.recorded_at == AUDIT_DAY else 1
        confidence = Confidence(reading.confidence)
        new = rule(
            entry.value if reading.value is _KEEP else reading.value,
            start,
            reading.source,
            confidence,
            entry.note if reading.note is None else reading.note,
            valid_to=entry.valid_to if reading.valid_to is _KEEP else reading.valid_to,
            reference=reading.reference,
            document_version=reading.document_version,
            review_by=(reading.review_by or AUDIT_REVIEW_BY)
            if confidence is Confidence.UNCERTAIN
            else None,
            supersedes=(
                rule_id(
                    market.country,
                    market.market,
                    reading.parameter,
                    start,
                    entry.recorded_at,
                    entry.revision,
                ),
            ),
            revision=revision,
            **(AUDIT_2 if session is None else session),
        )
        # records recorded on one day stay in valid-time order (the kit's `rules` check)
        updates[reading.parameter] = tuple(
            sorted((*history, new), key=lambda e: (e.recorded_at, e.revision, e.valid_from))
        )
    return market.with_rules(**updates)
