"""Real backtest runs the table, figure and report tests share (generated prices: the
project's deterministic sample generator, day-ahead and aFRR capacity)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import cache

import yaml

from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, BacktestResult, run_backtest
from trading.optimiser.inputs import PriceInputs
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

START = date(2026, 6, 13)
DAYS = 2
ZONES = ("DE_LU", "NL")


def portfolio(zones: tuple[str, ...] = ("DE_LU",)) -> Portfolio:
    """The sample portfolio's assets in `zones` that are in service in June 2026."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    sites = {s["id"]: s for s in document["sites"]}
    keep = [
        a
        for a in document["assets"]
        if sites[a["site"]]["bidding_zone"] in zones
        and date.fromisoformat(str(a["commissioning_date"])) <= START
    ]
    document["assets"] = keep
    document["sites"] = [s for s in document["sites"] if s["id"] in {a["site"] for a in keep}]
    return Portfolio.model_validate(document)


def generated_prices(start: date = START, days: int = DAYS) -> PriceInputs:
    """Day-ahead and aFRR capacity for `ZONES`, a week before `start` onwards."""
    sample = generate_sample_prices(start - timedelta(days=8), days + 9, zones=ZONES)
    prices = PriceInputs()
    for zone in ZONES:
        da = sample.day_ahead[sample.day_ahead["zone"] == zone]
        prices.day_ahead[zone] = da["price_eur_mwh"]
        capacity = sample.afrr_capacity[sample.afrr_capacity["zone"] == zone]
        quarters = sample.intraday[sample.intraday["zone"] == zone].index
        for direction in ("pos", "neg"):
            block = capacity[f"afrr_capacity_{direction}_eur_per_mw_h"]
            prices.afrr_capacity[(zone, direction)] = block.reindex(quarters, method="ffill")
    return prices


class DearCapacity:
    """A forecast that expects aFRR capacity at `factor` times its actual price (energy
    prices as they were): bids priced on it lose the auction."""

    name = "dear capacity"

    def __init__(self, factor: float = 5.0) -> None:
        self.factor = factor

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        del day
        return replace(
            actual,
            afrr_capacity={k: v * self.factor for k, v in actual.afrr_capacity.items()},
        )


@cache
def day_ahead_and_afrr(zones: tuple[str, ...] = ("DE_LU",)) -> BacktestResult:
    """Two perfect-foresight days of the in-service sample assets of `zones` on
    day-ahead and aFRR capacity."""
    config = BacktestConfig(
        START, START + timedelta(days=DAYS - 1), markets=("day_ahead", "afrr_capacity")
    )
    return run_backtest(portfolio(zones), generated_prices(), config)


@cache
def with_rejections() -> BacktestResult:
    """One day whose capacity bids were priced on `DearCapacity`."""
    config = BacktestConfig(START, START, markets=("day_ahead", "afrr_capacity"))
    return run_backtest(portfolio(), generated_prices(), config, forecast=DearCapacity())
