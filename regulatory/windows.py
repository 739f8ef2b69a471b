"""Recurring daily windows in a site's local time: availability and energy requirements.

Windows are written in the site's local wall-clock time because that is how operators state
them ("the fleet is plugged in from 18:00 to 07:00"); the optimiser turns them into UTC
periods with the site's time zone. A window whose end is not after its start wraps past
midnight into the next day.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

ISO_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
"""ISO weekdays: 1 = Monday ... 7 = Sunday."""

DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES

Weekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday, 1 = Monday, 7 = Sunday")]


class DailyWindow(BaseModel):
    """A window repeated on the given weekdays, from `start_local` to `end_local`.

    The window belongs to the weekday on which it starts; an end at or before the start means
    the window ends on the next day (18:00-07:00 lasts 13 h). Equal start and end is a
    full 24 h window.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_local: time = Field(description="start, local wall-clock time of the site")
    end_local: time = Field(description="end, local wall-clock time; <= start wraps midnight")
    weekdays: tuple[Weekday, ...] = Field(
        default=ISO_WEEKDAYS, description="ISO weekdays on which the window starts"
    )

    @field_validator("start_local", "end_local", mode="before")
    @classmethod
    def _time_not_number(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError("must be a wall-clock time written as 'HH:MM'")
        return value

    @field_validator("start_local", "end_local")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        if value.second or value.microsecond:
            raise ValueError("must be a whole minute, written as 'HH:MM'")
        if value.tzinfo is not None:
            raise ValueError("must be a local wall-clock time without a UTC offset")
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays_unique(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days:
            raise ValueError("must name at least one weekday (1 = Monday ... 7 = Sunday)")
        if len(set(days)) != len(days):
            raise ValueError("must not repeat a weekday")
        return tuple(sorted(days))

    @property
    def duration_h(self) -> float:
        """Length of one occurrence [h], by wall clock (DST days are handled downstream)."""
        start = self.start_local.hour * 60 + self.start_local.minute
        end = self.end_local.hour * 60 + self.end_local.minute
        minutes = (end - start) % (24 * 60) or 24 * 60
        return minutes / 60.0

    def label(self) -> str:
        """Human-readable form such as ``18:00-07:00``."""
        return f"{self.start_local:%H:%M}-{self.end_local:%H:%M}"

    def week_spans(self) -> list[tuple[int, int, int]]:
        """Each occurrence in a week by wall clock: (weekday, first minute, end minute).

        Minutes count from Monday 00:00; the end is exclusive and may pass the end of the
        week (a Sunday 22:00-06:00 window ends at minute 10 440), see `overlap_minutes`.
        """
        start = self.start_local.hour * 60 + self.start_local.minute
        length = round(self.duration_h * 60)
        return [
            (day, (day - 1) * DAY_MINUTES + start, (day - 1) * DAY_MINUTES + start + length)
            for day in self.weekdays
        ]


def overlap_minutes(first: tuple[int, int], second: tuple[int, int]) -> int:
    """Minutes two spans of the weekly cycle (first minute, end minute) share.

    Spans are those of `DailyWindow.week_spans`: an end past the week's end wraps into
    next Monday, so the second span is compared as it is and shifted by a week each way.
    """
    shared = 0
    for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES):
        low = max(first[0], second[0] + shift)
        high = min(first[1], second[1] + shift)
        shared += max(0, high - low)
    return shared


class AvailabilityWindow(DailyWindow):
    """When the asset may be dispatched; outside all windows it is unavailable."""


class EnergyRequirement(DailyWindow):
    """Energy the asset must draw from the grid within the window [MWh], e.g. EV charging."""

    energy_mwh: float = Field(gt=0, description="energy to be withdrawn within the window [MWh]")


class HeatDemand(DailyWindow):
    """Heat the site draws from a heat pump and its storage within the window [MW_th]."""

    heat_mw_th: float = Field(gt=0, description="heat drawn while the window is open [MW_th]")
