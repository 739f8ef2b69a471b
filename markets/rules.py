"""Market rules as dated, sourced data: `Rule` and the history of one parameter.

Every parameter of a market (its MTU, a price bound, a gate-closure time) is a history of
`Rule` values, oldest first. The value in force on a delivery day is the last one whose
`valid_from` is on or before that day; a change adds an entry and never edits an old one.
Each value says where it was read (`source`) and how sure we are (`confidence`, shared
with the regulatory rules): an uncertain value stays visible wherever it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from regulatory.rules import Confidence

T = TypeVar("T")

__all__ = ["Confidence", "MissingRuleError", "Rule", "in_force", "rule"]


class Rule(BaseModel, Generic[T]):
    """One value of a market parameter, in force for delivery days from `valid_from` on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    valid_from: date = Field(description="first delivery day the value applies to")
    source: str = Field(min_length=1, description="where the value was read")
    confidence: Confidence = Confidence.CONFIRMED
    note: str | None = Field(default=None, description="caveats, e.g. what is uncertain")

    @property
    def uncertain(self) -> bool:
        """Whether the value rests on conflicting, outdated or missing sources."""
        return self.confidence is Confidence.UNCERTAIN


class MissingRuleError(LookupError):
    """A market parameter has no value in force on a delivery day."""


def rule(
    value: T,
    valid_from: date | str,
    source: str,
    confidence: Confidence | str = Confidence.CONFIRMED,
    note: str | None = None,
) -> Rule[T]:
    """Shorthand for plugin data: ``rule(15, "2025-10-01", "Nord Pool", "confirmed")``.

    A `valid_from` that is not an ISO date is a `ValueError` naming the rule's value,
    source and the text given (a plugin file with many rules says which one is wrong).
    """
    if isinstance(valid_from, str):
        try:
            valid_from = date.fromisoformat(valid_from)
        except ValueError as exc:
            raise ValueError(
                f"rule {value!r} from {source!r}: valid_from={valid_from!r} is not a date "
                f"YYYY-MM-DD ({exc})"
            ) from None
    return Rule[T](
        value=value,
        valid_from=valid_from,
        source=source,
        confidence=Confidence(confidence),
        note=note,
    )


def in_force(history: Sequence[Rule[T]], day: date) -> Rule[T] | None:
    """The entry of `history` in force on delivery day `day`, or None before the first."""
    current = None
    for entry in history:
        if entry.valid_from <= day and (current is None or entry.valid_from >= current.valid_from):
            current = entry
    return current
