"""The rows one backtest day adds to each table of `BacktestResult` (see `result.py`).

Each function takes what the day produced (its cleared products, its plan, the forecast
and actual prices) and returns a tidy frame; `run.py` collects them day by day. Units:
MW, MWh, h, EUR, EUR/MWh (energy) and EUR/MW/h (capacity); + is sale / injection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from trading.backtest.settle import QUARTER_H, ClearedProduct
from trading.optimiser.accounts import EXPECTED_IMBALANCE
from trading.optimiser.inputs import Horizon, MissingPriceError, PriceInputs
from trading.optimiser.plan import Plan

ENERGY_PRICE_MARKETS = ("day_ahead", "intraday")
"""Markets whose forecast and actual prices the `prices` table keeps [EUR/MWh]."""

CAPACITY_OF_PRODUCT = {
    "fcr": "fcr_capacity",
    "afrr_pos": "afrr_capacity",
    "afrr_neg": "afrr_capacity",
}
"""The capacity market in which a reserve band (`BalancingProduct`) is sold."""

PORTFOLIO = "portfolio"
"""`attribution` row of what no single asset earned: energy traded beyond the assets'
day-ahead value (intraday repositioning, whole-MW steps) and the imbalance settlement."""

REVENUE_COLUMNS = [
    "day",
    "market",
    "zone",
    "revenue_eur",
    "volume_mwh",
    "capacity_mw_h",
    "capacity_h",
    "capacity_mw",
]
POSITION_COLUMNS = [
    "timestamp_utc",
    "day",
    "market",
    "zone",
    "direction",
    "hours",
    "mw",
    "cleared_mw",
    "clearing_price_eur",
    "price_paid_eur",
    "revenue_eur",
    "status",
]
REJECTED_COLUMNS = [
    "timestamp_utc",
    "day",
    "market",
    "zone",
    "direction",
    "hours",
    "mw",
    "bid_price_eur",
    "clearing_price_eur",
    "reason",
]
COST_COLUMNS = ["day", "kind", "cost_eur"]
ATTRIBUTION_COLUMNS = ["day", "asset", "market", "revenue_eur"]
PRICE_COLUMNS = ["timestamp_utc", "market", "zone", "forecast_eur_mwh", "actual_eur_mwh"]
DISPATCH_COLUMNS = ["timestamp_utc", "asset", "mw"]


def revenue_rows(day: date, cleared: list[ClearedProduct]) -> pd.DataFrame:
    """Per market and zone: revenue at the actual prices [EUR]; energy markets: the net
    energy sold ``volume_mwh`` [MWh, + sale]; capacity markets: no ``volume_mwh`` (NaN:
    capacity is not energy) but the capacity held ``capacity_mw_h`` [MW x h, both
    directions], the hours in which any was held ``capacity_h`` [h] and the mean MW held
    over those hours ``capacity_mw`` [MW]."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    held: dict[tuple[str, str], list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
    for p in cleared:
        key = (p.market, p.zone)
        entry = rows.setdefault(key, {"revenue": 0.0, "mwh": 0.0, "mw_h": 0.0})
        entry["revenue"] += p.revenue_eur
        if p.direction is None:
            entry["mwh"] += p.cleared_mw * p.hours
        elif p.cleared_mw > 0:
            entry["mw_h"] += p.cleared_mw * p.hours
            start = pd.Timestamp(p.start)
            held.setdefault(key, []).append((start, start + pd.Timedelta(hours=p.hours)))
    out = []
    for (market, zone), e in sorted(rows.items()):
        capacity = market.endswith("_capacity")
        hours = _union_hours(held.get((market, zone), []))
        out.append(
            {
                "day": day,
                "market": market,
                "zone": zone,
                "revenue_eur": round(e["revenue"], 2),
                "volume_mwh": np.nan if capacity else round(e["mwh"], 4),
                "capacity_mw_h": round(e["mw_h"], 4) if capacity else np.nan,
                "capacity_h": round(hours, 4) if capacity else np.nan,
                "capacity_mw": round(e["mw_h"] / hours, 4) if capacity and hours else np.nan,
            }
        )
    return pd.DataFrame(out, columns=REVENUE_COLUMNS)


