"""`Violation`: one rule of `docs/plan-rules.md` a plan breaks, and how they are collected.

A rule that holds per quarter hour is evaluated as an array; consecutive quarter hours in
which the same rule breaks for the same subject become one violation with a span
(`quarter_hour` its first quarter hour, `until` the end of its last), whose `amount` is the
worst breach in the span.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

TOLERANCE = 1e-6
"""Allowed slack on equalities and bounds [MW, MWh, MWh_th] (plan-rules.md, conventions)."""

CENT = 0.01
"""Allowed difference of an accounting figure from its recomputation [EUR]."""


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    - `rule`: the rule's id and name in `docs/plan-rules.md`, e.g. ``"B3 SoC range"``.
    - `asset_or_subject`: the asset id, or the site, zone, product, pool or account.
    - `quarter_hour`: UTC start (ISO 8601 with ``Z``) of the first quarter hour concerned;
      None for a rule over the whole day.
    - `amount`: how far the rule is broken, >= 0, in `unit` (the worst over a span).
    - `unit`: ``MW``, ``MWh``, ``MWh_th``, ``h``, ``EUR``, ``EUR/MWh`` ...
    - `detail`: what was found against what the rule allows, for people.
    - `until`: UTC end (exclusive) of the last quarter hour of a span; None for one quarter
      hour or none.
    """

    rule: str
    asset_or_subject: str
    quarter_hour: str | None
    amount: float
    unit: str
    detail: str
    until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


class Findings:
    """Violations as they are found, with the day's quarter hours to name them.

    `labels[t]` is quarter hour t's UTC start, `labels[n]` the end of the day (all ISO Z).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.found: list[Violation] = []

    @property
    def n(self) -> int:
        """Number of quarter hours of the day."""
        return len(self.labels) - 1

    def add(
        self,
        rule: str,
        subject: str,
        amount: float,
        unit: str,
        detail: str,
        *,
        at: int | None = None,
        until: int | None = None,
    ) -> None:
        """One violation at quarter hour `at` (None: the whole day), spanning to `until`
        (exclusive index; None or at + 1: that quarter hour alone)."""
        start = None if at is None else self.labels[at]
        end = None if until is None or at is None or until <= at + 1 else self.labels[until]
        self.found.append(Violation(rule, subject, start, float(amount), unit, detail, end))

    def series(
        self,
        rule: str,
        subject: str,
        excess: np.ndarray,
        unit: str,
        describe: Callable[[int], str],
        *,
        tolerance: float = TOLERANCE,
    ) -> None:
        """Violations where `excess[t] > tolerance`, one per run of consecutive quarter hours.

        `excess` is how far the rule is broken in each quarter hour (<= 0 where it holds);
        `describe(t)` says what was found in the run's worst quarter hour t.
        """
        for start, end in runs(np.asarray(excess) > tolerance):
            worst = start + int(np.argmax(excess[start:end]))
            count = end - start
            text = describe(worst)
            if count > 1:
                text += f" (worst of {count} quarter hours, at {self.labels[worst]})"
            self.add(rule, subject, float(excess[worst]), unit, text, at=start, until=end)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of consecutive True values in `mask`."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(edges[i]), int(edges[i + 1])) for i in range(0, len(edges), 2)]


def state_runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of equal consecutive values (e.g. of an on/off series)."""
    values = np.asarray(values)
    if len(values) == 0:
        return []
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    bounds = [0, *change.tolist(), len(values)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
