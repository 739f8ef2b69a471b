"""Physical validation of single assets: every broken rule names its field, value and rule."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from regulatory_factories import (
    BUILDERS,
    battery,
    by_field,
    chp,
    ev_fleet,
    flexible_load,
    heat_pump,
    problems_of,
    pv,
)

from regulatory import CHP, Battery, EVFleet, FlexibleLoad, HeatPump
from regulatory.assets import ASSET_MODELS, validate_asset
from regulatory.problems import problems_from_validation_error
from regulatory.windows import DailyWindow

FAST = settings(max_examples=60, deadline=None)

positive = st.floats(min_value=0.01, max_value=1000.0, allow_nan=False)
fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
efficiency = st.floats(min_value=0.0, max_value=1.0, exclude_min=True, allow_nan=False)
minute_times = st.builds(
    time, hour=st.integers(min_value=0, max_value=23), minute=st.integers(min_value=0, max_value=59)
)


def wall_clock_hours(start: time, end: time) -> float:
    """Duration of a daily window by the calendar: an end at or before the start is next day."""
    day = date(2024, 1, 10)
    begin, finish = datetime.combine(day, start), datetime.combine(day, end)
    if finish <= begin:
        finish += timedelta(days=1)
    return (finish - begin).total_seconds() / 3600


def bound_in(rule: str) -> float:
    """The number after the first '=' of a rule such as 'exceeds energy_mwh=4'."""
    return float(rule.split("=", 1)[1].split()[0])


# --- every kind --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_kind_validates_and_injection_follows_the_sign_convention(kind):
    asset = ASSET_MODELS[kind].model_validate(BUILDERS[kind]())
    low, high = asset.injection_bounds_mw()
    assert low <= high
    if asset.withdraws_energy:
        assert low < 0, "a consumer or storage withdraws: negative net injection"
    else:
        assert low >= 0 < high, "a generator only injects: positive net injection"
    if kind == "battery":
        assert high > 0


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_unknown_field_is_rejected_by_name(kind):
    problems = problems_of(ASSET_MODELS[kind], BUILDERS[kind](colour="red"))
    assert len(problems) == 1
    assert problems[0].field == "colour"
    assert problems[0].value == "red"
    assert "not a known field" in problems[0].rule


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"prequalifications": [{"product": "fcr", "mw": 1, "pmw": 1}]},
            "prequalifications[0].pmw",
        ),
        (
            {"availability": [{"start_local": "08:00", "end_local": "09:00", "days": [1]}]},
            "availability[0].days",
        ),
        ({"support": {"reference_value_eur_per_mwh": 50, "strike": 1}}, "support.strike"),
    ],
)
def test_unknown_nested_field_is_rejected_with_its_path(overrides, field):
    data = pv(**overrides) if "support" in overrides else battery(**overrides)
    model = ASSET_MODELS[data["kind"]]
    problems = problems_of(model, data)
    assert [p.field for p in problems] == [field]


# --- batteries ---------------------------------------------------------------------------


@FAST
@given(
    energy=positive,
    excess=st.floats(min_value=1e-3, max_value=500.0),
    soc_max_share=st.none() | st.floats(min_value=0.01, max_value=1.0),
)
def test_battery_soc_min_above_energy_is_named(energy, excess, soc_max_share):
    soc_min = energy + excess
    extra = {} if soc_max_share is None else {"soc_max_mwh": energy * soc_max_share}
    problems = problems_of(Battery, battery(energy_mwh=energy, soc_min_mwh=soc_min, **extra))
    problem = by_field(problems)["soc_min_mwh"]
    assert problem.value == soc_min
    assert problem.rule.startswith("exceeds energy_mwh=")
    assert bound_in(problem.rule) == pytest.approx(energy, rel=1e-5)
    assert str(problem).startswith(f"asset bat-07: soc_min_mwh={soc_min} exceeds energy_mwh=")
    # Nothing else is wrong with this battery, so nothing else is reported.
    assert set(by_field(problems)) == {"soc_min_mwh"}


@FAST
@given(
    energy=positive,
    shares=st.lists(fraction, min_size=3, max_size=3).map(sorted),
    eta_charge=efficiency,
    eta_discharge=efficiency,
    charge=positive,
    discharge=positive,
)
def test_consistent_battery_validates(energy, shares, eta_charge, eta_discharge, charge, discharge):
    low_share, initial_share, high_share = shares
    # a share so small its product underflows to 0 MWh means no upper level was given
    soc_max = energy * high_share if energy * high_share > 0 else None
    data = battery(
        energy_mwh=energy,
        soc_min_mwh=energy * low_share,
        soc_max_mwh=soc_max,
        soc_initial_mwh=energy * initial_share,
        efficiency_charge=eta_charge,
        efficiency_discharge=eta_discharge,
        power_charge_mw=charge,
        power_discharge_mw=discharge,
        prequalifications=[
            {"product": "fcr", "mw": (charge + discharge) / 2},
            {"product": "afrr_pos", "mw": charge + discharge},
        ],
    )
    asset = Battery.model_validate(data)
    low, high = asset.soc_bounds_mwh()
    assert low == energy * low_share
    assert high == (energy if soc_max is None else soc_max)
    assert asset.injection_bounds_mw() == (-charge, discharge)
    assert asset.rating_mw() == max(charge, discharge)


@FAST
@given(
    field=st.sampled_from(["efficiency_charge", "efficiency_discharge"]),
    value=st.floats(max_value=0.0, allow_nan=False)
    | st.floats(min_value=1.0, exclude_min=True, allow_nan=False),
    model=st.sampled_from(["battery", "ev_fleet"]),
)
def test_efficiency_outside_unit_interval_is_rejected_by_name(field, value, model):
    data = BUILDERS[model](**{field: value})
    problems = problems_of(ASSET_MODELS[model], data)
    assert [p.field for p in problems] == [field]
    assert problems[0].value == value
    assert "greater than 0" in problems[0].rule or "less than or equal to 1" in problems[0].rule


@pytest.mark.parametrize("value", [1.0, 0.5, 1e-9])
def test_efficiency_bounds_are_open_at_zero_and_closed_at_one(value):
    assert Battery.model_validate(battery(efficiency_charge=value)).efficiency_charge == value
    problems = problems_of(Battery, battery(efficiency_discharge=0.0))
    assert [p.field for p in problems] == ["efficiency_discharge"]


def test_battery_soc_max_above_energy_and_initial_outside_limits_are_named():
    problems = by_field(problems_of(Battery, battery(soc_max_mwh=5.0)))
    assert set(problems) == {"soc_max_mwh"}
    assert problems["soc_max_mwh"].rule == "exceeds energy_mwh=4.0"

    problems = by_field(problems_of(Battery, battery(soc_min_mwh=3.0, soc_max_mwh=2.0)))
    assert set(problems) == {"soc_min_mwh"}
    assert problems["soc_min_mwh"].rule == "exceeds soc_max_mwh=2.0"

    problems = by_field(
        problems_of(Battery, battery(soc_min_mwh=1.0, soc_max_mwh=3.0, soc_initial_mwh=3.5))
    )
    assert set(problems) == {"soc_initial_mwh"}
    assert problems["soc_initial_mwh"].rule == "is outside the SoC limits [1, 3] MWh"


def test_validate_asset_problems_name_the_field_without_the_kind_tag():
    """`validate_asset` validates any kind; its problems read like the kind model's own."""
    data = battery(soc_min_mwh=5.0, efficiency_charge=1.5)
    with pytest.raises(ValidationError) as caught:
        validate_asset(data)
    fields = [p.field for p in problems_from_validation_error(caught.value, "asset bat-07")]
    assert fields == ["efficiency_charge"]
    with pytest.raises(ValidationError) as caught:
        validate_asset(battery(soc_min_mwh=5.0))
    problems = problems_from_validation_error(caught.value, "asset bat-07")
    assert [str(p) for p in problems] == ["asset bat-07: soc_min_mwh=5.0 exceeds energy_mwh=4.0"]


