"""Backtests for analysts: day-by-day runs of the live optimiser and market rules over
historical prices, with revenue attribution, imbalance settlement, figures and sweeps.

    from trading.backtest import BacktestConfig, load_price_inputs, run_backtest

    prices = load_price_inputs(day_ahead_csv, None, None, {"DE_LU"})
    result = run_backtest(portfolio, prices, BacktestConfig(start, end))
    result.summary(); result.write(Path("out"))

See `trading.backtest.run` for what a run does and `trading.backtest.result` for the tables.
"""

from trading.backtest.forecast import PerfectForesight, PriceForecast, SameDayLastWeek
from trading.backtest.imbalance import ImbalancePrices, read_imbalance_prices
from trading.backtest.result import BacktestResult
from trading.backtest.run import BacktestConfig, BacktestError, run_backtest
from trading.prices.inputs import read_price_inputs as load_price_inputs

__all__ = [
    "BacktestConfig",
    "BacktestError",
    "BacktestResult",
    "ImbalancePrices",
    "PerfectForesight",
    "PriceForecast",
    "SameDayLastWeek",
    "load_price_inputs",
    "read_imbalance_prices",
    "run_backtest",
]
