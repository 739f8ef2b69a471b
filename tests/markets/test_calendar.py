"""Delivery days in market-local time, turned into UTC grids: DST days are 23 or 25 hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from markets.calendar import (
    day_end,
    day_hours,
    day_start,
    delivery_day_of,
    iso_z,
    local_boundaries,
    local_label,
    local_to_utc,
    mtu_index,
    mtu_starts,
    to_utc,
)
from markets.countries import at, be, de, fr, nl

TIMEZONES = sorted({plugin.PLUGIN.timezone for plugin in (de, nl, be, fr, at)})
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)
NORMAL = date(2026, 6, 15)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_midnight(day: date, timezone: str) -> datetime:
    """Local midnight of `day` in UTC, computed with the standard library (not markets)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def test_every_built_in_country_uses_a_central_european_time_zone():
    assert TIMEZONES == [
        "Europe/Amsterdam",
        "Europe/Berlin",
        "Europe/Brussels",
        "Europe/Paris",
        "Europe/Vienna",
    ]


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize(
    ("day", "quarter_hours", "hours"),
    [
        (SPRING, 92, 23),
        (AUTUMN, 100, 25),
        (NORMAL, 96, 24),
        (date(2026, 3, 28), 96, 24),
        (date(2026, 3, 30), 96, 24),
        (date(2026, 10, 24), 96, 24),
        (date(2026, 10, 26), 96, 24),
        (date(2024, 2, 29), 96, 24),
        (date(2025, 3, 30), 92, 23),
        (date(2025, 10, 26), 100, 25),
    ],
)
def test_a_delivery_day_has_92_or_100_quarter_hours_on_dst_days_and_96_otherwise(
    timezone, day, quarter_hours, hours
):
    starts = mtu_starts(day, timezone, 15)
    assert len(starts) == quarter_hours
    assert len(mtu_starts(day, timezone, 60)) == hours
    assert day_hours(day, timezone) == hours
    # The grid runs from local midnight to the next local midnight, 15 real minutes apart.
    assert starts[0] == day_start(day, timezone) == local_midnight(day, timezone)
    assert day_end(day, timezone) == local_midnight(day + timedelta(days=1), timezone)
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(starts))
    assert starts[-1] + timedelta(minutes=15) == day_end(day, timezone)


def test_the_spring_grid_skips_the_missing_local_hour():
    labels = [local_label(s, "Europe/Berlin")[11:] for s in mtu_starts(SPRING, "Europe/Berlin", 15)]
    assert labels[7:9] == ["01:45 CET", "03:00 CEST"]
    assert not any(label.startswith("02:") for label in labels)


def test_the_autumn_grid_has_the_repeated_local_hour_twice():
    labels = [local_label(s, "Europe/Berlin")[11:] for s in mtu_starts(AUTUMN, "Europe/Berlin", 60)]
    assert labels[:5] == ["00:00 CEST", "01:00 CEST", "02:00 CEST", "02:00 CET", "03:00 CET"]


def test_a_wall_clock_time_inside_the_spring_forward_gap_moves_forward_by_the_gap():
    # 02:30 does not exist in Berlin on 2026-03-29; it means 03:30 CEST.
    moment = local_to_utc(SPRING, time(2, 30), "Europe/Berlin")
    assert moment == utc(2026, 3, 29, 1, 30)
    assert local_label(moment, "Europe/Berlin") == "2026-03-29 03:30 CEST"
    assert local_to_utc(SPRING, time(2, 0), "Europe/Berlin") == utc(2026, 3, 29, 1, 0)
    # Times on either side of the gap are unchanged.
    assert local_to_utc(SPRING, time(1, 59), "Europe/Berlin") == utc(2026, 3, 29, 0, 59)
    assert local_to_utc(SPRING, time(3, 0), "Europe/Berlin") == utc(2026, 3, 29, 1, 0)