# --- CHP ---------------------------------------------------------------------------------


@FAST
@given(power_max=positive, excess=st.floats(min_value=1e-3, max_value=100.0))
def test_chp_min_stable_above_max_is_rejected(power_max, excess):
    min_stable = power_max + excess
    data = chp(power_max_mw=power_max, power_min_stable_mw=min_stable)
    problem = by_field(problems_of(CHP, data))["power_min_stable_mw"]
    assert problem.value == min_stable
    assert problem.rule.startswith("exceeds power_max_mw=")
    assert bound_in(problem.rule) == pytest.approx(power_max, rel=1e-5)


@FAST
@given(power_max=positive, share=fraction)
def test_chp_min_stable_up_to_max_validates(power_max, share):
    asset = CHP.model_validate(chp(power_max_mw=power_max, power_min_stable_mw=power_max * share))
    assert asset.injection_bounds_mw() == (0.0, power_max)


# --- windows and energy requirements -----------------------------------------------------


@FAST
@given(start=minute_times, end=minute_times)
def test_window_duration_wraps_midnight(start, end):
    window = DailyWindow(start_local=start, end_local=end)
    assert window.duration_h == pytest.approx(wall_clock_hours(start, end), abs=1e-9)
    assert 0 < window.duration_h <= 24
    assert window.label() == f"{start:%H:%M}-{end:%H:%M}"


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("18:00", "07:00", 13.0),
        ("20:00", "05:30", 9.5),
        ("06:00", "22:00", 16.0),
        ("00:00", "00:00", 24.0),
    ],
)
def test_window_durations_of_the_operators_examples(start, end, hours):
    assert DailyWindow(start_local=start, end_local=end).duration_h == hours


