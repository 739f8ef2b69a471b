"""aFRR activation in the engine's simulation: a real activation pattern scaled to the band held.

The pattern comes from the German aFRR data of ../shared/data
(`afrr_de_smard_2022-01-01_2022-01-08_15min.csv`, SMARD, CC BY 4.0): per quarter hour the
activated energy over the procured capacity, up and down, averaged over the week per
quarter hour of the day (a quarter hour with no procured capacity published is left out
of its mean). Activation is used only about 5 % of the time on average in that week.

In the engine, a zone holding `band_up` and `band_down` MW in quarter hour q is asked, in
the first half of q, up at 2 x share_up[q] x band_up (at most the band) and in the second
half down at 2 x share_down[q] x band_down: the quarter hour's up and down energies are
then the pattern's, as steps a TSO's setpoint would make. Without the file there is no
activation, and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pendulum

from dispatch.clock import DispatchClock
from dispatch.protocols.iec104.steps import Step
from dispatch.schedule import Schedule
from regulatory.assets.base import BalancingProduct
from trading.engine.positions import PositionBook, quarter_start

PATTERN_FILE = "afrr_de_smard_2022-01-01_2022-01-08_15min.csv"
QUARTERS_PER_DAY = 96

BandSource = Callable[[datetime], tuple[float, float]]
"""(up, down) aFRR band sold at a UTC instant [MW, both >= 0]."""


def schedule_band(schedule: Callable[[], Schedule], zone: str) -> BandSource:
    """The aFRR band `zone` sold in the quarter hour of an instant, read from the schedule
    in force (`schedule()`: its `capacity_sold_mw`, the capacity cleared) [MW]; 0 outside
    the schedule."""

    def band(at: datetime) -> tuple[float, float]:
        found = schedule()
        quarter = quarter_start(at)
        if not found.start <= quarter < found.end:
            return 0.0, 0.0
        sold = found.capacity_sold_mw.get(zone, {})
        k = found.index.index(quarter)
        up = sold.get(BalancingProduct.AFRR_POS)
        down = sold.get(BalancingProduct.AFRR_NEG)
        return (0.0 if up is None else float(up[k]), 0.0 if down is None else float(down[k]))

    return band


@dataclass(frozen=True)
class ActivationPattern:
    """Share of the band activated up and down per quarter hour of the day [0..1]."""

    up: np.ndarray
    down: np.ndarray
    source: str

    def shares(self, quarter: int) -> tuple[float, float]:
        """(up, down) share in quarter hour `quarter` of the day (92/100-quarter days wrap)."""
        k = quarter % len(self.up)
        return float(self.up[k]), float(self.down[k])


NO_ACTIVATION = ActivationPattern(
    np.zeros(QUARTERS_PER_DAY),
    np.zeros(QUARTERS_PER_DAY),
    f"none: {PATTERN_FILE} not found, no aFRR activation simulated",
)


def german_pattern(folder: Path | None) -> ActivationPattern:
    """The pattern of the real German week (see the module docstring), or `NO_ACTIVATION`."""
    path = None if folder is None else folder / PATTERN_FILE
    if path is None or not path.is_file():
        return NO_ACTIVATION
    frame = pd.read_csv(path)
    up = frame["activated_volume_pos_mwh"] / (frame["procured_capacity_pos_mw"] * 0.25)
    down = frame["activated_volume_neg_mwh"] / (frame["procured_capacity_neg_mw"] * 0.25)
    slot = np.arange(len(frame)) % QUARTERS_PER_DAY  # the file starts at local midnight
    means = []
    for share in (up, down):
        by_slot = pd.Series(share.clip(0.0, 1.0).to_numpy()).groupby(slot).mean()
        means.append(by_slot.reindex(range(QUARTERS_PER_DAY)).fillna(0.0).to_numpy())
    return ActivationPattern(
        means[0],
        means[1],
        f"real activation pattern: DE aFRR {PATTERN_FILE} (SMARD, CC BY 4.0), activated "
        "over procured energy per quarter hour of the day, mean of the week",
    )


class PatternActivation:
    """A zone's aFRR activation [MW, + up] from `pattern` and the band sold: `band` (e.g.
    `schedule_band`, the schedule's capacity sold), by default the band `book` holds. The
    request never exceeds that band."""

    def __init__(
        self,
        book: PositionBook,
        zone: str,
        clock: DispatchClock,
        pattern: ActivationPattern,
        *,
        on: bool = True,
        band: BandSource | None = None,
    ) -> None:
        self.book, self.zone, self.clock, self.pattern, self.on = book, zone, clock, pattern, on
        self.band: BandSource = band if band is not None else self._book_band
        self._cache: tuple[datetime, float, float] | None = None

    def _book_band(self, at: datetime) -> tuple[float, float]:
        return self.book.band_mw(self.zone, "pos", at), self.book.band_mw(self.zone, "neg", at)

    def activation_mw(self, t: float) -> float:
        """Requested deviation from the schedule at `t` [MW], + upward.

        `t` is the dispatcher's tick time (the clock's seconds): on a scaled clock the clock
        has moved on while the tick computes, and the activation of the tick's own instant
        is asked for, so a caller that asks again for the same `t` gets the same answer.
        """
        if not self.on:
            return 0.0
        at = self.clock.utc() - timedelta(seconds=self.clock.now() - t)
        quarter = quarter_start(at)
        if self._cache is None or self._cache[0] != quarter:
            q = int(self.book.periods.searchsorted(pd.Timestamp(quarter)))
            share_up, share_down = self.pattern.shares(q)
            band_up, band_down = self.band(quarter)
            up = min(1.0, 2.0 * share_up) * band_up
            down = min(1.0, 2.0 * share_down) * band_down
            self._cache = (quarter, up, down)
        first_half = (at - quarter).total_seconds() < 450.0
        return self._cache[1] if first_half else -self._cache[2]


def tso_steps(
    book: PositionBook, zone: str, pattern: ActivationPattern, quarters: int
) -> list[Step]:
    """The setpoints a simulated TSO sends `zone` for the day's first `quarters` quarter
    hours [MW, + up], times in seconds from the day's start: the same steps as
    `PatternActivation` asks (up in the first half of each quarter hour, down in the
    second, from the band `book` holds), then a drop of the link at the end."""
    steps = []
    for q in range(quarters):
        quarter = book.periods[q].to_pydatetime()
        share_up, share_down = pattern.shares(q)
        up = min(1.0, 2.0 * share_up) * book.band_mw(zone, "pos", quarter)
        down = min(1.0, 2.0 * share_down) * book.band_mw(zone, "neg", quarter)
        steps.append(Step(900.0 * q, round(up, 3)))
        steps.append(Step(900.0 * q + 450.0, round(-down, 3)))
    steps.append(Step(900.0 * quarters, None))
    return steps


PATTERN_ZONE_TZ = "Europe/Berlin"
"""The pattern's quarter hours are of the German day (its file starts at local midnight)."""