def _union_hours(spans: list[tuple[pd.Timestamp, pd.Timestamp]]) -> float:
    """Hours covered by at least one of `spans` (start, end)."""
    total, reached = 0.0, None
    for start, end in sorted(spans):
        if reached is not None and start < reached:
            start = reached
        if end > start:
            total += (end - start).total_seconds() / 3600.0
        reached = end if reached is None else max(reached, end)
    return total


def position_rows(day: date, cleared: list[ClearedProduct]) -> pd.DataFrame:
    """Every product bid: MW bid and cleared, the clearing price and the price paid
    (pay-as-bid capacity: the bid's own price), its revenue and the exchange's outcome."""
    return pd.DataFrame(
        [
            {
                "timestamp_utc": p.start,
                "day": day,
                "market": p.market,
                "zone": p.zone,
                "direction": p.direction,
                "hours": p.hours,
                "mw": p.bid_mw,
                "cleared_mw": p.cleared_mw,
                "clearing_price_eur": p.price,
                "price_paid_eur": p.remuneration if p.cleared_mw else None,
                "revenue_eur": round(p.revenue_eur, 4),
                "status": p.status,
            }
            for p in cleared
        ],
        columns=POSITION_COLUMNS,
    )


def rejected_rows(day: date, cleared: list[ClearedProduct]) -> pd.DataFrame:
    """Every product of a bid the exchange rejected, with its bid price and the reason."""
    return pd.DataFrame(
        [
            {
                "timestamp_utc": p.start,
                "day": day,
                "market": p.market,
                "zone": p.zone,
                "direction": p.direction,
                "hours": p.hours,
                "mw": p.bid_mw,
                "bid_price_eur": p.bid_price,
                "clearing_price_eur": p.price,
                "reason": p.reason,
            }
            for p in cleared
            if p.status == "rejected"
        ],
        columns=REJECTED_COLUMNS,
    )


def cost_rows(day: date, plan: Plan) -> pd.DataFrame:
    """The day's costs by kind as booked [EUR, + paid]: the plan's itemised costs without
    its expected imbalance (settled once, in the `imbalance` table)."""
    return pd.DataFrame(
        [
            {"day": day, "kind": kind, "cost_eur": round(value, 2)}
            for kind, value in sorted(plan.costs_by_kind.items())
            if kind != EXPECTED_IMBALANCE and round(value, 2) != 0
        ],
        columns=COST_COLUMNS,
    )


def attribution_rows(
    day: date,
    plan: Plan,
    cleared: list[ClearedProduct],
    actual: PriceInputs,
    zone_of: dict[str, str],
    imbalance_cost_by_zone: dict[str, float],
) -> pd.DataFrame:
    """Realised revenue by asset and market [EUR]: each asset's planned injection at its
    zone's actual day-ahead price (``day_ahead``); each capacity market's revenue split
    over the assets holding its bands, pro rata to MW x quarter hours held per product
    block; the rest of each market's revenue (intraday repositioning, whole-MW steps)
    and the imbalance settlement (market ``imbalance``, - cost) go to `PORTFOLIO`. The
    rows of a day add up to its revenue less its imbalance cost."""
    horizon = Horizon.of(day)
    injection = plan.schedule.injection_frame().reindex(horizon.periods).fillna(0.0)
    bands = plan.schedule.bands_frame()
    by_market: dict[tuple[str, str], float] = {}
    for p in cleared:
        by_market[(p.market, p.zone)] = by_market.get((p.market, p.zone), 0.0) + p.revenue_eur
    rows: dict[tuple[str, str], float] = {}

    def add(asset: str, market: str, value: float) -> None:
        rows[(asset, market)] = rows.get((asset, market), 0.0) + value

    for (market, zone), total in sorted(by_market.items()):
        assets = [a for a, z in zone_of.items() if z == zone]
        given = 0.0
        if market == "day_ahead":
            try:
                price = actual.quarter_hourly("day_ahead", zone, horizon)
            except MissingPriceError:
                price = None
            if price is not None:
                for asset in assets:
                    if asset in injection.columns:
                        value = float((injection[asset].to_numpy() * price).sum() * QUARTER_H)
                        add(asset, market, value)
                        given += value
        elif market.endswith("_capacity") and not bands.empty:
            given = _capacity_shares(market, zone, cleared, bands, assets, add)
        add(PORTFOLIO, market, total - given)
    for _zone, cost in sorted(imbalance_cost_by_zone.items()):
        add(PORTFOLIO, "imbalance", -cost)
    return pd.DataFrame(
        [
            {"day": day, "asset": asset, "market": market, "revenue_eur": round(value, 2)}
            for (asset, market), value in sorted(rows.items())
            if round(value, 2) != 0
        ],
        columns=ATTRIBUTION_COLUMNS,
    )


