"""Consumers' own data (`regulatory/assets/loads.py`): baselines, heat demand and storage,
plug-in sessions. Every refusal names the field, the value and the rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regulatory_factories import by_field, ev_fleet, flexible_load, heat_pump, problems_of

from regulatory import EVFleet, FlexibleLoad, HeatPump
from regulatory.assets.loads import heat_by_weekday
from regulatory.windows import DailyWindow, HeatDemand, overlap_minutes

FAST = settings(max_examples=60, deadline=None)


def heat(start: str, end: str, mw_th: float, **extra: object) -> dict[str, object]:
    return {"start_local": start, "end_local": end, "heat_mw_th": mw_th, **extra}


def session(start: str, end: str, mwh: float, **extra: object) -> dict[str, object]:
    return {"start_local": start, "end_local": end, "energy_mwh": mwh, **extra}


# --- flexible load -----------------------------------------------------------------------


def test_a_load_can_be_off_but_offers_reserve_only_within_its_running_range():
    """1-3 MW load: it reaches 0 MW (off) to -3 MW, and a running load moves 2 MW."""
    load = FlexibleLoad.model_validate(flexible_load())
    assert load.injection_bounds_mw() == (-3.0, 0.0)
    assert load.flexible_range_mw() == 2.0


def test_baseline_above_the_maximum_is_refused_and_within_it_accepted():
    assert FlexibleLoad.model_validate(flexible_load(baseline_mw=3.0)).baseline_mw == 3.0
    assert FlexibleLoad.model_validate(flexible_load(baseline_mw=0.0)).baseline_mw == 0.0
    problems = problems_of(FlexibleLoad, flexible_load(baseline_mw=3.5))
    assert [str(p) for p in problems] == [
        "asset load-01: baseline_mw=3.5 exceeds consumption_max_mw=3.0"
    ]
    problems = problems_of(FlexibleLoad, flexible_load(baseline_mw=-1.0))
    assert [p.field for p in problems] == ["baseline_mw"]


# --- heat pump ---------------------------------------------------------------------------


def test_heat_demand_and_electric_requirements_are_not_both_allowed():
    data = heat_pump(
        heat_demand=[heat("06:00", "10:00", 2.0)],
        energy_requirements=[session("00:00", "00:00", 10.0)],
    )
    problems = by_field(problems_of(HeatPump, data))
    assert set(problems) == {"energy_requirements"}
    rule = problems["energy_requirements"].rule
    assert "drop energy_requirements" in rule
    assert "keep heat_demand" in rule
    assert problems["energy_requirements"].value == ["00:00-00:00"]


def test_initial_heat_must_fit_the_storage():
    ok = HeatPump.model_validate(
        heat_pump(thermal_storage_mwh_th=8.0, thermal_storage_initial_mwh_th=8.0)
    )
    assert ok.thermal_storage_initial_mwh_th == 8.0
    problems = problems_of(
        HeatPump, heat_pump(thermal_storage_mwh_th=8.0, thermal_storage_initial_mwh_th=9.0)
    )
    assert [str(p) for p in problems] == [
        "asset hp-01: thermal_storage_initial_mwh_th=9.0 exceeds thermal_storage_mwh_th=8.0"
    ]


def test_a_window_hotter_than_pump_and_storage_can_serve_is_refused():
    """2 MW at COP 3.5 make 7 MW_th; 4 MWh_th of storage adds 1 MW_th over a 4 h window:
    8 MW_th can be served there, 8.5 cannot."""
    base = {"power_max_mw": 2.0, "cop": 3.5, "thermal_storage_mwh_th": 4.0}
    HeatPump.model_validate(heat_pump(**base, heat_demand=[heat("06:00", "10:00", 8.0)]))
    problems = problems_of(HeatPump, heat_pump(**base, heat_demand=[heat("06:00", "10:00", 8.5)]))
    assert [(p.field, p.value) for p in problems] == [("heat_demand[0].heat_mw_th", 8.5)]
    assert problems[0].rule == (
        "exceeds the 8 MW_th that cop=3.5 x power_max_mw=2.0 plus thermal_storage_mwh_th=4.0 "
        "spread over the 4 h window 06:00-10:00 supply"
    )


def test_a_day_of_heat_beyond_what_the_pump_makes_in_24_hours_is_refused():
    """7 MW_th at most, 168 MWh_th a day. 6 MW_th all day (144) fits; add 4 MW_th from
    22:00 to 06:00 on Mondays and Tuesday's calendar day gets 144 + 4 x 6 = 168 (fits),
    Monday's 144 + 4 x 2 = 152; raise it to 5 MW_th and Tuesday has 174, too much."""
    base = {"power_max_mw": 2.0, "cop": 3.5, "thermal_storage_mwh_th": 50.0}
    windows = [heat("00:00", "00:00", 6.0), heat("22:00", "06:00", 4.0, weekdays=[1])]
    HeatPump.model_validate(heat_pump(**base, heat_demand=windows))
    windows[1] = heat("22:00", "06:00", 5.0, weekdays=[1])
    problems = by_field(problems_of(HeatPump, heat_pump(**base, heat_demand=windows)))
    assert set(problems) == {"heat_demand"}
    assert problems["heat_demand"].value == pytest.approx(174.0)
    assert problems["heat_demand"].rule.startswith("MWh_th on Tue exceeds the 168 MWh_th")


