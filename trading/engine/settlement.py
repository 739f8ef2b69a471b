"""Settlement of a delivered day: imbalance per zone and ISP, aFRR activation energy, books.

Per zone and ISP [MWh, + = long]:

    imbalance = delivered - position - aFRR requested

(the TSO takes activated aFRR energy out of the balance responsible party's perimeter, so
energy the pool delivered because the TSO asked is not imbalance). It is settled at the
real imbalance price where one is given for the zone and ISP (the NL 2023 series of
../shared/data) and at the documented dual-price proxy otherwise
(`trading.backtest.imbalance`, named `proxy:dual_da_20pct_10eur` on each row):
settlement revenue = imbalance x price, the imbalance cost its negative.

aFRR activation energy requested by the TSO is settled per ISP at the quarter hour's
activation price (pay-as-cleared, `docs/exchange.md` convention): upward energy is paid
``pos price``; downward energy pays ``neg price`` to the TSO (a negative price pays the
provider). Where no activation price is given the energy is settled at 0 and the row
says so.

The books add up to the cent: every item is rounded to the cent first, then
``net = sum(revenue_by_market) - sum(costs_by_kind) - imbalance_cost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trading.backtest.imbalance import ImbalancePrices

AFRR_ENERGY = "afrr_energy"
"""The revenue item of activated aFRR energy."""
NO_AFRR_PRICE = "none: settled at 0"


@dataclass(frozen=True)
class ZoneDelivery:
    """One zone's day per ISP [MWh]: the position, the schedule, what was delivered (device
    truth in simulation, else measured), what the meter measured, aFRR asked (up, down >= 0)."""

    zone: str
    position_mwh: np.ndarray
    scheduled_mwh: np.ndarray
    delivered_mwh: np.ndarray
    measured_mwh: np.ndarray
    afrr_up_mwh: np.ndarray
    afrr_down_mwh: np.ndarray

    @property
    def afrr_requested_mwh(self) -> np.ndarray:
        """Net aFRR energy asked per ISP [MWh, + upward]."""
        return self.afrr_up_mwh - self.afrr_down_mwh

    @property
    def imbalance_mwh(self) -> np.ndarray:
        """delivered - position - aFRR requested, per ISP [MWh, + long]."""
        return self.delivered_mwh - self.position_mwh - self.afrr_requested_mwh


@dataclass
class Settlement:
    """A settled day: per-ISP rows and the books [EUR]."""

    rows: list[dict[str, object]]
    revenue_by_market: dict[str, float]
    costs_by_kind: dict[str, float]
    imbalance_cost_eur: float
    imbalance_by_zone: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def revenue_eur(self) -> float:
        """Sum of the revenue items [EUR]."""
        return round(sum(self.revenue_by_market.values()), 2)

    @property
    def costs_eur(self) -> float:
        """Sum of the cost items [EUR]."""
        return round(sum(self.costs_by_kind.values()), 2)

    @property
    def net_eur(self) -> float:
        """revenue - costs - imbalance cost [EUR], to the cent."""
        return round(self.revenue_eur - self.costs_eur - self.imbalance_cost_eur, 2)

    def books(self) -> dict[str, object]:
        """The books as plain data."""
        return {
            "revenue_by_market": self.revenue_by_market,
            "revenue_eur": self.revenue_eur,
            "costs_by_kind": self.costs_by_kind,
            "costs_eur": self.costs_eur,
            "imbalance_cost_eur": self.imbalance_cost_eur,
            "net_eur": self.net_eur,
        }


def settle(
    periods: pd.DatetimeIndex,
    zones: list[ZoneDelivery],
    *,
    market_revenue: Mapping[str, float],
    costs_by_kind: Mapping[str, float],
    day_ahead: Mapping[str, np.ndarray],
    imbalance_prices: ImbalancePrices,
    afrr_prices: Mapping[tuple[str, str], pd.Series] | None = None,
) -> Settlement:
    """Settle `zones` over `periods` (see the module docstring).

    `market_revenue`: what the markets paid per market [EUR] (the position book's);
    `costs_by_kind` [EUR, positive]; `day_ahead`: zone -> day-ahead price per ISP
    [EUR/MWh] for the imbalance proxy; `afrr_prices`: (zone, "pos"|"neg") -> activation
    price [EUR/MWh] by UTC quarter-hour start.
    """
    rows: list[dict[str, object]] = []
    imbalance_revenue = 0.0
    afrr_revenue = 0.0
    by_zone: dict[str, dict[str, float]] = {}
    for zone in zones:
        imbalance = zone.imbalance_mwh
        da = day_ahead.get(zone.zone)
        if da is None:
            raise ValueError(f"zone {zone.zone}: no day-ahead prices for the imbalance proxy")
        price, source = imbalance_prices.settle(zone.zone, periods, imbalance, np.asarray(da))
        up_price = _afrr(afrr_prices, zone.zone, "pos", periods)
        down_price = _afrr(afrr_prices, zone.zone, "neg", periods)
        zone_imbalance_eur = 0.0
        for q, start in enumerate(periods):
            imb_eur = float(imbalance[q] * price[q])
            up, down = float(zone.afrr_up_mwh[q]), float(zone.afrr_down_mwh[q])
            priced = not (np.isnan(up_price[q]) or np.isnan(down_price[q]))
            afrr_eur = up * float(up_price[q]) - down * float(down_price[q]) if priced else 0.0
            zone_imbalance_eur += imb_eur
            afrr_revenue += afrr_eur
            rows.append(
                {
                    "zone": zone.zone,
                    "start": start.to_pydatetime(),
                    "position_mwh": round(float(zone.position_mwh[q]), 6),
                    "scheduled_mwh": round(float(zone.scheduled_mwh[q]), 6),
                    "delivered_mwh": round(float(zone.delivered_mwh[q]), 6),
                    "metered_mwh": round(float(zone.measured_mwh[q]), 6),
                    "afrr_requested_mwh": round(up - down, 6),
                    "imbalance_mwh": round(float(imbalance[q]), 6),
                    "imbalance_price_eur_mwh": round(float(price[q]), 4),
                    "imbalance_price_source": source[q],
                    "imbalance_eur": round(imb_eur, 2),
                    "afrr_energy_eur": round(afrr_eur, 2),
                    "afrr_price_source": "activation price" if priced else NO_AFRR_PRICE,
                }
            )
        imbalance_revenue += zone_imbalance_eur
        by_zone[zone.zone] = {
            "imbalance_mwh": round(float(imbalance.sum()), 6),
            "abs_imbalance_mwh": round(float(np.abs(imbalance).sum()), 6),
            "imbalance_cost_eur": round(-zone_imbalance_eur, 2),
        }
    revenue = {market: round(float(value), 2) for market, value in market_revenue.items()}
    if any(zone.afrr_up_mwh.any() or zone.afrr_down_mwh.any() for zone in zones):
        revenue[AFRR_ENERGY] = round(revenue.get(AFRR_ENERGY, 0.0) + afrr_revenue, 2)
    return Settlement(
        rows=rows,
        revenue_by_market=dict(sorted(revenue.items())),
        costs_by_kind={k: round(float(v), 2) for k, v in sorted(costs_by_kind.items())},
        imbalance_cost_eur=round(-imbalance_revenue, 2),
        imbalance_by_zone=by_zone,
    )


def _afrr(
    prices: Mapping[tuple[str, str], pd.Series] | None,
    zone: str,
    direction: str,
    periods: pd.DatetimeIndex,
) -> np.ndarray:
    series = (prices or {}).get((zone, direction))
    if series is None:
        return np.full(len(periods), np.nan)
    return series.reindex(periods).to_numpy(dtype=float)
