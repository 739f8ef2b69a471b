"""Market rules as bitemporal, sourced records: `Rule` and the history of one parameter.

Every parameter of a market (its MTU, a price bound, a gate-closure time) is a history of
`Rule` records. Each record has two times:

- valid time: the delivery days it applies to, ``valid_from`` up to ``valid_to``
  (exclusive; None = until the next record of the history takes over);
- knowledge time: when the project came to hold it (``recorded_at``) and, once a correction
  replaced it, when it stopped being believed (``superseded_at``).

A correction never edits a record: it adds records (``recorded_at`` = the day of the
correction) that name the ones they replace in ``supersedes``; the market fills in the old
records' ``superseded_at`` from that. So "what did we believe on K about day D" has one
answer (`in_force` with ``known_on=K``) and the old belief stays readable.

Each record says where it was read (``source``: a title; ``reference``: a URL or document
reference; ``document_version``; ``retrieved_on``), how sure we are (``confidence``, shared
with the regulatory rules), who recorded and who approved it (four eyes: never the same
person) and, for an uncertain value, by when it must be reviewed (``review_by``).

Records that do not state their knowledge time were entered before it was kept: they carry
`LEGACY_RECORDED_AT`, the day the rule base entered the project, and `LEGACY_RECORDER`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulatory.rules import (
    LEGACY_RECORDED_AT,
    LEGACY_RECORDER,
    Confidence,
    is_known,
    same_person,
)

T = TypeVar("T")

__all__ = [
    "LEGACY_RECORDED_AT",
    "LEGACY_RECORDER",
    "Confidence",
    "MissingRuleError",
    "Rule",
    "in_force",
    "is_known",
    "rule",
    "rule_id",
]


def rule_id(
    country: str,
    market: str,
    parameter: str,
    valid_from: date | str,
    recorded_at: date | str = LEGACY_RECORDED_AT,
    revision: int = 1,
) -> str:
    """The id of a market rule record: ``CC:market:parameter:valid_from:recorded_at``.

    Computed from what identifies the record, so it is the same in every run and every
    installation: ``FR:intraday_auction:mtu_minutes:2024-06-14:2026-11-22``. A record that
    corrects one recorded the same day for the same valid-from date is its `revision` 2
    (then 3, ...) and its id ends in ``:r2``; the first record of a day keeps the id without
    a suffix, so no id given out before changes.
    """
    if revision < 1:
        raise ValueError(f"rule id of {country} {market}.{parameter}: revision={revision} < 1")
    start = valid_from.isoformat() if isinstance(valid_from, date) else valid_from
    known = recorded_at.isoformat() if isinstance(recorded_at, date) else recorded_at
    market = getattr(market, "value", market)
    base = f"{country}:{market}:{parameter}:{start}:{known}"
    return base if revision == 1 else f"{base}:r{revision}"


class Rule(BaseModel, Generic[T]):
    """One record of a market parameter: a value, its valid time, knowledge time and source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    valid_from: date = Field(description="first delivery day the value applies to")
    valid_to: date | None = Field(
        default=None,
        description="first delivery day it no longer applies to; None = until the next record",
    )
    source: str = Field(min_length=1, description="title of where the value was read")
    confidence: Confidence = Confidence.CONFIRMED
    note: str | None = Field(default=None, description="caveats, e.g. what is uncertain")
    reference: str | None = Field(
        default=None, description="URL or document reference a reviewer can open"
    )
    document_version: str | None = Field(
        default=None, description="version or date of the document read"
    )
    retrieved_on: date | None = Field(default=None, description="when the source was read")
    recorded_at: date = Field(
        default=LEGACY_RECORDED_AT, description="when the project came to hold this record"
    )
    revision: int = Field(
        default=1,
        ge=1,
        description="1 for the first record of this valid-from date recorded on "
        "`recorded_at`; a correction recorded the same day takes the next number (its id "
        "ends in ':r2', ...), since the day is the finest knowledge time kept",
    )
    recorded_by: str = Field(default=LEGACY_RECORDER, min_length=1)
    approved_by: str | None = Field(
        default=None, description="who approved the record; never its author (four eyes)"
    )
    review_by: date | None = Field(
        default=None, description="uncertain values: the day by which to check them again"
    )
    supersedes: tuple[str, ...] = Field(
        default=(), description="ids of the records of this history that this one corrects"
    )
    superseded_at: date | None = Field(
        default=None,
        description="when a correction replaced this record; filled in by the market "
        "from the correcting record's `supersedes`",
    )
    id: str | None = Field(
        default=None, description="filled in by the market: see `rule_id`; not written by hand"
    )

    @model_validator(mode="after")
    def _times_and_eyes(self) -> Rule[T]:
        where = f"rule {self.value!r} from {self.valid_from} ({self.source!r})"
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"{where}: valid_to={self.valid_to} must be after valid_from")
        if self.superseded_at is not None and self.superseded_at < self.recorded_at:
            raise ValueError(
                f"{where}: superseded_at={self.superseded_at} is before recorded_at="
                f"{self.recorded_at}"
            )
        if self.approved_by is not None and same_person(self.approved_by, self.recorded_by):
            raise ValueError(
                f"{where}: approved_by={self.approved_by!r} is its author (recorded_by="
                f"{self.recorded_by!r}); four eyes: another person approves a record"
            )
        return self

    @property
    def uncertain(self) -> bool:
        """Whether the value rests on conflicting, outdated or missing sources."""
        return self.confidence is Confidence.UNCERTAIN

    def known_on(self, day: date | None) -> bool:
        """Whether the project held this record on `day` (None: today's belief)."""
        return is_known(self.recorded_at, self.superseded_at, day)

    def covers(self, day: date) -> bool:
        """Whether delivery day `day` lies in the record's valid time."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def provenance(self) -> dict[str, Any]:
        """The record's times and provenance, JSON-ready (dates as ISO text)."""

        def iso(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": iso(self.valid_to),
            "recorded_at": self.recorded_at.isoformat(),
            "superseded_at": iso(self.superseded_at),
            "source": self.source,
            "reference": self.reference,
            "document_version": self.document_version,
            "retrieved_on": iso(self.retrieved_on),
            "confidence": self.confidence.value,
            "note": self.note,
            "recorded_by": self.recorded_by,
            "approved_by": self.approved_by,
            "review_by": iso(self.review_by),
            "supersedes": list(self.supersedes),
        }


