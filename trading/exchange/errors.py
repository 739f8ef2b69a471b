"""Errors an exchange gateway raises, each naming the bid and the rule it hit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ExchangeError(Exception):
    """Anything an exchange gateway refuses."""


@dataclass(frozen=True)
class Refusal:
    """Why one bid of a submission was refused: its position, its key and each problem."""

    index: int
    bid_key: str | None
    problems: tuple[str, ...]

    def describe(self) -> str:
        """One line for people."""
        name = f"bid #{self.index}" + (f" ({self.bid_key})" if self.bid_key else "")
        return f"{name}: " + "; ".join(self.problems)


class SubmissionRefusedError(ExchangeError):
    """A submission with at least one bad bid; none of its bids is held."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals: tuple[Refusal, ...] = tuple(refusals)
        lines = "\n".join(f"  {r.describe()}" for r in self.refusals)
        super().__init__(
            f"submission refused, no bid of it is held; {len(self.refusals)} bad bid(s):\n{lines}"
        )


class GateClosedError(ExchangeError):
    """A withdrawal at or after the gate closure of the bid's product."""


class UnknownBidError(ExchangeError, KeyError):
    """A bid key the exchange does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown bid"
