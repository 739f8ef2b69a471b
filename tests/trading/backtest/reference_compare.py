"""A one-battery, day-ahead, perfect-foresight backtest on real prices against the
independent reference optimum (`reference_battery`): the figures the realdata test checks.

Run a whole year (too slow for the suite) with::

    python tests/trading/backtest/reference_compare.py 2023-01-01 2023-12-31 [GAP] [HORIZON] [ZONE]

(ZONE: any zone of the file, default DE_LU; the battery's site is moved into it.)

The reference reads the price file with pandas itself and builds its own calendar of
quarter hours per local day; only the backtest goes through the project's code.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import structlog
import yaml
from reference_battery import ReferenceBattery, optimum

from regulatory.assets.storage import Battery
from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, BacktestResult, run_backtest
from trading.backtest.lookahead import plan_ahead
from trading.prices.inputs import read_price_inputs
from trading.samples import sample_portfolio_path

HERE = Path(__file__).resolve()
SHARED_DATA = HERE.parents[3].parent / "shared" / "data"
PRICES_2022_2023 = "day_ahead_prices_hourly_2022_2023.csv"
ZONE = "DE_LU"
LOCAL = "Europe/Berlin"
BATTERY_ID = "bat-de-essen-01"


def ten_mw_battery(zone: str = ZONE) -> Portfolio:
    """The sample portfolio's 10 MW / 20 MWh battery alone (in service from 2020, so any
    real year of ../shared/data can be run); outside DE_LU on the sample's first site in
    `zone`, without its grid fee on withdrawal (the reference has no charging costs: its
    costs are wear alone)."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (battery,) = [a for a in document["assets"] if a["id"] == BATTERY_ID]
    battery["commissioning_date"] = "2020-01-01"
    if zone != ZONE:
        battery["site"] = next(s["id"] for s in document["sites"] if s["bidding_zone"] == zone)
    document["assets"] = [battery]
    document["sites"] = [s for s in document["sites"] if s["id"] == battery["site"]]
    if zone != ZONE:
        document["sites"][0].pop("grid_fee_withdrawal_eur_per_mwh", None)
    return Portfolio.model_validate(document)


def as_reference(battery: Battery) -> ReferenceBattery:
    """The same battery's figures for the reference [MW, MWh, EUR/MWh]."""
    low = battery.soc_min_mwh
    high = battery.soc_max_mwh if battery.soc_max_mwh is not None else battery.energy_mwh
    cycles = battery.max_cycles_per_day
    return ReferenceBattery(
        power_charge_mw=battery.power_charge_mw,
        power_discharge_mw=battery.power_discharge_mw,
        soc_min_mwh=low,
        soc_max_mwh=high,
        soc_initial_mwh=battery.soc_initial_mwh
        if battery.soc_initial_mwh is not None
        else (low + high) / 2,
        efficiency_charge=battery.efficiency_charge,
        efficiency_discharge=battery.efficiency_discharge,
        wear_eur_per_mwh=battery.degradation_cost_eur_per_mwh,
        max_discharge_mwh_per_day=None if cycles is None else cycles * (high - low),
    )


def quarter_hour_prices(path: Path, zone: str, start: date, end: date) -> pd.DataFrame:
    """Each quarter hour of the local days `start`..`end` with its local day, the price
    of the period it lies in [EUR/MWh] (an hourly price holds for four quarters) and that
    hour (the day-ahead product it is sold in)."""
    frame = pd.read_csv(path)
    frame = frame[frame["zone"] == zone]
    series = pd.Series(
        frame["price_eur_mwh"].to_numpy(float),
        index=pd.to_datetime(frame["timestamp_utc"], utc=True),
    ).sort_index()
    first = pd.Timestamp(start).tz_localize(LOCAL).tz_convert("UTC")
    after = pd.Timestamp(end + timedelta(days=1)).tz_localize(LOCAL).tz_convert("UTC")
    periods = pd.date_range(first, after, freq="15min", inclusive="left")
    hour = periods.floor("1h")
    price = series.reindex(hour).to_numpy()
    if np.isnan(price).any():
        raise ValueError(f"{path.name}: {zone} has no price for {hour[np.isnan(price)][0]}")
    day = periods.tz_convert(LOCAL).date
    return pd.DataFrame({"timestamp_utc": periods, "day": day, "price": price, "hour": hour})


