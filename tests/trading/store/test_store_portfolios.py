"""Portfolios: validated documents with indexed assets, versions, tenant checks."""

from __future__ import annotations

from datetime import date

import pytest
from store_factories import SAMPLE_PORTFOLIO, portfolio_document
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from regulatory import Portfolio, read_portfolio
from trading.store import Actor, InvalidInputError, Repository, TenantRecord


def test_a_saved_portfolio_round_trips(repo: Repository, tenant: str) -> None:
    saved = repo.save_portfolio(Actor.system(tenant), portfolio_document(tenant))
    assert (saved.id, saved.version, saved.tenant_id) == ("sample-vpp", 1, tenant)
    stored = repo.get_portfolio(tenant, "sample-vpp")
    assert stored == saved
    portfolio = stored.portfolio()
    assert isinstance(portfolio, Portfolio)
    expected = read_portfolio(SAMPLE_PORTFOLIO).model_copy(update={"tenant": tenant})
    assert portfolio == expected


def test_assets_are_queryable_by_kind_site_and_country(repo: Repository, tenant: str) -> None:
    repo.save_portfolio(Actor.system(tenant), portfolio_document(tenant))
    sample = read_portfolio(SAMPLE_PORTFOLIO)
    assets = repo.list_assets(tenant)
    assert len(assets) == len(sample.assets)
    batteries = repo.list_assets(tenant, kind="battery")
    assert {a.id for a in batteries} == {a.id for a in sample.assets if a.kind == "battery"}
    dutch = repo.list_assets(tenant, country="NL")
    assert dutch
    assert {a.country for a in dutch} == {"NL"}
    essen = repo.list_assets(tenant, site_id="de-amp-essen")
    assert {a.site_id for a in essen} == {"de-amp-essen"}


def test_saving_again_makes_a_new_version(repo: Repository, tenant: str) -> None:
    actor = Actor.system(tenant)
    repo.save_portfolio(actor, portfolio_document(tenant))
    document = portfolio_document(tenant, name="Renamed")
    document["assets"] = document["assets"][:3]
    saved = repo.save_portfolio(actor, document)
    assert (saved.version, saved.name) == (2, "Renamed")
    assert len(repo.list_assets(tenant)) == 3
    assert saved.updated_at > saved.created_at
    assert [p.version for p in repo.list_portfolios(tenant)] == [2]


def test_a_portfolio_of_another_tenant_is_refused(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match="tenant='demo-trading' must be the tenant"):
        repo.save_portfolio(Actor.system(tenant), portfolio_document("demo-trading"))


def test_every_problem_of_a_bad_portfolio_is_reported(repo: Repository, tenant: str) -> None:
    document = portfolio_document(tenant)
    document["assets"][0]["power_charge_mw"] = -1
    document["sites"][0]["country"] = "de"
    with pytest.raises(InvalidInputError) as caught:
        repo.save_portfolio(Actor.system(tenant), document)
    fields = {problem.field for problem in caught.value.problems}
    assert {"power_charge_mw", "country"} <= fields
    assert repo.list_portfolios(tenant) == []


def test_portfolios_are_per_tenant(repo: Repository, tenant: str) -> None:
    other: TenantRecord = repo.create_tenant("other", "Other")
    repo.save_portfolio(Actor.system(tenant), portfolio_document(tenant))
    repo.save_portfolio(Actor.system(other.id), portfolio_document(other.id))
    assert repo.get_portfolio(other.id, "sample-vpp").version == 1
    assert len(repo.list_assets(other.id)) == len(repo.list_assets(tenant))


def test_listed_assets_carry_the_service_dates_of_their_document(
    repo: Repository, tenant: str
) -> None:
    document = portfolio_document(tenant)
    (retiring,) = [a for a in document["assets"] if a["id"] == "pv-de-essen-roof"]
    retiring["decommissioning_date"] = "2030-01-01"
    repo.save_portfolio(Actor.system(tenant), document)
    by_id = {a.id: a for a in repo.list_assets(tenant)}
    sample = {a.id: a for a in read_portfolio(SAMPLE_PORTFOLIO).assets}
    assert {i: a.commissioning_date for i, a in by_id.items()} == {
        i: a.commissioning_date for i, a in sample.items()
    }
    assert by_id["pv-de-essen-roof"].decommissioning_date == date(2030, 1, 1)
    assert by_id["bat-de-lausitz"].decommissioning_date is None