@pytest.mark.parametrize(("start", "end"), [("06:00:00", "06:00:30"), ("18:00:30", "07:00:00")])
def test_window_with_seconds_is_rejected_or_measured_exactly(start, end):
    """Seconds must not be dropped silently: 06:00:00-06:00:30 is not a 24 h window."""
    try:
        window = DailyWindow(start_local=start, end_local=end)
    except ValidationError:
        return
    assert window.duration_h == pytest.approx(
        wall_clock_hours(time.fromisoformat(start), time.fromisoformat(end)), abs=1e-9
    )


@pytest.mark.parametrize("value", [1800, 18, 18.0, 0, 64800])
@pytest.mark.parametrize("section", ["availability", "energy_requirements"])
def test_times_given_as_numbers_are_rejected(value, section):
    window = {"start_local": value, "end_local": "07:00"}
    if section == "energy_requirements":
        window["energy_mwh"] = 1.0
    problems = problems_of(EVFleet, ev_fleet(**{section: [window]}))
    assert [p.field for p in problems] == [f"{section}[0].start_local"]
    assert problems[0].value == value
    assert "HH:MM" in problems[0].rule


CONSUMERS = {
    # kind: (model, builder, field that limits withdrawal)
    "flexible_load": (FlexibleLoad, flexible_load, "consumption_max_mw"),
    "heat_pump": (HeatPump, heat_pump, "power_max_mw"),
    "ev_fleet": (EVFleet, ev_fleet, "charge_power_max_mw"),
}


def consumer(kind: str, power: float, window: dict) -> dict:
    _, build, power_field = CONSUMERS[kind]
    extra = {"energy_mwh": 1e6} if kind == "ev_fleet" else {}  # room for any session
    floor = {"flexible_load": "consumption_min_mw", "heat_pump": "power_min_mw"}.get(kind)
    if floor:
        extra[floor] = 0.0
    return build(**{power_field: power, "energy_requirements": [window], **extra})


