"""The project's own sample prices: generated, deterministic, shaped like real markets.

Nothing here is real market data and nothing is copied from a data set. A small model makes
prices whose shapes and levels resemble the coupled continental markets of recent years,
so that examples, demos and tests have plausible inputs without licence questions:

- **Day-ahead** (EUR/MWh) per bidding zone, in the SDAC market time unit of each delivery
  day (hourly before 2025-10-01, 15 minutes from then; taken from `markets.eu`). The
  price is a weekday/weekend and seasonal level times a daily demand shape (night trough,
  morning ramp, evening peak that is steeper after sunny days, an occasional evening
  scarcity spike), minus a midday solar dip that scales with the day's sunshine and the
  season, minus a wind discount, plus mean-reverting noise. Deep dips below zero are
  compressed towards zero, so sunny weekend middays show a cluster of slightly negative
  and some clearly negative quarter hours. Zones share the day's weather and a common
  noise path (correlated), each with its own level, solar and wind weights.
- **Intraday** (EUR/MWh), a documented **proxy**, not a market model: every quarter hour
  the day-ahead price of its period, plus 0.25 x that price's deviation from the day's
  mean day-ahead price (a wider spread than day-ahead), plus mean-reverting
  (Ornstein-Uhlenbeck) noise with a half-life of one hour and a standard deviation of
  about 9 EUR/MWh, larger in sunny middays. Always 15-minute.
- **aFRR capacity** (EUR/MW/h) per zone, 4-hour block and direction; blocks start at
  local 00, 04, ..., 20, so on a DST day the first block lasts 3 or 5 hours. Positive
  capacity is dearest in the evening block, negative capacity around midday.
- **aFRR energy** (EUR/MWh) per zone, quarter hour and direction: the day-ahead price plus
  a premium (positive direction) or minus a discount (negative direction), with rare
  activation spikes.
- **FCR capacity** (EUR/MW/h) per 4-hour block, symmetric (one price, no direction), on
  the same blocks as aFRR capacity. FCR is bought in one common auction of the FCR
  Cooperation, which mostly clears at a single price, so every zone gets the **same**
  price (no country-specific prices from export limits are modelled). The price is a level
  of 12 EUR/MW/h times a day factor (log-normal, s.d. 0.25; 1.15x at weekends) times a
  block shape (dearest at night and in the midday solar block, cheapest in the morning and
  evening ramps) times block noise (log-normal, s.d. 0.15), kept within 5-25 EUR/MW/h,
  i.e. 20-100 EUR/MW per 4-hour block as published. Its draws come from their own
  stream keyed by (seed, delivery day) only, so adding FCR changed no other price.

Sign conventions: prices are EUR/MWh or EUR/MW/h paid to the seller. For aFRR energy in
the negative direction a positive price is paid by the provider to the TSO and a
negative one to the provider (the German/PICASSO convention).

Delivery days are Europe/Berlin local days (all five zones keep CET/CEST), so a DST day
has 92 or 100 quarter hours (23 or 25 hours). Every random draw comes from PCG64 seeded by
(seed, delivery day, zone, purpose): a day's prices do not depend on the window they are
generated in, and the raw bit stream is stable across NumPy versions. Public holidays are
not modelled.

Write the files with ``python -m trading.prices.sample OUT_DIR --start 2026-06-12 --days 4``.
"""

from __future__ import annotations

import argparse
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from markets.calendar import local_boundaries, mtu_starts
from markets.eu import sdac_day_ahead
from markets.rules import Rule, in_force
from trading.prices.readers import (
    AFRR_CAPACITY_NEG,
    AFRR_CAPACITY_POS,
    AFRR_ENERGY_NEG,
    AFRR_ENERGY_POS,
    FCR_CAPACITY,
    FCR_CAPACITY_COLUMN,
    PRICE,
    RESOLUTION,
    TIMESTAMP,
    ZONE,
    StrPath,
    long_price_frame,
)

TIMEZONE = "Europe/Berlin"
"""Time zone of the generated delivery days and of the aFRR capacity blocks."""

DEFAULT_ZONES: tuple[str, ...] = ("DE_LU", "NL", "BE", "FR", "AT")
DEFAULT_SEED = 7
COMMITTED_START = date(2026, 6, 12)
"""First delivery day of ``data/sample_prices`` (a Friday: the window holds a weekend)."""
COMMITTED_DAYS = 4

DAY_AHEAD_FILE = "day_ahead.csv"
INTRADAY_FILE = "intraday.csv"
AFRR_FILE = "afrr.csv"
README_FILE = "README.md"

BLOCK_HOURS = "block_hours"
QUARTER_HOUR = 15