@dataclass(frozen=True)
class Comparison:
    """The backtest's figures next to the reference's [EUR, MWh]."""

    start: str
    end: str
    backtest_net_eur: float
    backtest_costs_eur: float
    backtest_wear_eur: float
    """Wear recomputed from the backtest's SoC path at the battery's rate."""
    reference_net_eur: float
    """The whole run as one model: continuous positions, each hourly product at constant
    power, no charging and discharging at once."""
    reference_wear_eur: float
    daily_reference_net_eur: float
    """The reference solved day by day with the engine's end-of-day treatment."""
    lookahead_reference_net_eur: float
    """The reference solved day by day, each day ending at or above where the engine's
    two-day look-ahead (`trading.backtest.lookahead`) puts it, energy above valued as in
    `daily_reference_net_eur`: what ``horizon_days=2`` can reach at best."""
    soc_rises: int
    soc_falls: int
    """Days whose end SoC is above (below) the previous day's end by more than 0.1 MWh."""
    backtest_s: float

    @property
    def shortfall(self) -> float:
        """How far the backtest's net is below the whole-run reference, as a fraction."""
        return 1.0 - self.backtest_net_eur / self.reference_net_eur


def compare(
    start: date,
    end: date,
    data: Path = SHARED_DATA,
    gap: float = BacktestConfig.gap,
    horizon_days: int = 1,
    zone: str = ZONE,
) -> Comparison:
    """Backtest `start`..`end` (local days) and solve the reference on the same prices;
    `gap`: the backtest's relative MIP gap; `horizon_days`: its look-ahead; `zone`: the
    bidding zone whose prices both trade on."""
    path = data / PRICES_2022_2023
    portfolio = ten_mw_battery(zone)
    (battery,) = portfolio.assets
    assert isinstance(battery, Battery)
    prices = read_price_inputs(path, None, None, {zone}, ("day_ahead",))
    began = time.perf_counter()
    config = BacktestConfig(start, end, gap=gap, horizon_days=horizon_days)
    result = run_backtest(portfolio, prices, config)
    took = time.perf_counter() - began
    quarters = quarter_hour_prices(path, zone, start, end)
    ref = as_reference(battery)
    by_day = [one for _, one in quarters.groupby("day", sort=True)]
    days = [one["price"].to_numpy() for one in by_day]
    following = next_days(path, end, zone)
    whole = optimum(
        quarters["price"].to_numpy(),
        ref,
        day_of_period=list(quarters["day"]),
        end_value_eur_per_mwh=end_value(days[-1], following, ref),
        product_of_period=list(quarters["hour"]),
    )
    daily = 0.0
    soc = ref.soc_initial_mwh
    for k, prices_of_day in enumerate(days):
        day_ref = ReferenceBattery(**{**asdict(ref), "soc_initial_mwh": soc})
        solved = optimum(
            prices_of_day,
            day_ref,
            end_value_eur_per_mwh=end_value(
                prices_of_day, days[k + 1] if k + 1 < len(days) else following, ref
            ),
            product_of_period=list(by_day[k]["hour"]),
        )
        daily += solved.net_eur
        soc = float(solved.soc_mwh[-1])
    ahead = lookahead_reference(battery, ref, days, by_day, following)
    ends = day_end_soc(result)
    steps = np.diff(np.concatenate([[ref.soc_initial_mwh], ends]))
    return Comparison(
        start=start.isoformat(),
        end=end.isoformat(),
        backtest_net_eur=float(result.days["net_eur"].sum()),
        backtest_costs_eur=float(result.days["costs_eur"].sum()),
        backtest_wear_eur=soc_wear(result, ref),
        reference_net_eur=whole.net_eur,
        reference_wear_eur=whole.wear_eur,
        daily_reference_net_eur=daily,
        lookahead_reference_net_eur=ahead,
        soc_rises=int((steps > 0.1).sum()),
        soc_falls=int((steps < -0.1).sum()),
        backtest_s=took,
    )


