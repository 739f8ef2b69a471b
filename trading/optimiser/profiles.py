"""Availability profiles of pv and wind when no forecast is given: a documented proxy.

The optimiser needs each variable renewable's available power per quarter hour. Without a
forecast file, `proxy_profiles` supplies one that is explicit about being a proxy: pv
follows a clear-sky bell between 06:00 and 21:00 site-local time in summer (07:00-17:00 in
winter, scaled by the season) at 70 % of its rating at noon, and wind a constant 35 % of
its rating. It is for demonstrations and smoke tests, never for trading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regulatory import Portfolio
from trading.optimiser.inputs import Horizon, Profiles

PV_PEAK_SHARE = 0.7
WIND_SHARE = 0.35


def proxy_profiles(portfolio: Portfolio, horizon: Horizon) -> Profiles:
    """Clear-sky pv and constant wind, per asset, on the horizon's quarter hours [MW]."""
    local = horizon.periods.tz_convert(horizon.timezone)
    hour = local.hour + local.minute / 60 + 0.125
    season = np.cos((horizon.day.timetuple().tm_yday - 172) / 365 * 2 * np.pi)  # 1 = June
    half_day = 7.5 + 2.5 * season
    sun = np.clip(np.cos((hour - 13.5) / half_day * np.pi / 2), 0.0, None)
    sun = np.where(np.abs(hour - 13.5) < half_day, sun, 0.0) * (0.75 + 0.25 * season)
    available = {}
    for asset in portfolio.assets:
        if asset.kind == "pv":
            values = asset.rated_power_mw * PV_PEAK_SHARE * sun  # type: ignore[attr-defined]
        elif asset.kind == "wind":
            values = np.full(horizon.n, asset.rated_power_mw * WIND_SHARE)  # type: ignore[attr-defined]
        else:
            continue
        available[asset.id] = pd.Series(values, index=horizon.periods)
    return Profiles(available)