@dataclass(frozen=True)
class _ZoneStyle:
    """How one zone's prices differ from the others (levels are illustrative, not fitted)."""

    level: float  # EUR/MWh; a weekday night is 1.2x this in summer, 0.95x in winter
    solar: float  # weight of the midday solar dip (1 = German depth)
    evening: float  # weight of the evening peak
    wind: float  # EUR/MWh taken off at full wind
    capacity_pos: float  # EUR/MW/h, typical positive aFRR capacity price
    capacity_neg: float  # EUR/MW/h, typical negative aFRR capacity price
    premium: float  # scale of the aFRR energy premium and discount
    own: float  # 0..1, how much of its weather and noise the zone does not share


_STYLES: dict[str, _ZoneStyle] = {
    "DE_LU": _ZoneStyle(105.0, 1.00, 1.00, 40.0, 9.0, 7.0, 1.00, 0.15),
    "NL": _ZoneStyle(108.0, 0.95, 0.95, 45.0, 11.0, 9.0, 1.10, 0.25),
    "BE": _ZoneStyle(104.0, 0.85, 1.00, 35.0, 10.0, 8.0, 1.00, 0.30),
    "FR": _ZoneStyle(88.0, 0.55, 0.65, 25.0, 7.0, 6.0, 0.90, 0.60),
    "AT": _ZoneStyle(112.0, 0.80, 1.05, 25.0, 12.0, 9.0, 1.05, 0.30),
}

_WEEKDAY_LEVEL = (0.98, 1.0, 1.0, 1.0, 0.99, 0.85, 0.76)  # Monday ... Sunday
# aFRR capacity price by 4-hour block (00-04, ..., 20-24 local) relative to the zone's mean.
_CAPACITY_POS_SHAPE = (0.85, 1.15, 0.95, 0.80, 1.30, 1.05)
_CAPACITY_NEG_SHAPE = (1.15, 0.85, 1.15, 1.35, 0.80, 0.95)
# FCR capacity (common to all zones of the FCR Cooperation), EUR/MW/h, by 4-hour block.
_FCR_LEVEL = 12.0
_FCR_SHAPE = (1.15, 0.85, 1.00, 1.10, 0.90, 1.00)
_FCR_RANGE = (5.0, 25.0)

# Purposes of the random streams (part of each stream's seed; never renumber).
_DAY = 0
_ZONE = 1
_COMMON_NOISE = 2
_ZONE_NOISE = 3
_INTRADAY = 4
_AFRR_ENERGY = 5
_AFRR_CAPACITY = 6
_WEATHER = 7
_FCR_CAPACITY = 8


class _Draws:
    """Uniform and normal draws from PCG64's raw bits (stable across NumPy versions)."""

    def __init__(self, seed: int, day: date, zone: str | None, purpose: int) -> None:
        zone_key = 0 if zone is None else zlib.crc32(zone.encode("utf-8")) + 1
        key = [seed, day.toordinal(), zone_key, purpose]
        self._bits = np.random.PCG64(np.random.SeedSequence(key))

    def uniform(self, n: int) -> np.ndarray:
        """`n` draws in the open interval (0, 1)."""
        raw = self._bits.random_raw(n)
        return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def normal(self, n: int) -> np.ndarray:
        """`n` standard normal draws (Box-Muller)."""
        radius = np.sqrt(-2.0 * np.log(self.uniform(n)))
        return radius * np.cos(2.0 * math.pi * self.uniform(n))


def _ar1(shocks: np.ndarray, phi: float, sd: np.ndarray | float) -> np.ndarray:
    """A stationary AR(1) path with coefficient `phi` and marginal s.d. `sd`."""
    sds = np.broadcast_to(np.asarray(sd, dtype=np.float64), shocks.shape)
    path = np.empty_like(shocks)
    path[0] = sds[0] * shocks[0]
    innovation = math.sqrt(1.0 - phi * phi)
    for i in range(1, shocks.size):
        path[i] = phi * path[i - 1] + innovation * sds[i] * shocks[i]
    return path


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A bell of height 1 at hour `centre` with standard deviation `width` hours."""
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def _price(value: np.ndarray) -> np.ndarray:
    """Rounded to the cent; no negative zero, so files never show ``-0.00``."""
    return np.round(value, 2) + 0.0


@cache
def _sdac_mtu_history() -> tuple[Rule[int], ...]:
    """SDAC's market time unit history; it is the same in every coupled zone."""
    return sdac_day_ahead("DE", "DE_LU", TIMEZONE).mtu_minutes


def day_ahead_mtu_minutes(day: date) -> int:
    """SDAC market time unit on delivery day `day` in minutes: 60, or 15 from 2025-10-01."""
    entry = in_force(_sdac_mtu_history(), day)
    if entry is None:
        raise ValueError(f"no SDAC market time unit is known for delivery day {day}")
    return int(entry.value)


