"""Commissioning and decommissioning dates bound when an asset is in service (rule G1).

An asset is in service on day D when ``commissioning_date <= D < decommissioning_date``;
out of service it has no balancing eligibility, and a portfolio narrowed to a day leaves it
out while saying why.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regulatory_factories import (
    MINIMAL_YAML,
    battery,
    line_of,
    load_problems,
    problems_of,
    pv,
    site,
    treat,
)

from regulatory import Battery, NothingInServiceError, Portfolio, parse_portfolio
from regulatory.assets import ASSET_MODELS

COMMISSIONED = date(2024, 3, 15)
DECOMMISSIONED = date(2026, 1, 1)


def portfolio(*assets: dict[str, object]) -> Portfolio:
    """A one-site DE portfolio holding `assets` (plain data)."""
    return Portfolio.model_validate(
        {"id": "p1", "tenant": "demo", "sites": [site(grid_connection_mw=25.0)], "assets": assets}
    )


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("end", [COMMISSIONED, COMMISSIONED - timedelta(days=1)])
def test_decommissioning_on_or_before_commissioning_names_field_value_and_rule(end: date) -> None:
    problems = problems_of(Battery, battery(decommissioning_date=end))
    assert [str(p) for p in problems] == [
        f"asset bat-07: decommissioning_date='{end.isoformat()}' is not after "
        "commissioning_date=2024-03-15 (it is the first day out of service)"
    ]


def test_decommissioning_the_day_after_commissioning_is_one_day_in_service() -> None:
    asset = Battery.model_validate(battery(decommissioning_date=COMMISSIONED + timedelta(days=1)))
    assert asset.in_service(COMMISSIONED)
    assert not asset.in_service(COMMISSIONED + timedelta(days=1))


@pytest.mark.parametrize("certified", [DECOMMISSIONED, DECOMMISSIONED + timedelta(days=30)])
def test_prequalification_certified_on_or_after_decommissioning_is_rejected(
    certified: date,
) -> None:
    data = battery(
        decommissioning_date=DECOMMISSIONED,
        prequalifications=[{"product": "fcr", "mw": 1, "certified_on": certified}],
    )
    assert [str(p) for p in problems_of(Battery, data)] == [
        f"asset bat-07: prequalifications[0].certified_on='{certified.isoformat()}' "
        "is not before decommissioning_date=2026-01-01"
    ]


def test_a_bad_decommissioning_date_in_a_file_is_reported_with_its_line() -> None:
    text = MINIMAL_YAML.replace(
        "commissioning_date: 2024-03-15",
        "commissioning_date: 2024-03-15\n    decommissioning_date: 2023-12-31",
    )
    (problem,) = load_problems(text)
    assert problem.subject == "asset b1"
    assert problem.field == "decommissioning_date"
    assert problem.value == "2023-12-31"
    assert "is not after commissioning_date=2024-03-15" in problem.rule
    assert problem.line == line_of(text, "decommissioning_date")


def test_a_file_without_a_decommissioning_date_loads_with_none() -> None:
    assert parse_portfolio(MINIMAL_YAML).asset("b1").decommissioning_date is None


@pytest.mark.parametrize("kind", sorted(ASSET_MODELS))
def test_every_kind_takes_a_decommissioning_date(kind: str) -> None:
    assert "decommissioning_date" in ASSET_MODELS[kind].model_fields


# --- in_service and service_note ---------------------------------------------------------


def test_service_notes_name_the_day_and_the_date_that_rules_it_out() -> None:
    asset = Battery.model_validate(battery(decommissioning_date=DECOMMISSIONED))
    before = COMMISSIONED - timedelta(days=1)
    assert asset.service_note(before) == ("not in service on 2024-03-14: commissioned 2024-03-15")
    assert asset.service_note(COMMISSIONED) is None
    assert asset.service_note(DECOMMISSIONED - timedelta(days=1)) is None
    assert asset.service_note(DECOMMISSIONED) == (
        "not in service on 2026-01-01: decommissioned 2026-01-01"
    )
    assert [asset.in_service(d) for d in (before, COMMISSIONED, DECOMMISSIONED)] == [
        False,
        True,
        False,
    ]


@settings(max_examples=80, deadline=None)
@given(
    start=st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    length=st.none() | st.integers(min_value=1, max_value=5000),
    day=st.dates(date(1999, 1, 1), date(2055, 1, 1)),
)
def test_in_service_is_the_half_open_interval_of_the_two_dates(
    start: date, length: int | None, day: date
) -> None:
    end = None if length is None else start + timedelta(days=length)
    asset = Battery.model_validate(battery(commissioning_date=start, decommissioning_date=end))
    expected = start <= day and (end is None or day < end)
    assert asset.in_service(day) is expected
    assert (asset.service_note(day) is None) is expected


# --- balancing eligibility ---------------------------------------------------------------


def test_a_decommissioned_asset_has_no_balancing_eligibility() -> None:
    asset = battery(
        power_charge_mw=10.0,
        power_discharge_mw=10.0,
        energy_mwh=20.0,
        decommissioning_date=DECOMMISSIONED,
        prequalifications=[{"product": "fcr", "mw": 5.0}, {"product": "afrr_pos", "mw": 10.0}],
    )
    de_site = site(grid_connection_mw=25.0)
    last_day = treat(asset, de_site, DECOMMISSIONED - timedelta(days=1))
    assert all(entry.eligible for entry in last_day.balancing)
    after = treat(asset, de_site, DECOMMISSIONED)
    for entry in after.balancing:
        assert (entry.eligible, entry.prequalified_mw) == (False, 0.0)
        assert entry.reason == "not in service on 2026-01-01: decommissioned 2026-01-01"


def test_out_of_service_is_the_reason_given_even_where_another_applies() -> None:
    asset = battery(
        metering="standard_profile",
        prequalifications=[{"product": "afrr_pos", "mw": 1.0}],
    )
    (entry,) = treat(asset, site(), COMMISSIONED - timedelta(days=1)).balancing
    assert entry.reason == "not in service on 2024-03-14: commissioned 2024-03-15"


# --- portfolios --------------------------------------------------------------------------


def test_a_portfolio_on_a_day_keeps_the_assets_in_service_and_every_site() -> None:
    whole = portfolio(
        battery(id="old", decommissioning_date=DECOMMISSIONED),
        battery(id="new", commissioning_date=date(2027, 2, 1)),
        pv(id="pv"),
    )
    day = date(2026, 6, 13)
    narrowed = whole.in_service(day)
    assert [a.id for a in narrowed.assets] == ["pv"]
    assert narrowed.sites == whole.sites
    assert narrowed.id == whole.id
    assert whole.out_of_service(day) == {
        "old": "not in service on 2026-06-13: decommissioned 2026-01-01",
        "new": "not in service on 2026-06-13: commissioned 2027-02-01",
    }


def test_a_portfolio_whose_assets_are_all_in_service_is_returned_as_it_is() -> None:
    whole = portfolio(battery(), pv())
    assert whole.in_service(date(2025, 1, 1)) is whole
    assert whole.out_of_service(date(2025, 1, 1)) == {}


def test_nothing_in_service_raises_naming_the_day_and_the_dates() -> None:
    whole = portfolio(
        battery(id="old", decommissioning_date=DECOMMISSIONED),
        battery(id="new", commissioning_date=date(2027, 2, 1)),
    )
    day = date(2026, 6, 13)
    with pytest.raises(NothingInServiceError) as caught:
        whole.in_service(day)
    assert str(caught.value) == (
        "portfolio p1 has no asset in service on 2026-06-13 "
        "(old: decommissioned 2026-01-01; new: commissioned 2027-02-01)"
    )
    assert caught.value.day == day
    assert caught.value.causes == {
        "old": "decommissioned 2026-01-01",
        "new": "commissioned 2027-02-01",
    }
    # The whole portfolio still reports on that day.
    assert set(whole.out_of_service(day)) == {"old", "new"}
    assert len(whole.treatments(day)) == 2


def test_nothing_in_service_counts_the_assets_it_does_not_name() -> None:
    assets = [battery(id=f"b{k}", commissioning_date=date(2030, 1, 1)) for k in range(7)]
    with pytest.raises(NothingInServiceError, match=r"b4: commissioned 2030-01-01; and 2 more\)"):
        Portfolio.model_validate(
            {
                "id": "p1",
                "tenant": "demo",
                "sites": [site(grid_connection_mw=25.0)],
                "assets": assets,
            }
        ).in_service(date(2026, 1, 1))