class MissingRuleError(LookupError):
    """A market parameter has no value in force on a delivery day."""


def rule(
    value: T,
    valid_from: date | str,
    source: str,
    confidence: Confidence | str = Confidence.CONFIRMED,
    note: str | None = None,
    **provenance: Any,
) -> Rule[T]:
    """Shorthand for plugin data: ``rule(15, "2025-10-01", "Nord Pool", "confirmed")``.

    `provenance` takes the other fields of `Rule` (``reference=``, ``recorded_at=``,
    ``review_by=``, ...); dates may be ISO text. A date that is not an ISO date is a
    `ValueError` naming the rule's value, source, field and the text given (a plugin file
    with many rules says which one is wrong).
    """
    fields: dict[str, Any] = {"valid_from": valid_from, **provenance}
    for name in ("valid_from", "valid_to", "retrieved_on", "recorded_at", "review_by"):
        text = fields.get(name)
        if isinstance(text, str):
            try:
                fields[name] = date.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(
                    f"rule {value!r} from {source!r}: {name}={text!r} is not a date "
                    f"YYYY-MM-DD ({exc})"
                ) from None
    return Rule[T](
        value=value, source=source, confidence=Confidence(confidence), note=note, **fields
    )


def in_force(history: Sequence[Rule[T]], day: date, known_on: date | None = None) -> Rule[T] | None:
    """The record of `history` in force on delivery day `day`, as known on `known_on`.

    Among the records held on `known_on` (None: today's belief) whose valid time covers
    `day`, the one with the latest `valid_from` (then the latest `recorded_at`, then the
    latest `revision` of that day); None before the first.
    """
    current = None
    for entry in history:
        if not entry.known_on(known_on) or not entry.covers(day):
            continue
        if current is None or (entry.valid_from, entry.recorded_at, entry.revision) >= (
            current.valid_from,
            current.recorded_at,
            current.revision,
        ):
            current = entry
    return current


def edition(history: Iterable[Rule[T]], known_on: date | None = None) -> list[Rule[T]]:
    """The records of `history` held on `known_on` (None: today), in valid-time order."""
    return sorted(
        (entry for entry in history if entry.known_on(known_on)),
        key=lambda e: (e.valid_from, e.recorded_at, e.revision),
    )


def with_ids(country: str, market: str, parameter: str, history: Iterable[Any]) -> tuple[Any, ...]:
    """`history` with each record's id filled in and each corrected record's
    ``superseded_at`` set to the day of the first correction naming it.

    Records may be `Rule`s or their dicts. A ``supersedes`` id that names no record of the
    history, two records with one id, or a same-day revision that does not supersede the
    revision before it, is a `ValueError` naming them.
    """
    entries = [e if isinstance(e, Rule) else Rule[Any].model_validate(e) for e in history]
    ids = [
        rule_id(country, market, parameter, e.valid_from, e.recorded_at, e.revision)
        for e in entries
    ]
    seen: set[str] = set()
    for own in ids:
        if own in seen:
            raise ValueError(
                f"two records of {country} {market}.{parameter} have the id {own}: a "
                "correction recorded on the day of the record it corrects takes the next "
                "`revision`"
            )
        seen.add(own)
    # A market copied to another country keeps its records' `supersedes`: they are matched
    # by market, parameter, valid-from and recorded-at, and renamed to this country's ids.
    by_key = {i.split(":", 1)[1]: i for i in ids}
    replaced: dict[str, date] = {}
    renamed: list[tuple[str, ...]] = []
    for entry, own in zip(entries, ids, strict=True):
        targets = tuple(by_key.get(t.split(":", 1)[-1], t) for t in entry.supersedes)
        renamed.append(targets)
        for target in targets:
            if target not in ids:
                raise ValueError(
                    f"{own} supersedes {target}, which is not a record of "
                    f"{country} {market}.{parameter} (its records: {', '.join(ids)})"
                )
            if target == own:
                raise ValueError(f"{own} supersedes itself")
            known = replaced.get(target)
            replaced[target] = entry.recorded_at if known is None else min(known, entry.recorded_at)
    for entry, own, targets in zip(entries, ids, renamed, strict=True):
        if entry.revision > 1:
            follows = rule_id(
                country, market, parameter, entry.valid_from, entry.recorded_at, entry.revision - 1
            )
            if follows not in targets:
                raise ValueError(
                    f"{own} is revision {entry.revision} of its day but does not supersede "
                    f"{follows}, the record it revises"
                )
    out = []
    for entry, own, targets in zip(entries, ids, renamed, strict=True):
        update: dict[str, Any] = {"id": own, "supersedes": targets}
        if own in replaced:
            when = replaced[own]
            if entry.superseded_at is not None:
                when = min(when, entry.superseded_at)
            if when < entry.recorded_at:
                raise ValueError(
                    f"{own} is corrected by a record recorded on {when}, before it was "
                    "recorded itself"
                )
            update["superseded_at"] = when
        out.append(entry.model_copy(update=update))
    return tuple(out)