@dataclass(frozen=True)
class _Day:
    """One delivery day's quarter-hour grid and what all zones share on it."""

    day: date
    quarters: pd.DatetimeIndex  # UTC starts, 92/96/100 of them
    local_hour: np.ndarray  # local wall-clock hour at the middle of each quarter hour
    quarter_in_hour: np.ndarray  # 0..3: which quarter of its local hour
    solar: np.ndarray  # clear-sky solar shape 0..1
    winter: float  # 1 in mid-January, 0 in mid-July
    sun: float  # 0..1, the day's sunshine
    wind: float  # 0..1, the day's wind
    fuel: float  # EUR/MWh, the day's fuel and carbon shock
    common_noise: np.ndarray  # EUR/MWh, shared by all zones
    common_intraday: np.ndarray  # standard normal OU path shared by all zones
    scarcity: float  # >= 1, multiplies the evening peak on a tight day


def _shared(day: date, seed: int) -> _Day:
    starts = mtu_starts(day, TIMEZONE, QUARTER_HOUR)
    quarters = pd.DatetimeIndex(starts).as_unit("ns")
    middle = quarters + pd.Timedelta(minutes=QUARTER_HOUR / 2)
    local = middle.tz_convert(TIMEZONE)
    local_hour = np.asarray(local.hour + local.minute / 60.0, dtype=np.float64)
    utc_midnight = pd.Timestamp(day.isoformat(), tz="UTC")
    utc_hour = np.asarray((middle - utc_midnight) / pd.Timedelta(hours=1), dtype=np.float64)
    winter = 0.5 * (1.0 + math.cos(2.0 * math.pi * (day.timetuple().tm_yday - 15) / 365.25))
    half_daylight = 4.3 + 3.9 * (1.0 - winter)  # hours from solar noon to sunset
    solar_noon_utc = 11.3  # about 10 degrees east
    solar = np.clip(np.cos(0.5 * math.pi * (utc_hour - solar_noon_utc) / half_daylight), 0, 1)
    draws = _Draws(seed, day, None, _DAY)
    tight, spike = draws.uniform(2)
    fuel = 8.0 * draws.normal(1)[0]
    sun, wind = _weather(seed, day, None)
    n = len(quarters)
    return _Day(
        day=day,
        quarters=quarters,
        local_hour=local_hour,
        quarter_in_hour=np.asarray(local.minute // QUARTER_HOUR, dtype=np.float64),
        solar=np.where(np.abs(utc_hour - solar_noon_utc) < half_daylight, solar, 0.0) ** 1.5,
        winter=winter,
        sun=sun,
        wind=wind,
        fuel=float(fuel),
        common_noise=_ar1(_Draws(seed, day, None, _COMMON_NOISE).normal(n), 0.93, 7.0),
        common_intraday=_ar1(
            _Draws(seed, day, None, _INTRADAY).normal(n), math.exp(-math.log(2) / 4), 1.0
        ),
        scarcity=float(1.5 + 2.0 * spike) if tight < 0.12 else 1.0,
    )


def _weather(seed: int, day: date, zone: str | None) -> tuple[float, float]:
    """Sunshine and wind (0..1) of `day`, persistent over a few days.

    Each is a weighted mean of this and the two previous days' uniform draws, mapped back
    to a uniform through the normal approximation, then skewed: sunshine towards sunny
    (u^0.55, mean 0.65), wind towards calm (u^1.8, mean 0.36). Only draws keyed by day, so
    a day's weather does not depend on where a window starts.
    """
    weights = (0.6, 0.3, 0.1)
    spread = math.sqrt(sum(w * w for w in weights) / 12.0)
    mixed = sum(
        w * _Draws(seed, date.fromordinal(day.toordinal() - back), zone, _WEATHER).uniform(2)
        for back, w in enumerate(weights)
    )
    sun_u, wind_u = (0.5 * (1.0 + math.erf((m - 0.5) / spread / math.sqrt(2.0))) for m in mixed)
    return float(sun_u**0.55), float(wind_u**1.8)


def _compress_negative(price: np.ndarray, scale: float = 15.0) -> np.ndarray:
    """Below zero, -scale*ln(1 + |p|/scale): renewables bid near zero, deep dips are rare."""
    negative = price < 0
    squeezed = -scale * np.log1p(-np.where(negative, price, 0.0) / scale)
    return np.where(negative, squeezed, price)


@dataclass(frozen=True)
class _ZoneDay:
    day_ahead_starts: pd.DatetimeIndex
    day_ahead: np.ndarray  # EUR/MWh per day-ahead MTU
    mtu_minutes: int
    intraday: np.ndarray  # EUR/MWh per quarter hour
    energy_pos: np.ndarray  # EUR/MWh per quarter hour
    energy_neg: np.ndarray  # EUR/MWh per quarter hour
    block_starts: list[datetime]
    block_hours: list[int]
    capacity_pos_published: np.ndarray  # EUR/MW per block, as a market would publish it
    capacity_neg_published: np.ndarray


def _zone_day(shared: _Day, zone: str, seed: int) -> _ZoneDay:
    """All of one zone's prices on one delivery day (see the module docstring)."""
    style = _STYLES[zone]
    day, n = shared.day, len(shared.quarters)
    draws = _Draws(seed, day, zone, _ZONE)
    own_sun, own_wind = _weather(seed, day, zone)
    sun = (1.0 - style.own) * shared.sun + style.own * own_sun
    wind = (1.0 - style.own) * shared.wind + style.own * own_wind
    offset = (3.0 + 20.0 * style.own) * draws.normal(1)[0]  # EUR/MWh
    weekday = day.weekday()
    working = weekday < 5
    hour = shared.local_hour

    winter = shared.winter
    night = style.level * (1.2 - 0.25 * winter) * _WEEKDAY_LEVEL[weekday]
    demand = 1.0 if working else 0.4
    evening = (0.95 - 0.30 * winter) * style.evening * (1.0 + 0.3 * sun) * shared.scarcity
    shape = (
        (0.10 + 0.55 * winter) * demand * _bump(hour, 8.3, 1.6)
        + (0.10 + 0.45 * winter) * demand * _bump(hour, 12.5, 2.8)
        + evening * _bump(hour, 20.3 - 2.8 * winter, 1.7)
    )
    # Less load at a weekend midday: the same sunshine pushes the price further down.
    solar_depth = (150.0 if working else 165.0) * sun * (0.3 + 0.7 * (1.0 - winter)) * style.solar
    smooth = night * (1.0 + shape) - solar_depth * shared.solar - style.wind * wind
    # 15-minute SDAC results tilt the quarter hours of an hour along the ramp, more steeply
    # than the hourly trend; the tilt averages out over the hour.
    slope = np.gradient(smooth, 0.25)  # EUR/MWh per hour
    tilt = 0.9 * slope * (shared.quarter_in_hour - 1.5) / 3.0
    noise = _Draws(seed, day, zone, _ZONE_NOISE)
    zone_noise = _ar1(noise.normal(n), 0.9, 4.0) + 3.0 * noise.normal(n)
    noise_scale = 1.0 + 0.5 * sun * shared.solar
    quarter_price = (
        smooth
        + tilt
        + (1.0 - 0.5 * style.own) * shared.fuel
        + offset
        + noise_scale * ((1.0 - style.own) * shared.common_noise + (1.0 + style.own) * zone_noise)
    )
    quarter_price = _compress_negative(quarter_price)

    mtu = day_ahead_mtu_minutes(day)
    per_mtu = mtu // QUARTER_HOUR
    day_ahead = _price(quarter_price.reshape(-1, per_mtu).mean(axis=1))
    starts = pd.DatetimeIndex(mtu_starts(day, TIMEZONE, mtu)).as_unit("ns")
    per_quarter = np.repeat(day_ahead, per_mtu)

    intraday_sd = 9.0 * (1.0 + 0.8 * sun * shared.solar)
    own = _ar1(_Draws(seed, day, zone, _INTRADAY).normal(n), math.exp(-math.log(2) / 4), 1.0)
    intraday_noise = intraday_sd * (0.6 * shared.common_intraday + 0.8 * own)
    intraday = _price(per_quarter + 0.25 * (per_quarter - day_ahead.mean()) + intraday_noise)

    energy = _Draws(seed, day, zone, _AFRR_ENERGY)
    premium = style.premium * (20.0 + np.exp(3.3 + 0.6 * energy.normal(n)))
    spike_up = np.where(energy.uniform(n) < 0.03, 150.0 + 450.0 * energy.uniform(n), 0.0)
    discount = style.premium * (15.0 + np.exp(3.1 + 0.6 * energy.normal(n)))
    spike_down = np.where(energy.uniform(n) < 0.03, 100.0 + 300.0 * energy.uniform(n), 0.0)

    bounds = local_boundaries(day, TIMEZONE, 4)
    hours = [round((end - start).total_seconds() / 3600) for start, end in pairwise(bounds)]
    capacity = _Draws(seed, day, zone, _AFRR_CAPACITY)
    blocks = len(hours)  # 6: a block start never falls into the spring-forward gap
    midday = np.array([1.0, 1.0, 0.8 + 0.5 * sun, 0.8 + 0.5 * sun, 1.0, 1.0])
    pos_per_hour = (
        style.capacity_pos
        * np.array(_CAPACITY_POS_SHAPE)
        * (1.0 if working else 0.9)
        * np.exp(0.25 * capacity.normal(blocks) - 0.03)
    )
    neg_per_hour = (
        style.capacity_neg
        * np.array(_CAPACITY_NEG_SHAPE)
        * midday
        * (1.0 if working else 1.1)
        * np.exp(0.25 * capacity.normal(blocks) - 0.03)
    )
    return _ZoneDay(
        day_ahead_starts=starts,
        day_ahead=day_ahead,
        mtu_minutes=mtu,
        intraday=intraday,
        energy_pos=_price(per_quarter + premium + spike_up),
        energy_neg=_price(per_quarter - discount - spike_down),
        block_starts=list(bounds[:-1]),
        block_hours=hours,
        capacity_pos_published=_price(pos_per_hour * np.array(hours)),
        capacity_neg_published=_price(neg_per_hour * np.array(hours)),
    )


def _fcr_day(day: date, seed: int) -> np.ndarray:
    """FCR capacity of `day` in EUR/MW per block, as published; the same in every zone.

    One stream keyed by (seed, day) alone: 1 draw for the day level, then 1 per block.
    """
    bounds = local_boundaries(day, TIMEZONE, 4)
    hours = np.array(
        [round((end - start).total_seconds() / 3600) for start, end in pairwise(bounds)]
    )
    draws = _Draws(seed, day, None, _FCR_CAPACITY)
    day_level = math.exp(0.25 * draws.normal(1)[0] - 0.03) * (1.0 if day.weekday() < 5 else 1.15)
    per_hour = (
        _FCR_LEVEL
        * day_level
        * np.array(_FCR_SHAPE)
        * np.exp(0.15 * draws.normal(len(hours)) - 0.01)
    )
    return _price(np.clip(per_hour, *_FCR_RANGE) * hours)


@dataclass(frozen=True)
class SamplePrices:
    """Generated prices for some delivery days and zones (see the module docstring).

    Every frame is indexed by ``timestamp_utc`` (UTC, tz-aware, start of the period) and
    sorted by time, then zone, exactly like the readers' frames.

    Attributes:
        day_ahead: ``zone``, ``price_eur_mwh`` (EUR/MWh), ``resolution_min`` (60 or 15).
        intraday: the same columns; a proxy, always 15-minute.
        afrr_capacity: one row per zone and 4-hour block (index = block start):
            ``zone``, ``block_hours`` (3, 4 or 5), ``afrr_capacity_pos_eur_per_mw_h`` and
            ``afrr_capacity_neg_eur_per_mw_h`` (EUR/MW/h).
        afrr_energy: one row per zone and quarter hour: ``zone``,
            ``afrr_energy_pos_eur_mwh`` and ``afrr_energy_neg_eur_mwh`` (EUR/MWh).
        fcr_capacity: one row per zone and 4-hour block (index = block start): ``zone``,
            ``block_hours`` and ``fcr_capacity_eur_per_mw_h`` (EUR/MW/h, symmetric; the
            same in every zone).
        start_day, days, zones, seed: the arguments they were generated with.
    """

    day_ahead: pd.DataFrame
    intraday: pd.DataFrame
    afrr_capacity: pd.DataFrame
    afrr_energy: pd.DataFrame
    fcr_capacity: pd.DataFrame
    start_day: date
    days: int
    zones: tuple[str, ...]
    seed: int

    def balancing(self) -> pd.DataFrame:
        """aFRR and FCR prices per quarter hour, as `read_balancing_prices` returns them.

        Columns ``zone``, ``afrr_capacity_pos_eur_per_mw_h``,
        ``afrr_capacity_neg_eur_per_mw_h`` (EUR/MW/h, the block's price on each of its
        quarter hours), ``afrr_energy_pos_eur_mwh``, ``afrr_energy_neg_eur_mwh`` (EUR/MWh),
        ``fcr_capacity_eur_per_mw_h`` (EUR/MW/h, the block's price on each quarter hour).
        """
        return _per_quarter(self).drop(columns=BLOCK_HOURS)


def _per_quarter(prices: SamplePrices) -> pd.DataFrame:
    """aFRR energy rows with their block's capacity prices and ``block_hours`` joined."""
    capacity = prices.afrr_capacity.reset_index().sort_values(TIMESTAMP, kind="stable")
    fcr = prices.fcr_capacity.drop(columns=BLOCK_HOURS).reset_index()
    energy = prices.afrr_energy.reset_index().sort_values(TIMESTAMP, kind="stable")
    merged = pd.merge_asof(energy, capacity, on=TIMESTAMP, by=ZONE, direction="backward")
    fcr = fcr.sort_values(TIMESTAMP, kind="stable")
    merged = pd.merge_asof(merged, fcr, on=TIMESTAMP, by=ZONE, direction="backward")
    merged = merged.sort_values([TIMESTAMP, ZONE], kind="stable").set_index(TIMESTAMP)
    columns = [ZONE, AFRR_CAPACITY_POS, AFRR_CAPACITY_NEG, AFRR_ENERGY_POS, AFRR_ENERGY_NEG]
    return merged[[*columns, FCR_CAPACITY, BLOCK_HOURS]]


def _check_arguments(start_day: date, days: int, zones: Sequence[str], seed: int) -> None:
    if isinstance(start_day, datetime) or not isinstance(start_day, date):
        raise ValueError(f"start_day={start_day!r} must be a date (a delivery day), not a time")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days={days!r} must be a whole number of days, at least 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    unknown = [zone for zone in zones if zone not in _STYLES]
    if unknown or not zones or len(set(zones)) != len(zones):
        raise ValueError(
            f"zones={tuple(zones)!r} must be distinct zones among {', '.join(_STYLES)}"
        )


def generate_sample_prices(
    start_day: date,
    days: int,
    zones: Sequence[str] = DEFAULT_ZONES,
    seed: int = DEFAULT_SEED,
) -> SamplePrices:
    """Generate sample prices for `days` delivery days from `start_day` (Europe/Berlin).

    Deterministic: the same arguments give the same prices, and each day's prices for a
    zone depend only on (seed, day, zone), not on the window or the other zones. See the
    module docstring for the model, the intraday proxy and the sign conventions.

    Args:
        start_day: first delivery day (a local calendar day in Europe/Berlin).
        days: number of consecutive delivery days, at least 1.
        zones: bidding zones among DE_LU, NL, BE, FR, AT.
        seed: non-negative seed of every random draw.

    Returns:
        The four frames, in EUR/MWh (energy) and EUR/MW/h (capacity).

    Raises:
        ValueError: on an argument outside the ranges above.
    """
    zones = tuple(zones)
    _check_arguments(start_day, days, zones, seed)
    da: dict[str, list] = {TIMESTAMP: [], ZONE: [], PRICE: [], RESOLUTION: []}
    intraday: dict[str, list] = {TIMESTAMP: [], ZONE: [], PRICE: []}
    energy: dict[str, list] = {TIMESTAMP: [], ZONE: [], AFRR_ENERGY_POS: [], AFRR_ENERGY_NEG: []}
    capacity: dict[str, list] = {
        TIMESTAMP: [],
        ZONE: [],
        BLOCK_HOURS: [],
        AFRR_CAPACITY_POS: [],
        AFRR_CAPACITY_NEG: [],
    }
    fcr: dict[str, list] = {TIMESTAMP: [], ZONE: [], BLOCK_HOURS: [], FCR_CAPACITY: []}
    for offset in range(days):
        day = date.fromordinal(start_day.toordinal() + offset)
        shared = _shared(day, seed)
        quarters = len(shared.quarters)
        fcr_published = _fcr_day(day, seed)  # EUR/MW per block, one price for every zone
        for zone in zones:
            prices = _zone_day(shared, zone, seed)
            count = len(prices.day_ahead_starts)
            da[TIMESTAMP].extend(prices.day_ahead_starts)
            da[ZONE].extend([zone] * count)
            da[PRICE].extend(prices.day_ahead)
            da[RESOLUTION].extend([prices.mtu_minutes] * count)
            intraday[TIMESTAMP].extend(shared.quarters)
            intraday[ZONE].extend([zone] * quarters)
            intraday[PRICE].extend(prices.intraday)
            energy[TIMESTAMP].extend(shared.quarters)
            energy[ZONE].extend([zone] * quarters)
            energy[AFRR_ENERGY_POS].extend(prices.energy_pos)
            energy[AFRR_ENERGY_NEG].extend(prices.energy_neg)
            hours = np.array(prices.block_hours, dtype=np.float64)
            capacity[TIMESTAMP].extend(prices.block_starts)
            capacity[ZONE].extend([zone] * len(hours))
            capacity[BLOCK_HOURS].extend(prices.block_hours)
            # What a reader of the published EUR/MW figure gets: published / block hours.
            capacity[AFRR_CAPACITY_POS].extend(prices.capacity_pos_published / hours)
            capacity[AFRR_CAPACITY_NEG].extend(prices.capacity_neg_published / hours)
            fcr[TIMESTAMP].extend(prices.block_starts)
            fcr[ZONE].extend([zone] * len(hours))
            fcr[BLOCK_HOURS].extend(prices.block_hours)
            fcr[FCR_CAPACITY].extend(fcr_published / hours)
    return SamplePrices(
        day_ahead=long_price_frame(da[TIMESTAMP], da[ZONE], da[PRICE], da[RESOLUTION]),
        intraday=long_price_frame(
            intraday[TIMESTAMP],
            intraday[ZONE],
            intraday[PRICE],
            [QUARTER_HOUR] * len(intraday[PRICE]),
        ),
        afrr_capacity=_indexed(capacity),
        afrr_energy=_indexed(energy),
        fcr_capacity=_indexed(fcr),
        start_day=start_day,
        days=days,
        zones=zones,
        seed=seed,
    )


def _indexed(columns: dict[str, list]) -> pd.DataFrame:
    frame = pd.DataFrame({name: values for name, values in columns.items() if name != TIMESTAMP})
    frame[ZONE] = pd.Series(list(frame[ZONE]), dtype=str)
    if BLOCK_HOURS in frame.columns:
        frame[BLOCK_HOURS] = frame[BLOCK_HOURS].astype("int64")
    frame.insert(0, TIMESTAMP, pd.DatetimeIndex(columns[TIMESTAMP]).as_unit("ns"))
    return frame.sort_values([TIMESTAMP, ZONE], kind="stable").set_index(TIMESTAMP)


# --- files -------------------------------------------------------------------------------


def _iso(index: pd.DatetimeIndex) -> list[str]:
    return list(index.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))


