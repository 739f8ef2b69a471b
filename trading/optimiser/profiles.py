"""Availability profiles of pv and wind: read from a forecast file, or a documented proxy.

The optimiser needs each variable renewable's available power per quarter hour.
`read_profiles` reads a forecast file (long CSV: ``timestamp_utc``, ``asset_id``,
``available_mw``; 15- or 60-minute periods, UTC). Without one, `proxy_profiles` supplies
a profile that is explicit about being a proxy: pv
follows a clear-sky bell between 06:00 and 21:00 site-local time in summer (07:00-17:00 in
winter, scaled by the season) at 70 % of its rating at noon, and wind a constant 35 % of
its rating. It is for demonstrations and smoke tests, never for trading.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from regulatory import Portfolio
from trading.optimiser.inputs import Horizon, Profiles

PROFILE_COLUMNS = ("timestamp_utc", "asset_id", "available_mw")


class ProfileFileError(ValueError):
    """A forecast file that cannot be read, naming the file, line, column and value."""


def read_profiles(path: str | Path) -> Profiles:
    """Available power per asset [MW, >= 0] from a long CSV forecast file."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ProfileFileError(f"{path}: not a CSV file ({exc})") from exc
    missing = [c for c in PROFILE_COLUMNS if c not in raw.columns]
    if missing:
        raise ProfileFileError(
            f"{path}: missing column(s) {', '.join(missing)}; a profile file has "
            f"{', '.join(PROFILE_COLUMNS)}"
        )
    times = pd.to_datetime(raw["timestamp_utc"], utc=True, errors="coerce", format="ISO8601")
    values = pd.to_numeric(raw["available_mw"], errors="coerce")
    for column, bad, rule in (
        ("timestamp_utc", times.isna(), "an ISO 8601 time with a UTC offset"),
        ("available_mw", values.isna() | (values < 0), "a number >= 0 [MW]"),
        ("asset_id", raw["asset_id"].str.strip() == "", "an asset id"),
    ):
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise ProfileFileError(
                f"{path}, line {i + 2}: {column}={raw[column].iloc[i]!r} is not {rule}"
            )
    frame = pd.DataFrame({"asset": raw["asset_id"].str.strip(), "mw": values}).set_index(times)
    duplicated = frame.index.to_frame().assign(asset=frame["asset"].to_numpy()).duplicated()
    if duplicated.any():
        i = int(np.argmax(duplicated.to_numpy()))
        raise ProfileFileError(
            f"{path}, line {i + 2}: asset_id={frame['asset'].iloc[i]} has a second value "
            f"for {raw['timestamp_utc'].iloc[i]}"
        )
    return Profiles(
        {asset: rows["mw"].astype(float).sort_index() for asset, rows in frame.groupby("asset")}
    )


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
    return Profiles(available, sources=dict.fromkeys(available, "proxy"))
