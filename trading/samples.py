"""Where the project's own sample inputs are, installed or in a source checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

SAMPLE_PORTFOLIO = "sample_portfolio.yaml"


def sample_portfolio_path() -> Path:
    """Path of the sample portfolio shipped with vpp-engine.

    A wheel carries it as ``trading/sample_data/``; an editable install or a source checkout
    reads ``data/`` at the repository root.
    """
    packaged = Path(str(files("trading"))) / "sample_data" / SAMPLE_PORTFOLIO
    checkout = Path(__file__).resolve().parents[1] / "data" / SAMPLE_PORTFOLIO
    for candidate in (packaged, checkout):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"sample portfolio not found at {packaged} or {checkout}; reinstall vpp-engine"
    )


def sample_site_portfolio(site_id: str, portfolio_id: str, tenant: str) -> dict[str, Any]:
    """One site of the sample portfolio as a portfolio of its own (`portfolio_id`, owned by
    `tenant`): the JSON document `POST /v1/portfolio/assets` takes."""
    from regulatory import read_portfolio

    portfolio = read_portfolio(sample_portfolio_path())
    part = portfolio.model_copy(
        update={
            "id": portfolio_id,
            "tenant": tenant,
            "sites": tuple(s for s in portfolio.sites if s.id == site_id),
            "assets": tuple(a for a in portfolio.assets if a.site == site_id),
        }
    )
    return part.model_dump(mode="json", exclude_none=True)


SAMPLE_PRICES = "sample_prices"
SAMPLE_PRICE_DAY = "2026-06-13"
"""A Saturday inside the sample prices, with negative midday quarter hours."""


def sample_prices_dir() -> Path:
    """Folder of the project's generated sample prices (see its README.md)."""
    packaged = Path(str(files("trading"))) / "sample_data" / SAMPLE_PRICES
    checkout = Path(__file__).resolve().parents[1] / "data" / SAMPLE_PRICES
    for candidate in (packaged, checkout):
        if (candidate / "day_ahead.csv").is_file():
            return candidate
    raise FileNotFoundError(
        f"sample prices not found at {packaged} or {checkout}; reinstall vpp-engine"
    )
