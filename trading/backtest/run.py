"""Day-by-day rolling backtests: forecast, optimise the day before, clear, settle, carry on.

For each delivery day D from `start` to `end` (market-local, inclusive):

1. the forecast (`trading.backtest.forecast`) gives the prices the optimiser sees for D;
2. the optimiser plans D on the assets in service on D (`Portfolio.in_service`, rule G1
   of `docs/plan-rules.md`: an asset commissioned mid-run joins on its commissioning day,
   a decommissioned one leaves on its decommissioning day) as they stand (batteries at the
   state of charge the previous day ended with), with the documented proxy availability
   of PV and wind (`trading.optimiser.profiles.proxy_profiles`); a day on which no asset
   is in service is recorded with status ``nothing_in_service`` and nothing traded;
3. the plan's bids go to a `SimulatedExchange` holding the actual prices and clear at
   their gates (`trading.backtest.settle`): the same market rules as live trading;
4. what the zones inject beyond (or short of) the energy sold is settled at imbalance
   prices (`trading.backtest.imbalance`: real where given, a named proxy elsewhere);
5. each battery's state of charge is followed through the day from its planned injection
   (charging at its charge efficiency, discharging at its discharge efficiency) and
   carried into D + 1. What a battery holds at the end of D is planned by the run's
   `end_soc` policy (`END_SOC_POLICIES`), never by "end at least where the day started"
   (which, carried from day to day, could only ratchet the SoC up); so is each CHP's
   commitment (running or not at midnight, and for how long), so that D + 1 neither
   restarts a running unit nor starts one still resting.
   An asset out of service on D gets no row in the per-asset tables (``assets``, ``soc``)
   for D, and its state waits unchanged for the day it joins; the ``note`` of its first
   and last row says when it joins or leaves, and the run's notes list such assets.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from markets.registry import (
    MarketPluginError,
    MarketRegistry,
    UnknownMarketCountryError,
    default_registry,
)
from regulatory.assets.base import AssetBase
from regulatory.assets.storage import Battery
from regulatory.portfolio import NothingInServiceError, Portfolio
from trading.backtest import tables as rows_of
from trading.backtest.forecast import PriceForecast, forecast_named
from trading.backtest.forecast_output import RenewableOutputs
from trading.backtest.imbalance import ImbalancePrices
from trading.backtest.lookahead import AheadPlan, plan_ahead, reachable_floor, step_energy_mwh
from trading.backtest.overlap import NextDay
from trading.backtest.result import BacktestResult
from trading.backtest.settle import QUARTER_H, ClearedProduct, clear_plan, imbalance_of
from trading.backtest.window import PriceWindows
from trading.optimiser.accounts import EXPECTED_IMBALANCE, STORED_ENERGY, SUPPORT_PREMIUM
from trading.optimiser.assets import battery_initial_soc
from trading.optimiser.build import MARKET_CHOICES, OptimiserOptions
from trading.optimiser.inputs import ChpState, Horizon, MissingPriceError, PriceInputs, Profiles
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
from trading.prices.coverage import (
    GAP_POLICIES,
    PriceGapError,
    check_coverage,
    gaps_over_days,
)

if TYPE_CHECKING:
    from trading.optimiser.extension import Extension

END_SOC_POLICIES = ("value", "target")
"""How a day plans a battery's end-of-day state of charge: ``value``, energy left stored is
worth a price per MWh (`BacktestConfig.soc_value_eur_per_mwh`, default what it saves on
D + 1, `replacement_value`), with no target; ``target``, the day ends at or above the
battery's configured ``soc_initial_mwh`` (else mid-range), a fixed level, not the day's
start."""

MAX_HORIZON_DAYS = 7
"""The longest look-ahead a run may ask for [days]."""

NOTHING_IN_SERVICE = "nothing_in_service"
"""`days` status of a day on which no asset of the portfolio is in service."""

ROUNDING_MW = 0.1
"""A PV/wind plan this far below its forecast is rounding to whole volume steps [MW]
(SDAC's 0.1 MW), not a curtailment (`output_deviation`)."""

SKIPPED_PRICE_GAP = "skipped_price_gap"
"""`days` status of a day not traded under ``gaps="skip-day"``: its prices have a gap, or
its forecast needs prices that are missing."""


class BacktestError(ValueError):
    """A backtest cannot go on; the message names the day and the reason."""


@dataclass(frozen=True)
class BacktestConfig:
    """What to backtest: days (market-local, inclusive), markets, forecast, solver limits."""

    start: date
    end: date
    markets: tuple[str, ...] = ("day_ahead",)
    forecast: str = "perfect"
    time_limit_s: float = 60.0
    gap: float = 0.005
    end_soc: str = "value"
    soc_value_eur_per_mwh: float | None = None
    """``end_soc="value"``: the value of a MWh stored at the end of a day [EUR/MWh];
    None: derived from the forecast of the next day (`replacement_value`)."""
    horizon_days: int = 1
    """Days each battery's end-of-day value looks ahead (`trading.backtest.lookahead`):
    1 plans D alone; h > 1 values D's end by a plan of D..D + h - 1 (``end_soc="value"``
    only), and commits D."""
    gaps: str = "fail"
    """What a gap in the prices does (`trading.prices.coverage.GAP_POLICIES`): ``fail``
    (stop before the first day naming every gap), ``interpolate``, ``previous-day`` or
    ``skip-day``."""

    def __post_init__(self) -> None:
        if self.gaps not in GAP_POLICIES:
            raise ValueError(f"gaps={self.gaps!r}: choose from {', '.join(GAP_POLICIES)}")
        if self.end_soc not in END_SOC_POLICIES:
            raise ValueError(f"end_soc={self.end_soc!r}: choose from {', '.join(END_SOC_POLICIES)}")
        if not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(
                f"horizon_days={self.horizon_days}: must be 1 to {MAX_HORIZON_DAYS} days"
            )
        if self.horizon_days > 1 and self.end_soc != "value":
            raise ValueError(
                f"horizon_days={self.horizon_days} values the end of each day, so it needs "
                f"end_soc='value', not {self.end_soc!r}"
            )
        if self.end < self.start:
            raise ValueError(f"end={self.end} is before start={self.start}")
        unknown = [m for m in self.markets if m not in MARKET_CHOICES]
        if unknown or not self.markets:
            raise ValueError(
                f"markets={list(self.markets)}: choose from {', '.join(MARKET_CHOICES)}"
            )
        forecast_named(self.forecast)  # raises naming the choices

    def days(self) -> list[date]:
        """Every delivery day of the run."""
        return [self.start + timedelta(days=k) for k in range((self.end - self.start).days + 1)]


def run_backtest(
    portfolio: Portfolio,
    prices: PriceInputs,
    config: BacktestConfig,
    *,
    imbalance: ImbalancePrices | None = None,
    forecast: PriceForecast | None = None,
    progress: bool = False,
    registry: MarketRegistry | None = None,
    notes: list[str] | None = None,
    renewables: RenewableOutputs | None = None,
    extend: Extension | None = None,
) -> BacktestResult:
    """Run `config` on `portfolio` against the actual `prices` (see the module docstring).

    `registry`: the market plugins that plan and clear every day (default: installed).
    `notes`: lines about the inputs (e.g. `read_price_inputs`'s) put first in the result's.
    `renewables`: PV and wind planned on an output forecast and settled on their actual
    output (`trading.backtest.forecast_output`); None: both on the optimiser's proxy
    profiles (no forecast error).
    Before the first day the prices' coverage is checked (`check_coverage`, the config's
    gap policy); `BacktestError` names every gap under ``fail``, else the first day that
    cannot be planned (e.g. a price missing).
    `extend`: an analyst's Pyomo extension applied to every day's plan
    (`trading.optimiser.extension`); its costs count among the day's costs.
    """
    registry = registry if registry is not None else default_registry()
    forecaster = forecast if forecast is not None else forecast_named(config.forecast)
    try:
        prices, gap_report = check_coverage(
            prices,
            config.days(),
            config.markets,
            config.gaps,
            history_days=int(getattr(forecaster, "history_days", 0)),
            forecast_name=forecaster.name,
        )
    except PriceGapError as exc:
        raise BacktestError(str(exc)) from None
    windows = PriceWindows(prices)
    forecaster = _KeptForecast(forecaster, prices, keep=config.horizon_days + 2, windows=windows)
    imbalance = imbalance if imbalance is not None else ImbalancePrices()
    zone_of = {a.id: portfolio.site_of(a).bidding_zone for a in portfolio.assets}
    options = OptimiserOptions(
        markets=config.markets,
        solver=SolverOptions(time_limit_s=config.time_limit_s, mip_gap=config.gap),
    )
    tables: dict[str, list[pd.DataFrame | dict[str, Any]]] = {
        "days": [],
        "revenue": [],
        "assets": [],
        "positions": [],
        "soc": [],
        "imbalance": [],
        **{name: [] for name in EXTRA_TABLES},
    }
    zones = set(zone_of.values())
    state = portfolio
    carried = CarriedState()
    targets = {
        a.id: battery_initial_soc(a, None) for a in portfolio.assets if isinstance(a, Battery)
    }

    def plan_of(day: date, state: Portfolio, carried: CarriedState) -> _DayPlan:
        """Day `day` planned from `state` and `carried` (what the days before left)."""
        try:
            today = state.in_service(day)
        except NothingInServiceError:
            return _DayPlan(None)
        if renewables is not None:
            profiles, actual_output = renewables.day(today, day)
        else:
            profiles, actual_output = proxy_profiles(today, Horizon.of(day)), {}
        # each day reads its own window of the actual prices (`trading.backtest.window`):
        # the same answers as the whole series, without looking up a year per product
        actual = windows.around(day)
        try:
            seen = forecaster.forecast(prices, day)
            plan = optimise(
                today,
                day,
                seen,
                profiles=profiles,
                options=options.model_copy(
                    update={
                        **carried.options_for(today),
                        **end_soc_options(
                            today, prices, day, forecaster, config, targets, registry
                        ),
                    }
                ),
                registry=registry,
                extend=extend,
            )
        except MissingPriceError as exc:
            return _DayPlan(today, profiles, actual_output, actual, missing=exc)
        return _DayPlan(today, profiles, actual_output, actual, seen, plan)

    planned = [day for day in config.days() if day not in gap_report.skip_days]
    following = dict(itertools.pairwise(planned))
    with NextDay[_DayPlan]() as next_day:
        for day in _days(config, progress):
            horizon = Horizon.of(day)
            if day in gap_report.skip_days:
                tables["days"].append(_idle_day(day, SKIPPED_PRICE_GAP, gap_report.day_note(day)))
                continue
            got = next_day.take(
                day, (state, carried), lambda d=day, s=state, c=carried: plan_of(d, s, c)
            )
            if got.today is None:
                tables["days"].append(_idle_day(day, price_gaps=gap_report.day_note(day)))
                continue
            profiles, actual_output, actual = got.profiles, got.actual_output, got.actual
            try:
                if got.missing is not None:
                    raise got.missing
                seen, plan = got.seen, got.plan
                assert seen is not None
                assert plan is not None
                booked_state = _batteries(state, plan, day)
                booked_carried = carried.after(plan)
                after = following.get(day)
                if after is not None:  # plan the next day while this one is booked
                    s, c = booked_state[2], booked_carried
                    next_day.start(after, (s, c), lambda d=after, s=s, c=c: plan_of(d, s, c))
                cleared = clear_plan(plan, actual, registry)
            except MissingPriceError as exc:
                if config.gaps == "skip-day" and gap_report.gaps:
                    why = f"skip-day: prices missing for this day or its forecast ({exc})"
                    tables["days"].append(_idle_day(day, SKIPPED_PRICE_GAP, why))
                    continue
                raise BacktestError(f"delivery day {day}: {exc}") from None
            revenue = rows_of.revenue_rows(day, cleared)
            deviation = output_deviation(
                plan, profiles, actual_output, zone_of, horizon, _energy_seen(seen, horizon)
            )
            settled = _imbalance_rows(plan, cleared, day, zone_of, actual, imbalance, deviation)
            soc, assets, state = booked_state
            assets = _with_service_notes(assets, state, config)
            carried = booked_carried
            imbalance_cost = -float((settled["imbalance_mwh"] * settled["price_eur_mwh"]).sum())
            revenue_eur = float(revenue["revenue_eur"].sum()) if not revenue.empty else 0.0
            costs = realised_costs(plan)
            support = plan.revenue_by_market.get(SUPPORT_PREMIUM, 0.0)
            tables["days"].append(
                {
                    "day": day,
                    "revenue_eur": round(revenue_eur, 2),
                    "support_eur": round(support, 2),
                    "imbalance_cost_eur": round(imbalance_cost, 2),
                    "costs_eur": round(costs, 2),
                    "net_eur": round(revenue_eur + support - imbalance_cost - costs, 2),
                    "stored_value_eur": round(plan.revenue_by_market.get(STORED_ENERGY, 0.0), 2),
                    "forecast_objective_eur": round(plan.objective_eur, 2),
                    "status": plan.solver.status,
                    "gap": plan.solver.gap,
                    "build_s": plan.solver.build_s,
                    "solve_s": plan.solver.solve_s,
                    "price_gaps": gap_report.day_note(day),
                    "forecast_error_cost_eur": round(
                        -float((settled["forecast_error_mwh"] * settled["price_eur_mwh"]).sum()), 2
                    ),
                }
            )
            tables["revenue"].append(revenue)
            tables["assets"].append(assets)
            tables["positions"].append(rows_of.position_rows(day, cleared))
            tables["soc"].append(soc)
            tables["imbalance"].append(settled)
            by_zone = settled.groupby("zone")["cost_eur"].sum().to_dict() if len(settled) else {}
            tables["rejected"].append(rows_of.rejected_rows(day, cleared))
            tables["costs"].append(rows_of.cost_rows(day, plan))
            tables["attribution"].append(
                rows_of.attribution_rows(day, plan, cleared, actual, zone_of, by_zone)
            )
            tables["prices"].append(rows_of.price_rows(day, seen, actual, zones))
            tables["dispatch"].append(rows_of.dispatch_rows(plan))
    notes = [
        *(notes or []),
        gap_report.note(),
        f"forecast: {forecaster.name}",
        *_forecast_description(forecaster),
        end_soc_note(config),
        *(
            renewables.notes()
            if renewables is not None
            else ["PV and wind availability: the optimiser's documented proxy profiles"]
        ),
        *service_notes(portfolio, config),
    ]
    if any(
        (frame["price_source"] != "real").any()
        for frame in tables["imbalance"]
        if isinstance(frame, pd.DataFrame) and not frame.empty
    ):
        notes.append(
            "imbalance prices: a dual-price proxy around day-ahead where no real price was "
            "given (no series for the zone, or a gap in it; see trading.backtest.imbalance)"
        )
    notes += imbalance_gap_notes(imbalance, config)
    return BacktestResult(
        days=pd.DataFrame(tables["days"]),
        revenue=_concat(tables["revenue"], rows_of.REVENUE_COLUMNS),
        assets=_concat(
            tables["assets"],
            ["day", "asset", "kind", "revenue_eur", "throughput_mwh", "cycles", "note"],
        ),
        positions=_concat(tables["positions"], rows_of.POSITION_COLUMNS),
        soc=_concat(tables["soc"], ["timestamp_utc", "asset", "soc_mwh"]),
        imbalance=_concat(
            tables["imbalance"],
            [
                "timestamp_utc",
                "zone",
                "imbalance_mwh",
                "forecast_error_mwh",
                "price_eur_mwh",
                "cost_eur",
                "price_source",
            ],
        ),
        notes=notes,
        timezones=zone_timezones(portfolio, registry),
        **{name: _concat(tables[name], columns) for name, columns in EXTRA_TABLES.items()},
    )


EXTRA_TABLES = {
    "rejected": rows_of.REJECTED_COLUMNS,
    "costs": rows_of.COST_COLUMNS,
    "attribution": rows_of.ATTRIBUTION_COLUMNS,
    "prices": rows_of.PRICE_COLUMNS,
    "dispatch": rows_of.DISPATCH_COLUMNS,
}
"""The tables of `trading.backtest.tables` beside the six first ones, with their columns."""


@dataclass(frozen=True)
class _DayPlan:
    """What planning a day gave: the assets in service (None: nothing in service), their
    output profiles and actual output, the actual prices' window, the prices as forecast
    and the plan, or the `MissingPriceError` that stopped the forecast or the plan."""

    today: Portfolio | None
    profiles: Profiles | None = None
    actual_output: dict[str, Any] = field(default_factory=dict)
    actual: PriceInputs | None = None
    seen: PriceInputs | None = None
    plan: Plan | None = None
    missing: MissingPriceError | None = None


def zone_timezones(portfolio: Portfolio, registry: MarketRegistry) -> dict[str, str]:
    """Each bidding zone of `portfolio` with the IANA time zone of its delivery days."""
    out = {}
    for site in portfolio.sites:
        try:
            out[site.bidding_zone] = registry.get(site.country).timezone
        except (UnknownMarketCountryError, MarketPluginError):  # not plannable there
            continue
    return out


def _energy_seen(seen: PriceInputs, horizon: Horizon) -> dict[str, np.ndarray]:
    """The day-ahead (else intraday) price per zone the plan was made on [EUR/MWh]."""
    result = {}
    for zone in {*seen.day_ahead, *seen.intraday}:
        price = _energy_price(seen, zone, horizon)
        if price is not None:
            result[zone] = price
    return result


def _energy_price(seen: PriceInputs, zone: str, horizon: Horizon) -> np.ndarray | None:
    """`seen`'s day-ahead (else intraday) price of `zone` [EUR/MWh]; None: neither."""
    for market in ("day_ahead", "intraday"):
        try:
            return seen.quarter_hourly(market, zone, horizon)
        except MissingPriceError:
            continue
    return None


def imbalance_gap_notes(imbalance: ImbalancePrices, config: BacktestConfig) -> list[str]:
    """One note per real imbalance series that does not cover the run: its gaps, settled
    at the proxy."""
    notes = []
    for zone, series in sorted(imbalance.real.items()):
        gaps = gaps_over_days(series.dropna(), "imbalance", zone, config.days())
        if gaps:
            quarters = sum(round(g.hours * 4) for g in gaps)
            listed = "; ".join(g.describe() for g in gaps[:5])
            more = f"; and {len(gaps) - 5} more" if len(gaps) > 5 else ""
            notes.append(
                f"imbalance prices {zone}: the real series misses {quarters} quarter hour(s) "
                f"of the run, settled at the proxy there: {listed}{more}"
            )
    return notes


class _KeptForecast:
    """`forecaster` keeping its forecasts of the run's prices for the last `keep` days
    asked: a day's plan, each battery's end-of-day value and look-ahead, and the next
    days' plans ask for the same few days again and again. A forecast that is the actual
    prices themselves (perfect foresight) is kept as the day's window of them
    (`windows`, `trading.backtest.window`): the same prices for the day, looked up
    without the rest of the run's series."""

    def __init__(
        self,
        forecaster: PriceForecast,
        prices: PriceInputs,
        keep: int,
        windows: PriceWindows | None = None,
    ) -> None:
        self.inner = forecaster
        self.name = forecaster.name
        self.history_days = int(getattr(forecaster, "history_days", 0))
        self.description = getattr(forecaster, "description", "")
        self._prices = prices
        self._keep = keep
        self._windows = windows
        self._kept: dict[date, PriceInputs] = {}

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """`forecaster.forecast(actual, day)`, computed once per day of the run's prices."""
        if actual is not self._prices:
            return self.inner.forecast(actual, day)
        if day not in self._kept:
            found = self.inner.forecast(actual, day)
            if found is actual and self._windows is not None:
                found = self._windows.around(day)
            self._kept[day] = found
            while len(self._kept) > self._keep:
                del self._kept[next(iter(self._kept))]
        return self._kept[day]


def _forecast_description(forecaster: PriceForecast) -> list[str]:
    """How the price forecast is made, where it states it (a notes line, or none)."""
    described = getattr(forecaster, "description", "")
    return [f"price forecast {forecaster.name}: {described}"] if described else []


def _idle_day(day: date, status: str = NOTHING_IN_SERVICE, price_gaps: str = "") -> dict[str, Any]:
    """The `days` row of a day nothing is planned or traded on: no asset in service, or
    skipped for a price gap (`status`, and what the gap policy did in `price_gaps`)."""
    return {
        "day": day,
        "revenue_eur": 0.0,
        "support_eur": 0.0,
        "imbalance_cost_eur": 0.0,
        "costs_eur": 0.0,
        "net_eur": 0.0,
        "stored_value_eur": 0.0,
        "forecast_objective_eur": 0.0,
        "status": status,
        "gap": None,
        "build_s": 0.0,
        "solve_s": 0.0,
        "price_gaps": price_gaps,
        "forecast_error_cost_eur": 0.0,
    }


def realised_costs(plan: Plan) -> float:
    """The day's costs as the books see them: the plan's itemised costs (wear, levies,
    fuel, starts, ...) [EUR, positive = paid], without its `expected_imbalance`: a residual
    is settled once, at the imbalance price, in the day's imbalance cost."""
    return round(sum(v for kind, v in plan.costs_by_kind.items() if kind != EXPECTED_IMBALANCE), 2)


def end_soc_options(
    today: Portfolio,
    prices: PriceInputs,
    day: date,
    forecaster: PriceForecast,
    config: BacktestConfig,
    targets: dict[str, float],
    registry: MarketRegistry,
) -> dict[str, Any]:
    """`OptimiserOptions` fields planning each battery's end of day by `config.end_soc`;
    with a look-ahead, D's floor is the joint plan's end of D as whole volume steps can
    meet it (`trading.backtest.lookahead.reachable_floor`)."""
    batteries = [a for a in today.assets if isinstance(a, Battery)]
    if config.end_soc == "target":
        return {"final_soc_mwh": {a.id: targets[a.id] for a in batteries}}
    values, floors = {}, {}
    for battery in batteries:
        value = config.soc_value_eur_per_mwh
        if value is None:
            value = replacement_value(battery, today, prices, day, forecaster)
        if value is None:  # no energy price to value it by: the fixed target instead
            floors[battery.id] = targets[battery.id]
            continue
        values[battery.id] = value
        if config.horizon_days > 1:
            ahead = looking_ahead(battery, today, prices, day, forecaster, config)
            if ahead is not None:
                step = step_energy_mwh(
                    battery, today.site_of(battery), day, registry, config.markets
                )
                floors[battery.id] = reachable_floor(battery, ahead.end_soc_mwh, step)
    return {"soc_value_eur_per_mwh": values, "final_soc_mwh": floors}


def replacement_value(
    battery: Battery,
    portfolio: Portfolio,
    prices: PriceInputs,
    day: date,
    forecaster: PriceForecast,
) -> float | None:
    """What a MWh still stored at the end of `day` saves on D + 1 [EUR/MWh]: buying it
    back before D + 1's midday at the lowest forecast energy price of that half day, with
    the wear of charging it, per MWh stored: (lowest price + wear) / charge efficiency.
    Where D + 1 has no forecast (the data end), `day`'s own lowest price stands in; None
    where neither day has an energy price in the battery's zone."""
    zone = portfolio.site_of(battery).bidding_zone
    wear = battery.degradation_cost_eur_per_mwh
    for when, part in ((day + timedelta(days=1), "morning"), (day, "day")):
        found = _energy_prices(forecaster, prices, zone, when)
        if found is None:
            continue
        window = found[: len(found) // 2] if part == "morning" else found
        return (float(np.min(window)) + wear) / battery.efficiency_charge
    return None


def looking_ahead(
    battery: Battery,
    portfolio: Portfolio,
    prices: PriceInputs,
    day: date,
    forecaster: PriceForecast,
    config: BacktestConfig,
) -> AheadPlan | None:
    """A plan of `battery` alone over `day` and the `config.horizon_days - 1` days after
    it (`trading.backtest.lookahead`), the last day's end valued by the fixed value or
    `replacement_value`. Days the data do not cover shorten it; None where fewer than two
    days have a forecast energy price (the one-day rule alone then holds)."""
    zone = portfolio.site_of(battery).bidding_zone
    days: list[np.ndarray] = []
    for k in range(config.horizon_days):
        found = _energy_prices(forecaster, prices, zone, day + timedelta(days=k))
        if found is None:
            break
        days.append(found)
    if len(days) < 2:
        return None
    last = day + timedelta(days=len(days) - 1)
    end = config.soc_value_eur_per_mwh
    if end is None:
        end = replacement_value(battery, portfolio, prices, last, forecaster)
    if end is None:
        return None
    return plan_ahead(battery, battery_initial_soc(battery, None), days, end)


def _energy_prices(
    forecaster: PriceForecast, prices: PriceInputs, zone: str, day: date
) -> np.ndarray | None:
    """The forecast day-ahead (else intraday) prices of `day` in `zone` [EUR/MWh]."""
    try:
        seen = forecaster.forecast(prices, day)
    except MissingPriceError:
        return None
    return _energy_price(seen, zone, Horizon.of(day))


def end_soc_note(config: BacktestConfig) -> str:
    """The run's notes line on how a day's end SoC was planned."""
    if config.end_soc == "target":
        return (
            "end of day: each battery ends each day at or above its configured "
            "soc_initial_mwh (else mid-range)"
        )
    price = (
        f"{config.soc_value_eur_per_mwh:g} EUR/MWh"
        if config.soc_value_eur_per_mwh is not None
        else (
            "what it saves the next day: (the lowest forecast energy price before the next "
            "day's midday + wear) / charge efficiency"
        )
    )
    if config.horizon_days > 1:
        return (
            f"end of day: each battery ends day D at or above the SoC a plan of that battery "
            f"alone over D..D+{config.horizon_days - 1} on the forecast holds at D's end, "
            f"but no closer to the top of its range than one volume step moves it "
            f"(trading.backtest.lookahead: continuous positions, no other asset); energy above "
            f"it, and the last day's end, valued at {price}; only D is committed"
        )
    return f"end of day: energy a battery holds at the end of a day is valued at {price}"


@dataclass(frozen=True)
class CarriedState:
    """What one day's plan leaves for the next: units' commitment (CHP, loads, heat
    pumps), EV fleets' stored energy and what their session still owes, heat stored.
    Batteries' state of charge is carried in the portfolio itself (`_batteries`)."""

    units: dict[str, ChpState] = field(default_factory=dict)
    ev_energy_mwh: dict[str, float] = field(default_factory=dict)
    ev_owed_mwh: dict[str, float] = field(default_factory=dict)
    heat_mwh_th: dict[str, float] = field(default_factory=dict)

    def options_for(self, today: Portfolio) -> dict[str, Any]:
        """`OptimiserOptions` fields for the assets of `today`'s portfolio."""
        ids = {asset.id for asset in today.assets}
        return {
            "unit_initial": {k: v for k, v in self.units.items() if k in ids},
            "initial_soc_mwh": {k: v for k, v in self.ev_energy_mwh.items() if k in ids},
            "ev_owed_mwh": {k: v for k, v in self.ev_owed_mwh.items() if k in ids},
            "initial_heat_mwh_th": {k: v for k, v in self.heat_mwh_th.items() if k in ids},
        }

    def after(self, plan: Plan) -> CarriedState:
        """The state at the end of `plan`'s day (assets not in its plan keep theirs)."""
        units, energy = dict(self.units), dict(self.ev_energy_mwh)
        owed, heat = dict(self.ev_owed_mwh), dict(self.heat_mwh_th)
        for asset_id, end in plan.end_state.items():
            if "on" in end:
                units[asset_id] = ChpState(on=bool(end["on"]), hours=float(end["hours"]))
            if "e_mwh" in end:
                energy[asset_id] = max(0.0, float(end["e_mwh"]))
                owed[asset_id] = max(0.0, float(end.get("owed_mwh", 0.0)))
            if "heat_mwh_th" in end:
                heat[asset_id] = max(0.0, float(end["heat_mwh_th"]))
        return CarriedState(units, energy, owed, heat)


def service_notes(portfolio: Portfolio, config: BacktestConfig) -> list[str]:
    """One note per asset out of service on some day of the run: which days, and why."""
    notes = []
    days = config.days()
    for asset in portfolio.assets:
        out = [day for day in days if not asset.in_service(day)]
        if not out:
            continue
        dates = f"commissioned {asset.commissioning_date}"
        if asset.decommissioning_date is not None:
            dates += f", decommissioned {asset.decommissioning_date}"
        notes.append(
            f"{asset.id} not in service on {len(out)} of {len(days)} days ({dates}): "
            f"not planned and no rows on {_span(out)}"
        )
    return notes


def _span(days: list[date]) -> str:
    """``2026-03-01`` or ``2026-03-01..2026-03-14`` or, if not contiguous, the first and
    last with a count."""
    first, last = days[0], days[-1]
    if first == last:
        return first.isoformat()
    if (last - first).days + 1 == len(days):
        return f"{first}..{last}"
    return f"{len(days)} days from {first} to {last}"


def _with_service_notes(
    assets: pd.DataFrame, portfolio: Portfolio, config: BacktestConfig
) -> pd.DataFrame:
    """`assets` rows with a ``note`` saying when an asset joins or leaves the run that day."""
    by_id = {asset.id: asset for asset in portfolio.assets}
    notes = [
        joins_or_leaves(by_id[str(row.asset)], row.day, config)
        for row in assets.itertuples(index=False)
    ]
    return assets.assign(note=notes)


def joins_or_leaves(asset: AssetBase, day: date, config: BacktestConfig) -> str:
    """What an asset's row on `day` says about its service dates: joining the run on its
    commissioning day, leaving it after its last day in service; '' otherwise."""
    if day == asset.commissioning_date and day > config.start:
        return f"commissioned {day}: joins the run today"
    end = asset.decommissioning_date
    if end is not None and day == end - timedelta(days=1) and day < config.end:
        return f"decommissioned {end}: last day in service"
    return ""


def _days(config: BacktestConfig, progress: bool) -> Iterator[date]:
    days = config.days()
    if not progress:
        yield from days
        return
    from tqdm import tqdm

    yield from tqdm(days, desc="backtest", unit="day")


def _concat(frames: list[Any], columns: list[str]) -> pd.DataFrame:
    present = [f for f in frames if isinstance(f, pd.DataFrame) and not f.empty]
    if not present:
        return pd.DataFrame(columns=columns)
    return pd.concat(present, ignore_index=True)[columns]


def _imbalance_rows(
    plan: Plan,
    cleared: list[ClearedProduct],
    day: date,
    zone_of: dict[str, str],
    actual: PriceInputs,
    imbalance: ImbalancePrices,
    deviation: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    frame = imbalance_of(plan, cleared, day, zone_of)
    horizon = Horizon.of(day)
    parts = []
    for zone, rows in frame.groupby("zone", sort=True):
        try:
            day_ahead = actual.quarter_hourly("day_ahead", str(zone), horizon)
        except MissingPriceError:
            day_ahead = np.zeros(horizon.n)
        zero = np.zeros(len(rows))
        extra, error = (deviation or {}).get(str(zone), (zero, zero))
        rows = rows.assign(
            imbalance_mwh=rows["imbalance_mwh"].to_numpy() + extra, forecast_error_mwh=error
        )
        volumes = rows["imbalance_mwh"].to_numpy()
        prices, sources = imbalance.settle(str(zone), horizon.periods, volumes, day_ahead)
        rows = rows.assign(price_eur_mwh=prices, cost_eur=-(volumes * prices), price_source=sources)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else frame


def output_deviation(
    plan: Plan,
    profiles: Profiles,
    actual: dict[str, np.ndarray],
    zone_of: dict[str, str],
    horizon: Horizon,
    seen_price: dict[str, np.ndarray] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per zone and quarter hour: what PV and wind really injected minus what the plan
    scheduled, and the part of it that is forecast error (actual - forecast) [MWh, + more].

    A plant is curtailed (held at the plan's set point, or less if the weather gives less:
    min(planned, actual), all of the shortfall forecast error) only where the plan puts it
    below its forecast by more than `ROUNDING_MW` **and** the energy price the plan saw is
    at or below zero (`seen_price`): producing would lose money. Elsewhere it runs free and
    produces its actual output; beyond the forecast error that spills what the plan left
    unsold (whole volume steps, an hourly product's flat power under a varying profile)."""
    if not actual:
        return {}
    injection = plan.schedule.injection_frame()
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for asset_id, real in actual.items():
        if asset_id not in injection.columns:
            continue
        planned = injection[asset_id].reindex(horizon.periods).fillna(0.0).to_numpy()
        forecast = profiles.available_mw[asset_id].reindex(horizon.periods).to_numpy(float)
        zone = zone_of[asset_id]
        price = (seen_price or {}).get(zone, np.ones(horizon.n))
        curtailed = (planned < forecast - ROUNDING_MW - 1e-6) & (price <= 0)
        produced = np.where(curtailed, np.minimum(planned, real), real)
        error = np.where(curtailed, produced - planned, real - forecast)
        total, wrong = result.get(zone, (np.zeros(horizon.n), np.zeros(horizon.n)))
        result[zone] = (total + (produced - planned) * QUARTER_H, wrong + error * QUARTER_H)
    return result


def _batteries(
    portfolio: Portfolio, plan: Plan, day: date
) -> tuple[pd.DataFrame, pd.DataFrame, Portfolio]:
    """The day's SoC path and rows of the assets in service on `day`; the whole portfolio
    with each of those batteries' end SoC (assets out of service are carried unchanged)."""
    injection = plan.schedule.injection_frame()
    soc_rows = []
    asset_rows = []
    carried = []
    for asset in portfolio.assets:
        if not asset.in_service(day):
            carried.append(asset)
            continue
        revenue = plan.revenue_by_asset.get(asset.id, 0.0)
        if not isinstance(asset, Battery) or asset.id not in injection.columns:
            asset_rows.append(
                {
                    "day": day,
                    "asset": asset.id,
                    "kind": asset.kind,
                    "revenue_eur": revenue,
                    "throughput_mwh": 0.0,
                    "cycles": 0.0,
                }
            )
            carried.append(asset)
            continue
        power = injection[asset.id].to_numpy()
        discharge = np.clip(power, 0, None) * QUARTER_H
        charge = np.clip(-power, 0, None) * QUARTER_H
        low, high = asset.soc_bounds_mwh()
        start = asset.soc_initial_mwh
        if start is None:
            start = (low + high) / 2
        path = start + np.cumsum(
            charge * asset.efficiency_charge - discharge / asset.efficiency_discharge
        )
        end = float(np.clip(path[-1], low, high)) if len(path) else start
        soc_rows.append(
            pd.DataFrame({"timestamp_utc": injection.index, "asset": asset.id, "soc_mwh": path})
        )
        throughput = float(discharge.sum())
        usable = high - low
        asset_rows.append(
            {
                "day": day,
                "asset": asset.id,
                "kind": asset.kind,
                "revenue_eur": revenue,
                "throughput_mwh": round(throughput, 4),
                "cycles": round(throughput / usable, 4) if usable > 0 else 0.0,
            }
        )
        carried.append(asset.model_copy(update={"soc_initial_mwh": end}))
    soc = pd.concat(soc_rows, ignore_index=True) if soc_rows else pd.DataFrame()
    return soc, pd.DataFrame(asset_rows), portfolio.model_copy(update={"assets": carried})