def _capacity_shares(
    market: str,
    zone: str,
    cleared: list[ClearedProduct],
    bands: pd.DataFrame,
    assets: list[str],
    add: Callable[[str, str, float], None],
) -> float:
    """Split each cleared capacity product of `market` in `zone` over the assets' bands."""
    given = 0.0
    products = [p for p in CAPACITY_OF_PRODUCT if CAPACITY_OF_PRODUCT[p] == market]
    mine = bands[bands["asset_id"].isin(assets) & bands["product"].astype(str).isin(products)]
    if mine.empty:
        return 0.0
    # masks on arrays made once, and one sum per block and product however many pools
    # cleared it: the same rows summed the same way as a filter per cleared product
    times = pd.DatetimeIndex(pd.to_datetime(mine["quarter_hour"], utc=True))
    kinds = mine["product"].astype(str).to_numpy()
    summed: dict[tuple[pd.Timestamp, float, str], pd.Series] = {}
    wanted = {"pos": "afrr_pos", "neg": "afrr_neg", "up": "afrr_pos", "down": "afrr_neg"}
    for p in cleared:
        if p.market != market or p.zone != zone or p.revenue_eur == 0:
            continue
        product = "fcr" if market == "fcr_capacity" else wanted.get(str(p.direction), "")
        start = pd.Timestamp(p.start)
        key = (start, float(p.hours), product)
        if key not in summed:
            end = start + pd.Timedelta(hours=p.hours)
            inside = (times >= start) & (times < end) & (kinds == product)
            summed[key] = mine[inside].groupby("asset_id")["mw"].sum()
        per_asset = summed[key]
        total = float(per_asset.sum())
        if total <= 0:
            continue
        for asset, mw in per_asset.items():
            value = p.revenue_eur * float(mw) / total
            add(str(asset), market, value)
            given += value
    return given


def price_rows(day: date, seen: PriceInputs, actual: PriceInputs, zones: set[str]) -> pd.DataFrame:
    """Per quarter hour of `day`, the energy prices the plan saw (the forecast) beside the
    actual ones [EUR/MWh], for each energy market and zone with an actual price."""
    horizon = Horizon.of(day)
    parts = []
    for market in ENERGY_PRICE_MARKETS:
        for zone in sorted(zones):
            try:
                real = actual.quarter_hourly(market, zone, horizon)
            except MissingPriceError:
                continue
            try:
                forecast = seen.quarter_hourly(market, zone, horizon)
            except MissingPriceError:
                forecast = np.full(horizon.n, np.nan)
            parts.append(
                pd.DataFrame(
                    {
                        "timestamp_utc": horizon.periods,
                        "market": market,
                        "zone": zone,
                        "forecast_eur_mwh": forecast,
                        "actual_eur_mwh": real,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=PRICE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def dispatch_rows(plan: Plan) -> pd.DataFrame:
    """Each asset's planned net injection per quarter hour [MW, + injection]."""
    injection = plan.schedule.injection_frame()
    if injection.empty:
        return pd.DataFrame(columns=DISPATCH_COLUMNS)
    frame = injection.rename_axis("timestamp_utc").reset_index()
    return frame.melt(id_vars="timestamp_utc", var_name="asset", value_name="mw")[DISPATCH_COLUMNS]
