"""The Schedule contract: JSON, file and frame round trips, every problem named, portfolio fit."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dispatch import Schedule, read_schedule, write_schedule
from dispatch.schedule import EnergyMarket
from regulatory import BalancingProduct, Portfolio, ProblemsError, read_portfolio
from regulatory.problems import Problem

BERLIN = ZoneInfo("Europe/Berlin")
CREATED = datetime(2026, 5, 31, 11, 0, tzinfo=UTC)
Data = dict[str, Any]


# --- builders -------------------------------------------------------------------------------


def small_portfolio() -> Portfolio:
    """A 2 MW battery and a 5 MW PV plant in DE_LU; a heat pump and a fixed PV plant in NL."""
    site = {"metering_point": "m", "balancing_group": "bg"}
    return Portfolio.model_validate(
        {
            "id": "p1",
            "tenant": "demo",
            "sites": [
                {"id": "s-de", "country": "DE", "bidding_zone": "DE_LU"}
                | {"control_area": "Amprion", "grid_connection_mw": 30, **site},
                {"id": "s-nl", "country": "NL", "bidding_zone": "NL"}
                | {"control_area": "TenneT NL", "grid_connection_mw": 10, **site},
            ],
            "assets": [
                {"id": "bat-07", "kind": "battery", "site": "s-de"}
                | {"commissioning_date": date(2024, 3, 15), "energy_mwh": 4.0}
                | {"power_charge_mw": 2.0, "power_discharge_mw": 2.0}
                | {"efficiency_charge": 0.95, "efficiency_discharge": 0.95},
                {"id": "pv-01", "kind": "pv", "site": "s-de"}
                | {"commissioning_date": date(2024, 5, 1), "rated_power_mw": 5.0},
                {"id": "hp-01", "kind": "heat_pump", "site": "s-nl"}
                | {"commissioning_date": date(2024, 1, 1), "power_max_mw": 1.5, "cop": 3.0},
                {"id": "pv-nl", "kind": "pv", "site": "s-nl", "curtailable": False}
                | {"commissioning_date": date(2024, 5, 1), "rated_power_mw": 2.0},
            ],
        }
    )


def plain(**overrides: Any) -> Data:
    """A valid four-quarter-hour schedule of `small_portfolio` as JSON-ready data."""
    data: Data = {
        "portfolio_id": "p1",
        "plan_id": "plan-1",
        "created_at": "2026-05-31T11:00:00Z",
        "source": "optimiser run 42",
        "start": "2026-06-01T10:00:00Z",
        "end": "2026-06-01T11:00:00Z",
        "resolution_minutes": 15,
        "index": [f"2026-06-01T10:{m:02d}:00Z" for m in (0, 15, 30, 45)],
        "injection_mw": {
            "bat-07": [1.0, 1.0, -1.0, 0.0],
            "pv-01": [3.0, 3.0, 3.0, 3.0],
            "hp-01": [-1.0, -1.0, -1.0, -1.0],
            "pv-nl": [1.0, 1.0, 1.0, 1.0],
        },
        "bands_mw": {"bat-07": {"fcr": [0.5] * 4, "afrr_pos": [0.5] * 4}},
        "positions_mw": {
            "DE_LU": {"day_ahead": [3.0, 3.0, 1.0, 2.0], "intraday": [1.0] * 4},
            "NL": {"day_ahead": [0.0] * 4},
        },
        "capacity_sold_mw": {"DE_LU": {"fcr": [0.5] * 4}},
    }
    return {**data, **overrides}


def problems_of(data: Data, portfolio: Portfolio | None = None) -> list[Problem]:
    with pytest.raises(ProblemsError) as caught:
        Schedule.from_json(json.dumps(data), portfolio=portfolio)
    return caught.value.problems


def find(problems: list[Problem], subject: str, field: str, rule: str = "") -> Problem:
    """The one problem about `subject` and `field` whose rule says `rule`; fails listing all
    problems if there is none or more than one."""
    hits = [p for p in problems if (p.subject, p.field) == (subject, field) and rule in p.rule]
    assert len(hits) == 1, "\n".join(str(p) for p in problems)
    return hits[0]


def assert_named(problem: Problem, value: Any, *fragments: str) -> None:
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(problem.value), problem
    else:
        assert problem.value == value, problem
    for fragment in fragments:
        assert fragment in problem.rule, problem
    assert str(problem).startswith(f"{problem.subject}: {problem.field}="), problem


def local_day(day: date, zone: ZoneInfo = BERLIN) -> pd.DatetimeIndex:
    """The UTC quarter-hour starts of local day `day` in `zone`."""
    first = datetime.combine(day, datetime.min.time(), zone)
    after = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return pd.date_range(first, after, freq="15min", inclusive="left").tz_convert("UTC")


def schedule_for(portfolio: Portfolio, index: pd.DatetimeIndex) -> Schedule:
    """Each asset swings around the middle of its injection bounds over the day, with an eighth
    of each prequalification as band; the pool totals are what the assets add up to."""
    swing = np.sin(np.linspace(0, 2 * np.pi, len(index), endpoint=False)) / 4
    injection = pd.DataFrame(
        {
            a.id: sum(a.injection_bounds_mw()) / 2 + swing * a.flexible_range_mw()
            for a in portfolio.assets
        },
        index=index.rename("quarter_hour"),
    )
    zone_of = {a.id: portfolio.site_of(a).bidding_zone for a in portfolio.assets}
    bands = pd.DataFrame(
        [
            {"asset_id": a.id, "product": pq.product.value, "mw": pq.mw / 8}
            for a in portfolio.assets
            for pq in a.prequalifications
        ]
    ).merge(pd.DataFrame({"quarter_hour": index}), how="cross")
    by_zone = injection.T.groupby(zone_of).sum().T.rename_axis(columns="zone")
    planned = by_zone.stack().rename("mw").reset_index()
    positions = pd.concat(
        [
            planned.assign(market="day_ahead", mw=planned["mw"] * 0.75),
            planned.assign(market="intraday", mw=planned["mw"] * 0.25),
        ]
    )
    capacity = (
        bands.assign(zone=bands["asset_id"].map(zone_of))
        .groupby(["quarter_hour", "zone", "product"], as_index=False)["mw"]
        .sum()
    )
    return Schedule.from_frames(
        injection,
        portfolio_id=portfolio.id,
        plan_id="sample-day",
        bands=bands,
        positions=positions,
        capacity=capacity,
        created_at=CREATED,
        source="test",
    )


@pytest.fixture(scope="module")
def sample() -> Portfolio:
    return read_portfolio(Path(__file__).resolve().parents[2] / "data" / "sample_portfolio.yaml")


# --- round trips ----------------------------------------------------------------------------


def test_json_round_trip_keeps_every_value_and_writes_utc_with_z():
    schedule = Schedule.from_json(json.dumps(plain()))
    text = schedule.to_json()
    assert Schedule.from_json(text) == schedule
    data = json.loads(text)
    stamps = [data["created_at"], data["start"], data["end"], *data["index"]]
    assert all(s.endswith("Z") for s in stamps)
    assert data == {
        **plain(),
        "position_tolerance_mw": 1e-06,
        "schedule_id": schedule.schedule_id,
        "bid_ids": [],
    }


def test_schedule_id_follows_the_content_and_survives_a_round_trip():
    schedule = Schedule.model_validate(plain())
    assert str(schedule.schedule_id).startswith("sch-")
    assert Schedule.model_validate(plain()).schedule_id == schedule.schedule_id
    assert Schedule.from_json(schedule.to_json()).schedule_id == schedule.schedule_id
    other_version = Schedule.model_validate({**plain(), "plan_id": "plan-2"})
    assert other_version.schedule_id != schedule.schedule_id
    changed = plain()
    first = next(iter(changed["injection_mw"]))
    changed["injection_mw"][first] = [v + 0.5 for v in changed["injection_mw"][first]]
    assert Schedule.model_validate(changed).schedule_id != schedule.schedule_id
    named = Schedule.model_validate({**plain(), "schedule_id": "ops-7", "bid_ids": ["b1", "b2"]})
    assert (named.schedule_id, named.bid_ids) == ("ops-7", ("b1", "b2"))
    assert Schedule.from_json(named.to_json()) == named


def test_file_round_trip_replaces_the_file_without_leaving_temporaries(tmp_path):
    schedule = Schedule.model_validate(plain())
    path = tmp_path / "plan.json"
    path.write_text("old", encoding="utf-8")
    assert write_schedule(schedule, path) == path
    assert read_schedule(path) == schedule
    assert read_schedule(path, portfolio=small_portfolio()) == schedule
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_frames_round_trip_and_shapes():
    schedule = Schedule.model_validate(plain())
    injection = schedule.injection_frame()
    assert list(injection.columns) == ["bat-07", "pv-01", "hp-01", "pv-nl"]
    assert str(injection.index.tz) == "UTC"
    assert injection.index.name == "quarter_hour"
    assert injection.loc[pd.Timestamp("2026-06-01T10:30Z"), "bat-07"] == -1.0
    bands = schedule.bands_frame()
    assert list(bands.columns) == ["quarter_hour", "asset_id", "product", "mw"]
    assert len(bands) == 8
    assert set(bands["product"]) == {"fcr", "afrr_pos"}
    assert list(schedule.positions_frame().columns) == ["quarter_hour", "zone", "market", "mw"]
    rebuilt = Schedule.from_frames(
        injection,
        portfolio_id="p1",
        plan_id="plan-1",
        bands=bands,
        positions=schedule.positions_frame(),
        capacity=schedule.capacity_frame(),
        created_at=CREATED,
        source="optimiser run 42",
    )
    assert rebuilt == schedule


def test_empty_long_frames_keep_their_columns():
    data = plain(bands_mw={}, capacity_sold_mw={})
    schedule = Schedule.model_validate(data)
    for frame in (schedule.bands_frame(), schedule.capacity_frame()):
        assert frame.empty
        assert list(frame.columns)[-1] == "mw"


# --- accessors ------------------------------------------------------------------------------


def test_accessors_find_the_quarter_hour_containing_a_moment():
    schedule = Schedule.model_validate(plain())
    assert schedule.assets() == ("bat-07", "pv-01", "hp-01", "pv-nl")
    assert schedule.quarter_hours()[0] == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert len(schedule.quarter_hours()) == 4
    assert schedule.planned_mw("bat-07", datetime(2026, 6, 1, 10, 29, 59, tzinfo=UTC)) == 1.0
    assert schedule.planned_mw("bat-07", datetime(2026, 6, 1, 10, 30, tzinfo=UTC)) == -1.0
    assert schedule.planned_mw("bat-07", datetime(2026, 6, 1, 12, 44, tzinfo=BERLIN)) == -1.0
    assert schedule.bands_at("bat-07", datetime(2026, 6, 1, 10, 50, tzinfo=UTC)) == {
        BalancingProduct.FCR: 0.5,
        BalancingProduct.AFRR_POS: 0.5,
        BalancingProduct.AFRR_NEG: 0.0,
    }
    assert set(schedule.bands_at("pv-01", datetime(2026, 6, 1, 10, tzinfo=UTC)).values()) == {0.0}


@pytest.mark.parametrize(
    ("asset_id", "at", "error"),
    [
        ("bat-07", datetime(2026, 6, 1, 11, 0, tzinfo=UTC), KeyError),
        ("bat-07", datetime(2026, 6, 1, 9, 59, tzinfo=UTC), KeyError),
        ("ghost", datetime(2026, 6, 1, 10, 0, tzinfo=UTC), KeyError),
        ("bat-07", datetime(2026, 6, 1, 10, 0), ValueError),
    ],
)
def test_accessors_refuse_what_the_schedule_does_not_cover(asset_id, at, error):
    schedule = Schedule.model_validate(plain())
    with pytest.raises(error):
        schedule.planned_mw(asset_id, at)
    with pytest.raises(error):
        schedule.bands_at(asset_id, at)


# --- structural problems --------------------------------------------------------------------

ME = "schedule plan-1"


def _set(path: tuple[str, ...], value: Any) -> Callable[[Data], None]:
    def apply(data: Data) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return apply


def _index(*minutes: int, end: int) -> Callable[[Data], None]:
    """Quarter hours and end at these minutes after 10:00Z."""

    def at(minute: int) -> str:
        moment = datetime(2026, 6, 1, 10, tzinfo=UTC) + timedelta(minutes=minute)
        return moment.isoformat().replace("+00:00", "Z")

    def apply(data: Data) -> None:
        data["index"] = [at(m) for m in minutes]
        data["end"] = at(end)

    return apply


STRUCTURE_CASES = [
    pytest.param(
        _set(("index",), ["2026-06-01T10:00:00Z", "2026-06-01T10:15:00", *plain()["index"][2:]]),
        (ME, "index", "2026-06-01T10:15:00", "is naive", "entry 1"),
        id="naive",
    ),
    pytest.param(
        _set(("start",), "2026-06-01T12:00:00+02:00"),
        (ME, "start", "2026-06-01T12:00:00+02:00", "is not UTC"),
        id="not-utc",
    ),
    pytest.param(
        _set(("created_at",), "2026-05-31T11:00:00"),
        (ME, "created_at", "2026-05-31T11:00:00", "is naive"),
        id="naive-created-at",
    ),
    pytest.param(
        _index(0, 15, 31, 45, end=60),
        (ME, "index", "2026-06-01T10:31:00Z", "15-minute grid", "entry 2"),
        id="off-grid",
    ),
    pytest.param(
        _set(("end",), "2026-06-01T11:05:00Z"),
        (ME, "end", "2026-06-01T11:05:00Z", "15-minute grid"),
        id="end-off-grid",
    ),
    pytest.param(
        _index(0, 15, 45, 60, end=75),
        (ME, "index", "2026-06-01T10:30:00Z", "is missing", "jumps from 2026-06-01T10:15:00Z"),
        id="gap",
    ),
    pytest.param(
        _index(0, 15, 15, 30, end=45),
        (ME, "index", "2026-06-01T10:15:00Z", "appears twice", "entries 1 and 2"),
        id="duplicate",
    ),
    pytest.param(
        _index(0, 30, 15, 45, end=60),
        (ME, "index", "2026-06-01T10:15:00Z", "must ascend", "entry 2"),
        id="backwards",
    ),
    pytest.param(
        _set(("start",), "2026-06-01T09:45:00Z"),
        (ME, "start", "2026-06-01T09:45:00Z", "first quarter hour of the index"),
        id="start-not-index",
    ),
    pytest.param(
        _set(("resolution_minutes",), 60),
        (ME, "resolution_minutes", 60, "must be 15"),
        id="resolution",
    ),
    pytest.param(
        _set(("injection_mw", "pv-01"), [3.0, "NaN", 3.0, "NaN"]),
        (
            "asset pv-01",
            "injection_mw",
            math.nan,
            "not a finite number",
            "at 2026-06-01T10:15:00Z",
            "1 more quarter hour",
        ),
        id="nan",
    ),
    pytest.param(
        _set(("positions_mw", "NL", "intraday"), [0.0, 0.0, "Infinity", 0.0]),
        ("zone NL", "positions_mw.intraday", math.inf, "not a finite number at 2026-06-01T10:30"),
        id="inf",
    ),
    pytest.param(
        _set(("bands_mw", "bat-07", "fcr"), [0.5, -0.5, -0.5, -0.5]),
        (
            "asset bat-07",
            "bands_mw.fcr",
            -0.5,
            "is negative at 2026-06-01T10:15:00Z",
            "2 more quarter hours",
            ">= 0",
        ),
        id="negative-band",
    ),
    pytest.param(
        _set(("capacity_sold_mw", "DE_LU", "afrr_neg"), [-1.0] * 4),
        ("zone DE_LU", "capacity_sold_mw.afrr_neg", -1.0, "is negative"),
        id="negative-capacity",
    ),
    pytest.param(
        _set(("injection_mw", "hp-01"), [-1.0] * 3),
        ("asset hp-01", "len(injection_mw)", 3, "the 4 quarter hours of the index"),
        id="length",
    ),
    pytest.param(
        _set(("bands_mw", "chp-9"), {"afrr_pos": [1.0] * 4}),
        ("asset chp-9", "bands_mw", ["afrr_pos"], "without a planned injection"),
        id="bands-without-injection",
    ),
    pytest.param(
        _set(("end",), "2026-06-01T10:00:00Z"),
        (ME, "end", "2026-06-01T10:00:00Z", "must be after start=2026-06-01T10:00:00Z"),
        id="end-before-start",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), STRUCTURE_CASES)
def test_each_structural_problem_names_subject_field_value_and_rule(mutate, expected):
    data = plain()
    mutate(data)
    subject, field, value, *fragments = expected
    assert_named(find(problems_of(data), subject, field, fragments[0]), value, *fragments)


def test_every_structural_problem_is_reported_at_once():
    data = plain(created_at="2026-05-31T11:00:00", resolution_minutes=60)
    _index(0, 15, 45, 60, end=75)(data)
    data["injection_mw"]["pv-01"][1] = "NaN"
    data["injection_mw"]["hp-01"] = [-1.0] * 3
    data["bands_mw"]["bat-07"]["fcr"][0] = -0.5
    data["bands_mw"]["chp-9"] = {"afrr_pos": [1.0] * 4}
    data["positions_mw"]["NL"]["intraday"] = [0.0, "Infinity", 0.0, 0.0]
    found = {(p.subject, p.field) for p in problems_of(data)}
    assert found == {
        (ME, "created_at"),
        (ME, "resolution_minutes"),
        (ME, "index"),
        ("asset pv-01", "injection_mw"),
        ("asset hp-01", "len(injection_mw)"),
        ("asset bat-07", "bands_mw.fcr"),
        ("asset chp-9", "bands_mw"),
        ("zone NL", "positions_mw.intraday"),
    }


def test_the_constructor_names_every_problem_too():
    with pytest.raises(ValueError, match="is naive") as caught:
        Schedule.model_validate(plain(created_at="2026-05-31T11:00:00", resolution_minutes=5))
    assert "resolution_minutes=5 must be 15" in str(caught.value)


def test_malformed_input_gets_one_problem_each():
    with pytest.raises(ProblemsError, match=r"is not valid JSON.*line 1") as caught:
        Schedule.from_json('{"plan_id": ', source="plan.json")
    assert caught.value.source == "plan.json"
    wrong = plain(bands_mw={"bat-07": {"mfrr": [1.0] * 4}})
    wrong["injection_mw"]["pv-01"] = "lots"
    problems = problems_of(wrong)
    assert {p.field for p in problems} == {"injection_mw.pv-01", "bands_mw.bat-07.mfrr.[key]"}


# --- against a portfolio --------------------------------------------------------------------

PORTFOLIO_CASES = [
    pytest.param(
        _set(("injection_mw", "pv-01"), [3.0, 6.0, 6.0, 3.0]),
        (
            "asset pv-01",
            "injection_mw",
            6.0,
            "above the asset's highest injection 5 MW",
            "at 2026-06-01T10:15:00Z and 1 more quarter hour",
        ),
        id="above-rating",
    ),
    pytest.param(
        _set(("injection_mw", "hp-01"), [-2.0] * 4),
        ("asset hp-01", "injection_mw", -2.0, "below the asset's lowest injection -1.5 MW"),
        id="below-bound",
    ),
    pytest.param(
        _set(("bands_mw", "bat-07", "afrr_pos"), [1.0, 0.5, 0.5, 0.5]),
        (
            "asset bat-07",
            "bands_mw.fcr+afrr_pos",
            1.5,
            "exceeds the 1 MW upward room at the planned 1 MW",
            "at 2026-06-01T10:00:00Z",
        ),
        id="upward-band",
    ),
    pytest.param(
        _set(("bands_mw", "bat-07", "afrr_neg"), [2.6] * 4),
        ("asset bat-07", "bands_mw.fcr+afrr_neg", 3.1, "exceeds the 3 MW downward room"),
        id="downward-band",
    ),
    pytest.param(
        _set(("bands_mw", "pv-nl"), {"afrr_neg": [0.5] * 4}),
        ("asset pv-nl", "bands_mw.afrr_neg", 0.5, "0 MW downward room", "flexible range 0 MW"),
        id="band-of-a-fixed-plant",
    ),
    pytest.param(
        _set(("positions_mw", "DE_LU", "intraday"), [1.0, 1.0, 1.0, 1.5]),
        (
            "zone DE_LU",
            "positions_mw",
            3.5,
            "does not equal the 3 MW planned injection",
            "at 2026-06-01T10:45:00Z",
        ),
        id="zone-mismatch",
    ),
    pytest.param(
        _set(("positions_mw", "FR"), {"day_ahead": [0.0] * 4}),
        ("zone FR", "id", "FR", "not the bidding zone of any site of portfolio p1", "DE_LU, NL"),
        id="unknown-zone",
    ),
    pytest.param(
        _set(("capacity_sold_mw", "DE_LU", "afrr_neg"), [1.0] * 4),
        ("zone DE_LU", "capacity_sold_mw.afrr_neg", 1.0, "exceeds the 0 MW of afrr_neg bands"),
        id="capacity-not-covered",
    ),
    pytest.param(
        _set(("portfolio_id",), "p2"),
        (ME, "portfolio_id", "p2", "not the id of the portfolio checked against (p1)"),
        id="other-portfolio",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), PORTFOLIO_CASES)
def test_each_portfolio_problem_names_subject_field_value_and_rule(mutate, expected):
    data = plain()
    mutate(data)
    schedule = Schedule.model_validate(data)
    subject, field, value, *fragments = expected
    assert_named(
        find(schedule.validate_against(small_portfolio()), subject, field), value, *fragments
    )


def test_a_fitting_schedule_has_no_portfolio_problems():
    assert Schedule.model_validate(plain()).validate_against(small_portfolio()) == []


# --- the sample portfolio and DST -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "count"), [(date(2026, 3, 29), 92), (date(2026, 6, 1), 96), (date(2026, 10, 25), 100)]
)
def test_a_local_day_of_the_sample_portfolio_validates(sample, day, count):
    schedule = schedule_for(sample, local_day(day))
    assert len(schedule.quarter_hours()) == count
    assert schedule.start == datetime.combine(day, datetime.min.time(), BERLIN)
    assert schedule.end - schedule.start == timedelta(minutes=15 * count)
    assert schedule.assets() == tuple(a.id for a in sample.assets)
    assert schedule.validate_against(sample) == []
    assert Schedule.from_json(schedule.to_json(), portfolio=sample) == schedule


def test_a_berlin_wall_clock_index_is_one_problem_not_a_false_gap(sample):
    index = local_day(date(2026, 3, 29)).tz_convert(BERLIN)
    injection = pd.DataFrame({"bat-de-essen-01": 0.0}, index=index)
    with pytest.raises(ProblemsError) as caught:
        Schedule.from_frames(injection, portfolio_id="sample-vpp", plan_id="p")
    [problem] = caught.value.problems
    assert_named(problem, "2026-03-29T00:00:00+01:00", "is not UTC", "first of 92 entries")


def test_unknown_asset_and_injection_above_rating_are_reported_at_once(sample, tmp_path):
    data = json.loads(schedule_for(sample, local_day(date(2026, 6, 1))).to_json())
    data["injection_mw"]["ghost-01"] = [0.0] * 96
    was = data["injection_mw"]["pv-de-eifel"]
    data["injection_mw"]["pv-de-eifel"] = [19.0] * 96  # 18 MW rated, 20 MW site
    intraday = data["positions_mw"]["DE_LU"]["intraday"]
    data["positions_mw"]["DE_LU"]["intraday"] = [
        mw + 19.0 - w for mw, w in zip(intraday, was, strict=True)
    ]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProblemsError) as caught:
        read_schedule(path, portfolio=sample)
    assert caught.value.source == str(path)
    assert_named(
        find(caught.value.problems, "asset ghost-01", "id"),
        "ghost-01",
        "is not an asset of portfolio sample-vpp",
    )
    assert_named(
        find(caught.value.problems, "asset pv-de-eifel", "injection_mw"),
        19.0,
        "above the asset's highest injection 18 MW (pv)",
        "and 95 more quarter hours",
    )
    assert len(caught.value.problems) == 2, caught.value


def test_long_frames_name_stray_repeated_and_unreadable_rows():
    index = pd.date_range("2026-06-01T10:00Z", periods=4, freq="15min")
    injection = pd.DataFrame({"bat-07": 0.0}, index=index)
    late = [pd.Timestamp("2026-06-01T12:00Z"), pd.Timestamp("2026-06-01T12:15Z")]
    bands = pd.DataFrame(
        {
            "quarter_hour": [index[0], index[0], *late, index[1]],
            "asset_id": "bat-07",
            "product": "fcr",
            "mw": [1.0, 1.0, 1.0, 1.0, "lots"],
        }
    )
    with pytest.raises(ProblemsError) as caught:
        Schedule.from_frames(
            injection,
            portfolio_id="p1",
            plan_id="p",
            bands=bands,
            positions=pd.DataFrame({"zone": ["NL"]}),
        )
    found = {(p.subject, p.field, str(p.value), p.rule) for p in caught.value.problems}
    field = "bands_mw.fcr.quarter_hour"
    assert found == {
        ("asset bat-07", field, "2026-06-01T10:00:00Z", "has two rows for one quarter hour"),
        (
            "asset bat-07",
            field,
            "2026-06-01T12:00:00Z",
            "is not a quarter hour of the injection frame's index (first of 2 rows)",
        ),
        ("asset bat-07", "bands_mw.fcr.mw", "lots", "is not a number"),
        (
            "positions_mw frame",
            "columns",
            "['zone']",
            "lacks the column(s) quarter_hour, market, mw; expected quarter_hour, zone, market, mw",
        ),
    }


def test_energy_markets_are_the_positions_keys():
    schedule = Schedule.model_validate(plain())
    assert set(schedule.positions_mw["DE_LU"]) == {EnergyMarket.DAY_AHEAD, EnergyMarket.INTRADAY}