@FAST
@given(
    kind=st.sampled_from(sorted(CONSUMERS)),
    start=minute_times,
    end=minute_times,
    power=st.floats(min_value=0.1, max_value=50.0),
    factor=st.floats(min_value=1.001, max_value=10.0),
)
def test_energy_requirement_beyond_power_times_window_is_rejected(kind, start, end, power, factor):
    hours = wall_clock_hours(start, end)
    energy = power * hours * factor
    window = {"start_local": start, "end_local": end, "energy_mwh": energy}
    model, _, power_field = CONSUMERS[kind]
    problems = by_field(problems_of(model, consumer(kind, power, window)))
    assert set(problems) == {"energy_requirements[0].energy_mwh"}
    problem = problems["energy_requirements[0].energy_mwh"]
    assert problem.value == energy
    label = f"{start:%H:%M}-{end:%H:%M}"
    assert problem.rule.endswith(f"window {label}")
    assert f"{hours:g} h window" in problem.rule
    assert f"{power_field}=" in problem.rule


@FAST
@given(
    kind=st.sampled_from(sorted(CONSUMERS)),
    start=minute_times,
    end=minute_times,
    power=st.floats(min_value=0.1, max_value=50.0),
    share=st.floats(min_value=0.01, max_value=1.0),
)
def test_energy_requirement_within_power_times_window_validates(kind, start, end, power, share):
    energy = power * wall_clock_hours(start, end) * share
    window = {"start_local": start, "end_local": end, "energy_mwh": energy}
    model = CONSUMERS[kind][0]
    asset = model.model_validate(consumer(kind, power, window))
    assert asset.energy_requirements[0].energy_mwh == energy


def test_overnight_ev_session_is_measured_across_midnight():
    """18:00-07:00 at 1 MW reaches 13 MWh: 12 MWh fits, 14 MWh does not."""
    window = {"start_local": "18:00", "end_local": "07:00", "energy_mwh": 12.0}
    EVFleet.model_validate(
        ev_fleet(charge_power_max_mw=1.0, energy_mwh=20.0, energy_requirements=[window])
    )
    problems = problems_of(
        EVFleet,
        ev_fleet(
            charge_power_max_mw=1.0,
            energy_mwh=20.0,
            energy_requirements=[{**window, "energy_mwh": 14}],
        ),
    )
    assert [str(p) for p in problems] == [
        "asset ev-01: energy_requirements[0].energy_mwh=14.0 exceeds the 13 MWh that "
        "charge_power_max_mw=1.0 can draw in the 13 h window 18:00-07:00"
    ]


def test_ev_session_larger_than_the_fleet_battery_is_rejected():
    window = {"start_local": "18:00", "end_local": "07:00", "energy_mwh": 12.0}
    problems = problems_of(EVFleet, ev_fleet(energy_mwh=10.0, energy_requirements=[window]))
    assert [(p.field, p.rule) for p in problems] == [
        ("energy_requirements[0].energy_mwh", "exceeds the fleet's energy_mwh=10.0")
    ]


# --- prequalifications -------------------------------------------------------------------


@FAST
@given(
    charge=st.floats(min_value=0.1, max_value=100.0),
    discharge=st.floats(min_value=0.1, max_value=100.0),
    product=st.sampled_from(["fcr", "afrr_pos", "afrr_neg"]),
    factor=st.floats(min_value=1.001, max_value=10.0),
)
def test_prequalification_above_flexible_range_is_rejected(charge, discharge, product, factor):
    span = charge + discharge
    limit = span / 2 if product == "fcr" else span
    mw = limit * factor
    data = battery(
        power_charge_mw=charge,
        power_discharge_mw=discharge,
        prequalifications=[{"product": product, "mw": mw}],
    )
    problems = by_field(problems_of(Battery, data))
    assert set(problems) == {"prequalifications[0].mw"}
    problem = problems["prequalifications[0].mw"]
    assert problem.value == mw
    assert problem.rule.endswith(f" of {limit:g} MW")
    assert ("half the flexible range" in problem.rule) == (product == "fcr")