def test_an_ambiguous_autumn_wall_clock_time_means_its_first_occurrence():
    moment = local_to_utc(AUTUMN, time(2, 30), "Europe/Berlin")
    assert moment == utc(2026, 10, 25, 0, 30)
    assert local_label(moment, "Europe/Berlin") == "2026-10-25 02:30 CEST"
    # The second occurrence (CET) is an hour later and is not what the wall time means.
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert to_utc(second) == moment + timedelta(hours=1)


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_local_to_utc_is_always_timezone_aware_utc(timezone):
    moment = local_to_utc(NORMAL, time(12), timezone)
    assert moment.tzinfo is UTC
    assert moment == datetime(2026, 6, 15, 12, tzinfo=ZoneInfo(timezone))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda naive: to_utc(naive), id="to_utc"),
        pytest.param(lambda naive: iso_z(naive), id="iso_z"),
        pytest.param(lambda naive: delivery_day_of(naive, "Europe/Berlin"), id="delivery_day_of"),
        pytest.param(lambda naive: local_label(naive, "Europe/Berlin"), id="local_label"),
    ],
)
def test_a_naive_datetime_is_refused_with_a_clear_error(call):
    with pytest.raises(ValueError, match="naive; pass a timezone-aware datetime") as caught:
        call(datetime(2026, 6, 15, 12, 0))
    assert "2026-06-15T12:00:00" in str(caught.value)


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize(
    ("day", "block_hours"),
    [
        (SPRING, [3, 4, 4, 4, 4, 4]),
        (AUTUMN, [5, 4, 4, 4, 4, 4]),
        (NORMAL, [4, 4, 4, 4, 4, 4]),
    ],
)
def test_four_hour_blocks_follow_local_wall_clock_hours_so_a_dst_block_lasts_3_or_5_hours(
    timezone, day, block_hours
):
    bounds = local_boundaries(day, timezone, 4)
    assert len(bounds) == 7
    assert [(b - a) / timedelta(hours=1) for a, b in pairwise(bounds)] == block_hours
    assert bounds[0] == local_midnight(day, timezone)
    assert bounds[-1] == local_midnight(day + timedelta(days=1), timezone)
    assert [b.astimezone(ZoneInfo(timezone)).hour for b in bounds[:-1]] == [0, 4, 8, 12, 16, 20]


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize(("day", "blocks"), [(SPRING, 23), (AUTUMN, 25), (NORMAL, 24)])
def test_hourly_blocks_are_the_days_real_hours_23_24_or_25(timezone, day, blocks):
    bounds = local_boundaries(day, timezone, 1)
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(bounds)), bounds[:5]
    assert len(bounds) == blocks + 1
    assert bounds[0] == local_midnight(day, timezone)
    assert bounds[-1] == local_midnight(day + timedelta(days=1), timezone)


@pytest.mark.parametrize("every_hours", [0, 5, 7, -4])
def test_a_block_length_that_does_not_divide_the_day_is_refused(every_hours):
    with pytest.raises(ValueError, match="must divide 24 h"):
        local_boundaries(NORMAL, "Europe/Berlin", every_hours)


@pytest.mark.parametrize("mtu_minutes", [0, 7, 25, -15])
def test_an_mtu_that_does_not_divide_the_day_is_refused(mtu_minutes):
    with pytest.raises(ValueError, match=f"mtu_minutes={mtu_minutes} must divide a day"):
        mtu_starts(NORMAL, "Europe/Berlin", mtu_minutes)


def test_a_window_restricts_the_grid_to_part_of_the_local_day():
    starts = mtu_starts(NORMAL, "Europe/Berlin", 15, window_from=time(12))
    assert len(starts) == 48
    assert starts[0] == utc(2026, 6, 15, 10, 0)
    afternoon = mtu_starts(NORMAL, "Europe/Berlin", 60, window_from=time(12), window_to=time(14))
    assert afternoon == [utc(2026, 6, 15, 10), utc(2026, 6, 15, 11)]


@pytest.mark.parametrize(("day", "length"), [(SPRING, 92), (AUTUMN, 100), (NORMAL, 96)])
def test_mtu_index_is_a_utc_aware_index_of_the_delivery_day(day, length):
    index = mtu_index(day, "Europe/Berlin")
    assert len(index) == length
    assert index.tz is not None
    assert str(index.tz) == "UTC"
    assert index.name == "delivery_start"
    assert index[0] == local_midnight(day, "Europe/Berlin")
    assert index.is_monotonic_increasing
    assert index.is_unique
    assert len(mtu_index(day, "Europe/Berlin", 60)) == length // 4


def test_the_delivery_day_of_an_instant_is_its_local_calendar_day():
    # 23:30Z on 28 March is already 29 March in Berlin (00:30 CET).
    assert delivery_day_of(utc(2026, 3, 28, 23, 30), "Europe/Berlin") == SPRING
    assert delivery_day_of(utc(2026, 3, 28, 22, 59), "Europe/Berlin") == date(2026, 3, 28)
    # 22:30Z on 25 October is 23:30 CET, still the long day.
    assert delivery_day_of(utc(2026, 10, 25, 22, 30), "Europe/Berlin") == AUTUMN


def test_times_are_shown_in_utc_ending_z_and_in_market_local_time():
    moment = datetime(2026, 3, 28, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert iso_z(moment) == "2026-03-28T11:00:00Z"
    assert local_label(moment, "Europe/Berlin") == "2026-03-28 12:00 CET"
    assert local_label(utc(2026, 6, 15, 10), "Europe/Paris") == "2026-06-15 12:00 CEST"
    assert to_utc(moment) == utc(2026, 3, 28, 11, 0)
    assert to_utc(moment).tzinfo is UTC