def _zone_major(frame: pd.DataFrame, zones: Sequence[str]) -> pd.DataFrame:
    """Rows grouped by zone in `zones` order, then by time, like the real data files."""
    rank = {zone: i for i, zone in enumerate(zones)}
    order = np.lexsort((frame.index.asi8, frame[ZONE].map(rank).to_numpy()))
    return frame.iloc[order]


def _long_csv(frame: pd.DataFrame, zones: Sequence[str]) -> str:
    rows = _zone_major(frame, zones)
    lines = [f"{TIMESTAMP},{ZONE},{RESOLUTION},{PRICE}"]
    lines += [
        f"{stamp},{zone},{minutes},{price:.2f}"
        for stamp, zone, minutes, price in zip(
            _iso(rows.index), rows[ZONE], rows[RESOLUTION], rows[PRICE], strict=True
        )
    ]
    return "\n".join(lines) + "\n"


def _afrr_csv(prices: SamplePrices) -> str:
    """Columns like the real SMARD-derived file plus FCR; capacity in EUR/MW per block."""
    rows = _zone_major(_per_quarter(prices), prices.zones)
    lines = [
        f"{TIMESTAMP},{ZONE},activation_price_pos_eur_mwh,activation_price_neg_eur_mwh,"
        f"capacity_price_pos_eur_mw,capacity_price_neg_eur_mw,{FCR_CAPACITY_COLUMN}"
    ]
    lines += [
        f"{stamp},{zone},{pos:.2f},{neg:.2f},{cap_pos * hours:.2f},{cap_neg * hours:.2f},"
        f"{fcr * hours:.2f}"
        for stamp, zone, pos, neg, cap_pos, cap_neg, fcr, hours in zip(
            _iso(rows.index),
            rows[ZONE],
            rows[AFRR_ENERGY_POS],
            rows[AFRR_ENERGY_NEG],
            rows[AFRR_CAPACITY_POS],
            rows[AFRR_CAPACITY_NEG],
            rows[FCR_CAPACITY],
            rows[BLOCK_HOURS],
            strict=True,
        )
    ]
    return "\n".join(lines) + "\n"