@FAST
@given(
    charge=st.floats(min_value=0.1, max_value=100.0),
    discharge=st.floats(min_value=0.1, max_value=100.0),
    product=st.sampled_from(["fcr", "afrr_pos", "afrr_neg"]),
    share=st.floats(min_value=0.01, max_value=1.0),
)
def test_prequalification_within_flexible_range_validates(charge, discharge, product, share):
    limit = (charge + discharge) / (2 if product == "fcr" else 1)
    data = battery(
        power_charge_mw=charge,
        power_discharge_mw=discharge,
        prequalifications=[{"product": product, "mw": limit * share}],
    )
    assert Battery.model_validate(data).prequalifications[0].mw == limit * share


def test_flexible_range_of_loads_and_renewables_bounds_prequalification():
    # A 1-3 MW load can move 2 MW: 2 MW aFRR fits, 2.5 MW does not; FCR at most 1 MW.
    FlexibleLoad.model_validate(flexible_load(prequalifications=[{"product": "afrr_pos", "mw": 2}]))
    problems = problems_of(
        FlexibleLoad, flexible_load(prequalifications=[{"product": "afrr_pos", "mw": 2.5}])
    )
    assert [(p.field, p.rule) for p in problems] == [
        ("prequalifications[0].mw", "exceeds the flexible range of 2 MW")
    ]
    problems = problems_of(
        FlexibleLoad, flexible_load(prequalifications=[{"product": "fcr", "mw": 1.5}])
    )
    assert [(p.field, p.rule) for p in problems] == [
        ("prequalifications[0].mw", "exceeds half the flexible range (FCR is symmetric) of 1 MW")
    ]
    # A PV plant that cannot be curtailed has no controllable range at all.
    problems = problems_of(
        ASSET_MODELS["pv"],
        pv(curtailable=False, prequalifications=[{"product": "afrr_neg", "mw": 1}]),
    )
    assert [p.field for p in problems] == ["prequalifications[0].mw"]


def test_prequalification_certified_before_commissioning_is_rejected():
    data = battery(prequalifications=[{"product": "fcr", "mw": 1, "certified_on": "2024-03-14"}])
    problems = problems_of(Battery, data)
    assert [str(p) for p in problems] == [
        "asset bat-07: prequalifications[0].certified_on='2024-03-14' "
        "is before commissioning_date=2024-03-15"
    ]


# --- several problems at once ------------------------------------------------------------

FAULTS = {
    "soc_min": "soc_min_mwh",
    "soc_max": "soc_max_mwh",
    "pq_mw": "prequalifications[0].mw",
    "certified": "prequalifications[1].certified_on",
    "duplicate": "prequalifications[2].product",
}


@FAST
@given(faults=st.sets(st.sampled_from(sorted(FAULTS)), min_size=1))
def test_several_physical_issues_in_one_asset_are_reported_together(faults):
    pqs = [
        {"product": "afrr_pos", "mw": 100.0 if "pq_mw" in faults else 1.0},
        {"product": "afrr_neg", "mw": 1.0},
    ]
    if "certified" in faults:
        pqs[1]["certified_on"] = date(2020, 1, 1)
    if "duplicate" in faults:
        pqs.append({"product": "afrr_pos", "mw": 1.0})
    data = battery(
        energy_mwh=4.0,
        soc_min_mwh=5.0 if "soc_min" in faults else 0.0,
        soc_max_mwh=6.0 if "soc_max" in faults else None,
        prequalifications=pqs,
    )
    problems = problems_of(Battery, data)
    assert sorted(p.field for p in problems) == sorted(FAULTS[f] for f in faults)


def test_several_field_errors_in_one_asset_are_reported_together():
    data = battery(efficiency_charge=1.5, power_charge_mw=-1, colour="red", energy_mwh=math.nan)
    fields = {p.field for p in problems_of(Battery, data)}
    assert fields == {"efficiency_charge", "power_charge_mw", "colour", "energy_mwh"}
