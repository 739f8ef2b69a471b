"""What the engine's tests set up alike: a store seeded with the sample's sites, and a live
configuration priced from the sample price folder (the server's own price readers).

A test names only what it changes: its tick, its activation pattern, its sites.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from markets.registry import default_registry
from trading.api.jobs import FolderPrices
from trading.api.server import activation_prices, exchange_prices
from trading.backtest.imbalance import ImbalancePrices
from trading.engine.activation import NO_ACTIVATION
from trading.engine.live_books import LiveConfig
from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository, upgrade

ESSEN = ("de-amp-essen", "essen")
"""The sample's Essen site (DE_LU): a 10 MW / 20 MWh battery and 8 MW of rooftop PV."""
ROTTERDAM = ("nl-rotterdam", "rotterdam")
"""The sample's Rotterdam site (NL)."""


def folder_config(**changes: Any) -> LiveConfig:
    """The live configuration `vpp serve` builds from the sample price folder (day-ahead,
    aFRR activation and imbalance prices), with no aFRR activation, 2 s ticks and 60 s
    periods unless `changes` (LiveConfig fields) say otherwise."""
    folder = FolderPrices()
    base = LiveConfig(
        prices=exchange_prices(folder),
        registry=default_registry(),
        afrr_prices=activation_prices(folder),
        imbalance=ImbalancePrices(),
        activation=NO_ACTIVATION,
        tick_s=2.0,
        period_s=60.0,
    )
    return replace(base, **changes)


def seeded_repository(
    path: Path, tenant: str = "acme", sites: tuple[tuple[str, str], ...] = (ESSEN,)
) -> Repository:
    """A migrated SQLite store at `path` holding `tenant` and one portfolio per sample site
    (sample name, portfolio id)."""
    url = f"sqlite:///{path}"
    upgrade(url)
    repo = Repository.from_url(url)
    repo.create_tenant(tenant, tenant.title())
    for sample, portfolio_id in sites:
        repo.save_portfolio(
            Actor.system(tenant), sample_site_portfolio(sample, portfolio_id, tenant)
        )
    return repo