def _readme(prices: SamplePrices) -> str:
    last = date.fromordinal(prices.start_day.toordinal() + prices.days - 1)
    zones = ",".join(prices.zones)
    command = (
        f"python -m trading.prices.sample OUT_DIR --start {prices.start_day.isoformat()} "
        f"--days {prices.days} --seed {prices.seed}"
    )
    if prices.zones != DEFAULT_ZONES:
        command += f" --zones {zones}"
    return f"""# Sample prices (generated, not real market data)

These files are **generated** by vpp-engine's own model, `trading.prices.sample`
(`generate_sample_prices`), with seed **{prices.seed}**, for the delivery days
{prices.start_day.isoformat()} to {last.isoformat()} (Europe/Berlin local days) and the zones
{", ".join(prices.zones)}. No real price was copied; shapes and levels only resemble the
coupled continental markets of recent years. Use them for examples, demos and tests, never
to judge a strategy; the real data for backtests is described in the shared data folder.

Regenerate (the output is byte-identical; a test checks it):

    {command}

## Files

All files: UTF-8, comma-separated, header row, `.` as decimal point, prices to the cent.
`timestamp_utc` is the **start** of the period in UTC with a trailing `Z`; a delivery day
starts at 22:00Z in summer and 23:00Z in winter, and a DST day has 92 or 100 quarter hours
(23 or 25 hours). Rows are grouped by zone, then ordered by time.

- `{DAY_AHEAD_FILE}`: `timestamp_utc,zone,resolution_min,price_eur_mwh`. Day-ahead prices
  in EUR/MWh; `resolution_min` is the SDAC market time unit of the delivery day: 60 before
  2025-10-01, 15 from then.
- `{INTRADAY_FILE}`: the same columns. Intraday prices in EUR/MWh, always 15-minute; a
  **proxy**, see below.
- `{AFRR_FILE}`: `timestamp_utc,zone,activation_price_pos_eur_mwh,activation_price_neg_eur_mwh,`
  `capacity_price_pos_eur_mw,capacity_price_neg_eur_mw,{FCR_CAPACITY_COLUMN}`, one row per
  quarter hour. aFRR activation (energy) prices in EUR/MWh; aFRR capacity prices and the
  symmetric FCR capacity price in **EUR/MW per 4-hour block, as a market publishes
  them**, repeated on every quarter hour of the block (the columns of the real
  SMARD-derived aFRR file, without its volumes, plus `{FCR_CAPACITY_COLUMN}`, which that
  file does not have).

Read them with `trading.prices.read_day_ahead_prices`, `read_intraday_prices` and
`read_balancing_prices`; the last converts capacity prices (aFRR and FCR) to EUR/MW/h by
dividing by the block's hours. Blocks start at local 00, 04, ..., 20 (Europe/Berlin), so
on a DST day the first block lasts 3 or 5 hours.

Signs: prices are paid to the seller; negative day-ahead and intraday prices are meant.
For negative-direction aFRR energy a positive price is paid by the provider to the TSO and
a negative one to the provider (the German/PICASSO convention).

## The model, briefly

- Day-ahead: a weekday/weekend and seasonal level times a daily demand shape (night
  trough, morning ramp, evening peak, steeper after sunny days, now and then a scarcity
  spike), minus a midday solar dip that follows the day's sunshine and the season (deeper
  at weekends), minus a wind discount, plus mean-reverting noise. Quarter hours within an
  hour tilt along the ramp, as 15-minute SDAC results do. Prices below zero are compressed
  towards zero, so sunny weekend middays show negative quarter hours. Zones share the
  weather and part of the noise (correlated), each with its own level and weights.
- Intraday (**proxy**, not a market model): the day-ahead price of the quarter hour's
  period, plus 0.25 x its deviation from the day's mean day-ahead price (a wider spread),
  plus mean-reverting (Ornstein-Uhlenbeck) noise with a one-hour half-life and a standard
  deviation of about 9 EUR/MWh, larger around sunny middays.
- aFRR energy: day-ahead plus a premium (positive direction) or minus a discount
  (negative direction), with rare activation spikes.
- aFRR capacity: a zone level per direction times a block shape (positive dearest in the
  evening block, negative around midday and at night), with noise.
- FCR capacity: one price for **all zones** (the FCR Cooperation's common auction mostly
  clears at a single price; country-specific prices are not modelled): 12 EUR/MW/h times
  a day factor (higher at weekends) times a block shape (dearest at night and in the
  midday block) with noise, kept within 5-25 EUR/MW/h (20-100 EUR/MW per 4-hour block).
  Its draws have their own stream, so the other prices are as they were without it.

Every random draw comes from PCG64 seeded by (seed, delivery day, zone, purpose), so a
day's prices do not depend on the window generated. Public holidays are not modelled.
"""