def pattern_share_steps(
    pattern: ActivationPattern, start: datetime, duration_s: float
) -> list[Step]:
    """A TSO's steps over `duration_s` [s] from `start` (UTC) playing `pattern` by the
    quarter hour of the German delivery day, counted from its local midnight as the
    engine's `PatternActivation` counts (a 92- or 100-quarter DST day: `shares` wraps),
    each step's `setpoint_mw` a SHARE of the band [-1..1, + up], not MW: up at 2 x share_up
    in the first half of each quarter hour, down at 2 x share_down in the second, times in
    seconds from `start`; then a drop of the link at `duration_s`. The sender turns shares
    into MW from the band it reads back (`SimulatedTso.band_share`)."""
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s={duration_s} must be a finite number of seconds > 0")
    first = quarter_start(start)
    steps: list[Step] = []
    k = 0
    while (first - start).total_seconds() + 900.0 * k < duration_s:
        quarter = first + timedelta(minutes=15 * k)
        local = pendulum.instance(quarter).in_timezone(PATTERN_ZONE_TZ)
        midnight = local.start_of("day").in_timezone("UTC")
        q = int((quarter - midnight).total_seconds() // 900)
        share_up, share_down = pattern.shares(q)
        begin = (quarter - start).total_seconds()
        halves = ((begin, min(1.0, 2.0 * share_up)), (begin + 450.0, -min(1.0, 2.0 * share_down)))
        for at_s, share in halves:
            if at_s + 450.0 <= 0.0 or at_s >= duration_s:
                continue  # this half ended before the start, or begins after the end
            steps.append(Step(max(0.0, at_s), round(share, 4)))
        k += 1
    steps.append(Step(duration_s, None))
    return steps


def holds_band(book: PositionBook, zone: str, quarters: int) -> bool:
    """Whether `zone` holds an aFRR band in any of the day's first `quarters` quarter hours."""
    return any(
        book.band_mw(zone, direction, book.periods[q].to_pydatetime()) > 0
        for q in range(quarters)
        for direction in ("pos", "neg")
    )