def lookahead_reference(
    battery: Battery,
    ref: ReferenceBattery,
    days: list[np.ndarray],
    by_day: list[pd.DataFrame],
    following: np.ndarray | None,
) -> float:
    """Net of the reference day by day, each day's end at or above the SoC a two-day
    plan (`plan_ahead`) holds at its end, energy above valued by `end_value` [EUR]."""
    total, soc = 0.0, ref.soc_initial_mwh
    for k, prices_of_day in enumerate(days):
        after = days[k + 1] if k + 1 < len(days) else following
        value = end_value(prices_of_day, after, ref)
        target = None
        if k + 1 < len(days):
            later = days[k + 2] if k + 2 < len(days) else following
            plan = plan_ahead(battery, soc, days[k : k + 2], end_value(days[k + 1], later, ref))
            target = None if plan is None else plan.end_soc_mwh
        solved = optimum(
            prices_of_day,
            ReferenceBattery(**{**asdict(ref), "soc_initial_mwh": soc}),
            end_value_eur_per_mwh=value,
            end_target_mwh=target,
            product_of_period=list(by_day[k]["hour"]),
        )
        total += solved.net_eur
        soc = float(solved.soc_mwh[-1])
    return total


def end_value(today: np.ndarray, tomorrow: np.ndarray | None, battery: ReferenceBattery) -> float:
    """The engine's documented default value of a MWh stored at the end of a day
    (docs/backtest.md): (the lowest price of the next day's first half + wear) / charge
    efficiency; the day's own lowest price where the next day is not in the data."""
    window = tomorrow[: len(tomorrow) // 2] if tomorrow is not None else today
    return (float(window.min()) + battery.wear_eur_per_mwh) / battery.efficiency_charge


def next_days(path: Path, end: date, zone: str = ZONE) -> np.ndarray | None:
    """The quarter-hour prices of the day after `end`, None if the file stops before."""
    after = end + timedelta(days=1)
    try:
        return quarter_hour_prices(path, zone, after, after)["price"].to_numpy()
    except ValueError:
        return None


def day_end_soc(result: BacktestResult) -> np.ndarray:
    """The battery's SoC at the end of each local day of the run [MWh]."""
    soc = result.soc
    local = pd.to_datetime(soc["timestamp_utc"], utc=True).dt.tz_convert(LOCAL).dt.date
    return soc.groupby(local, sort=True)["soc_mwh"].last().to_numpy()


def soc_wear(result: BacktestResult, battery: ReferenceBattery) -> float:
    """Wear on the backtest's throughput read off its SoC path [EUR]: a rise of the SoC
    was charged at the charge efficiency, a fall discharged at the discharge one."""
    path = result.soc.sort_values("timestamp_utc")["soc_mwh"].to_numpy()
    steps = np.diff(np.concatenate([[battery.soc_initial_mwh], path]))
    charged = steps[steps > 0].sum() / battery.efficiency_charge
    discharged = -steps[steps < 0].sum() * battery.efficiency_discharge
    return float((charged + discharged) * battery.wear_eur_per_mwh)


def main(argv: list[str]) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    start, end = (date.fromisoformat(a) for a in argv[:2])
    found = compare(
        start,
        end,
        gap=float(argv[2]) if len(argv) > 2 else BacktestConfig.gap,
        horizon_days=int(argv[3]) if len(argv) > 3 else 1,
        zone=argv[4] if len(argv) > 4 else ZONE,
    )
    print(json.dumps({**asdict(found), "shortfall": found.shortfall}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