@FAST
@given(
    start=st.integers(0, 95),
    length=st.integers(1, 96),
    mw_th=st.floats(0.1, 10.0),
    days=st.sets(st.integers(1, 7), min_size=1),
)
def test_heat_by_weekday_adds_up_to_the_week(start, length, mw_th, days):
    """Whatever midnight a window crosses, the calendar days share all of its heat."""
    begin = f"{start // 4:02d}:{start % 4 * 15:02d}"
    stop = (start + length) % 96
    end = f"{stop // 4:02d}:{stop % 4 * 15:02d}"
    window = HeatDemand(start_local=begin, end_local=end, heat_mw_th=mw_th, weekdays=sorted(days))
    daily = heat_by_weekday((window,))
    expected = mw_th * window.duration_h * len(days)
    assert sum(daily.values()) == pytest.approx(expected)


# --- EV fleet ----------------------------------------------------------------------------


def test_overlapping_sessions_on_a_weekday_are_refused():
    data = ev_fleet(
        energy_requirements=[
            session("06:00", "12:00", 2.0, weekdays=[1, 2]),
            session("11:00", "15:00", 2.0, weekdays=[2, 3]),
        ]
    )
    problems = problems_of(EVFleet, data)
    assert [str(p) for p in problems] == [
        "asset ev-01: energy_requirements[1]='11:00-15:00' on Tue overlaps "
        "energy_requirements[0] (06:00-12:00 on Tue): a fleet's plug-in sessions must not overlap"
    ]


def test_a_session_past_midnight_overlapping_the_next_mornings_is_refused():
    """Sunday 19:00-06:00 runs into Monday; Monday's 05:00-08:00 session overlaps it."""
    data = ev_fleet(
        energy_requirements=[
            session("19:00", "06:00", 3.0, weekdays=[7]),
            session("05:00", "08:00", 1.0, weekdays=[1]),
        ]
    )
    problems = problems_of(EVFleet, data)
    assert [(p.field, p.value) for p in problems] == [("energy_requirements[1]", "05:00-08:00")]
    assert "on Mon overlaps energy_requirements[0] (19:00-06:00 on Sun)" in problems[0].rule


def test_back_to_back_and_daily_sessions_are_accepted():
    fleet = EVFleet.model_validate(
        ev_fleet(
            energy_requirements=[
                session("19:00", "06:00", 3.0),
                session("06:00", "12:00", 1.0, weekdays=[6, 7]),
            ]
        )
    )
    assert len(fleet.energy_requirements) == 2


@FAST
@given(
    a=st.tuples(st.integers(0, 10079), st.integers(1, 1440)),
    b=st.tuples(st.integers(0, 10079), st.integers(1, 1440)),
)
def test_overlap_minutes_is_symmetric_and_at_most_the_shorter_span(a, b):
    first, second = (a[0], a[0] + a[1]), (b[0], b[0] + b[1])
    shared = overlap_minutes(first, second)
    assert shared == overlap_minutes(second, first)
    assert 0 <= shared <= min(a[1], b[1])


def test_week_spans_wrap_past_sunday():
    window = DailyWindow(start_local="22:00", end_local="06:00", weekdays=[7])
    assert window.week_spans() == [(7, 6 * 1440 + 22 * 60, 7 * 1440 + 6 * 60)]
    monday_morning = (0, 6 * 60)
    assert overlap_minutes(monday_morning, window.week_spans()[0][1:]) == 6 * 60