def write_sample_prices(prices: SamplePrices, out_dir: StrPath) -> list[Path]:
    """Write `prices` as ``day_ahead.csv``, ``intraday.csv``, ``afrr.csv`` and ``README.md``.

    The layout follows the real data files (long CSV, UTC ``Z`` timestamps, capacity prices
    in EUR/MW per block as published). Files are written byte for byte the same on every
    platform (UTF-8, ``\\n`` line ends). Returns the paths written.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        DAY_AHEAD_FILE: _long_csv(prices.day_ahead, prices.zones),
        INTRADAY_FILE: _long_csv(prices.intraday, prices.zones),
        AFRR_FILE: _afrr_csv(prices),
        README_FILE: _readme(prices),
    }
    written = []
    for name, text in contents.items():
        path = folder / name
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-06-12") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m trading.prices.sample OUT_DIR [--start DAY] [--days N] [--seed S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m trading.prices.sample",
        description="Write vpp-engine's generated sample prices (not real data) to OUT_DIR.",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    parser.add_argument("--start", type=_day, default=COMMITTED_START, help="first delivery day")
    parser.add_argument("--days", type=int, default=COMMITTED_DAYS, help="number of days")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--zones",
        default=",".join(DEFAULT_ZONES),
        help=f"comma-separated zones among {','.join(_STYLES)}",
    )
    args = parser.parse_args(argv)
    zones = tuple(zone.strip() for zone in args.zones.split(",") if zone.strip())
    try:
        prices = generate_sample_prices(args.start, args.days, zones, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for path in write_sample_prices(prices, args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
