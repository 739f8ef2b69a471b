"""What PV and wind really produced in a backtest: from a weather year, or a user's file.

A backtest plans PV and wind on a **forecast** of their output
(`trading.backtest.forecast_output`) and settles them on their **actual** output: what the
plan sold but the plant did not produce (or produced beyond it) is an imbalance, settled at
imbalance prices. The actual output comes from one of:

- `WeatherActuals`: modelled from measured weather (the DWD 2015 quarter-hour year of
  ../shared/data: ``timestamp_utc``, ``ghi_w_m2``, ``dhi_w_m2``, ``dni_w_m2``,
  ``wind_speed_10m_m_s``, ``air_pressure_pa``, ``air_temperature_c``):

  * **PV** with pvlib (the field's reference library): sun position at the middle of each
    quarter hour at `PvModel`'s location, plane-of-array irradiance (Hay-Davies transposition
    of the measured GHI, DHI and DNI) on a fixed south-facing plane, SAPM cell temperature
    (open rack, glass/polymer), PVWatts DC power of the asset's ``dc_capacity_mwp`` (else
    `PvModel.dc_ac_ratio` x its rating) with system losses, then an inverter efficiency and
    the AC rating as a cap [MW].
  * **Wind** with the manufacturer power curves of ../shared/data
    (``wind_turbine_power_curves.csv``, ``wind_turbine_types.csv``): the 10 m wind speed
    taken to hub height by the logarithmic profile (roughness `WindModel.roughness_m`),
    corrected for air density (``v (rho / 1.225)^(1/3)``, rho from the measured pressure and
    temperature), through the curve of the asset's ``turbine_type`` (zero beyond the curve's
    last speed: cut-out), times ``turbine_count``, less `WindModel.losses` (wake,
    electrical, availability), capped at the rating [MW]. A type without a curve in the
    library takes the curve of the same rotor (the name before ``/``) with the nearest
    nominal power, scaled to its own nominal power, and the notes say so.

  **Weather year and price year differ** (weather 2015, prices e.g. 2023): each delivery
  day is given the weather of the same calendar date in the weather year (day-of-year
  alignment; 29 February takes 28 February), keeping the UTC clock time; weekdays are not
  aligned (weather does not follow them). A quarter hour that falls outside the weather
  year (the local 1 January's first hour, 23:00Z the day before) takes the same UTC time
  one day later. The notes state this mapping.

- `FileActuals`: a user's file of measured output, the profile layout of
  `trading.optimiser.profiles.read_profiles` (``timestamp_utc``, ``asset_id``,
  ``available_mw``), on the price year's own timestamps.

Units: MW of AC output at the grid, positive = injection, per UTC quarter hour (start).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from regulatory import Portfolio
from regulatory.assets.generation import PV, Wind
from trading.optimiser.inputs import Horizon, Profiles
from trading.optimiser.profiles import read_profiles

WEATHER_COLUMNS = (
    "timestamp_utc",
    "ghi_w_m2",
    "dhi_w_m2",
    "dni_w_m2",
    "wind_speed_10m_m_s",
    "air_pressure_pa",
    "air_temperature_c",
)
"""Columns of a weather file (`read_weather`), as in ../shared/data's DWD year."""

AIR_DENSITY_STANDARD = 1.225
"""Air density of the power curves [kg/m^3] (IEC 61400-12 standard conditions)."""

GAS_CONSTANT_DRY_AIR = 287.058
"""Specific gas constant of dry air [J/(kg K)]."""


class ActualsError(ValueError):
    """Weather, turbine or output data that cannot be used; the message names the file,
    the asset or the field, the value and the rule."""


@dataclass(frozen=True)
class PvModel:
    """How PV output is modelled from weather (every figure a stated assumption)."""

    latitude: float = 51.0
    """[deg N]; the DWD station is undocumented: central Germany."""
    longitude: float = 7.5
    """[deg E]; puts solar noon at the weather's irradiance centroid (~11:30 UTC)."""
    altitude_m: float = 100.0
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    """Plane orientation [deg], 180 = south."""
    dc_ac_ratio: float = 1.2
    """DC modules per AC MW where the asset has no ``dc_capacity_mwp``."""
    gamma_pdc: float = -0.004
    """DC power temperature coefficient [1/K]."""
    system_losses: float = 0.14
    """Soiling, shading, mismatch, wiring, degradation... (PVWatts' default 14 %)."""
    inverter_efficiency: float = 0.96


@dataclass(frozen=True)
class WindModel:
    """How wind output is modelled from weather (every figure a stated assumption)."""

    roughness_m: float = 0.1
    """Surface roughness length of the logarithmic wind profile [m] (open farmland)."""
    losses: float = 0.10
    """Wake, electrical and availability losses of the farm."""


def read_weather(path: str | Path) -> pd.DataFrame:
    """A weather file (`WEATHER_COLUMNS`), indexed by UTC quarter-hour start.

    Raises:
        ActualsError: a missing column or an unreadable value, naming file, line, column.
    """
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ActualsError(f"{path}: not a CSV file ({exc})") from exc
    missing = [c for c in WEATHER_COLUMNS if c not in raw.columns]
    if missing:
        raise ActualsError(
            f"{path}: missing column(s) {', '.join(missing)}; a weather file has "
            f"{', '.join(WEATHER_COLUMNS)}"
        )
    times = pd.to_datetime(raw["timestamp_utc"], utc=True, errors="coerce", format="ISO8601")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise ActualsError(
            f"{path}, line {i + 2}: timestamp_utc={raw['timestamp_utc'].iloc[i]!r} is not an "
            "ISO 8601 time with a UTC offset"
        )
    frame = raw[list(WEATHER_COLUMNS[1:])].apply(pd.to_numeric, errors="coerce")
    frame.index = pd.DatetimeIndex(times, name="timestamp_utc")
    bad = frame.isna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ActualsError(
            f"{path}, line {row + 2}: {frame.columns[col]}="
            f"{raw[frame.columns[col]].iloc[row]!r} is not a number"
        )
    return frame.sort_index()


@dataclass
class TurbineLibrary:
    """Power curves [W by m/s] and metadata of turbine types."""

    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    nominal_w: dict[str, float]
    hub_heights_m: dict[str, list[float]]

    @classmethod
    def read(cls, curves_path: str | Path, types_path: str | Path) -> TurbineLibrary:
        """From ``wind_turbine_power_curves.csv`` (``turbine_type``, ``wind_speed_m_s``,
        ``power_w``) and ``wind_turbine_types.csv`` (``turbine_type``, ``nominal_power_w``,
        ``hub_heights_m``)."""
        curves_frame = pd.read_csv(curves_path)
        types = pd.read_csv(types_path)
        for path, frame, needed in (
            (curves_path, curves_frame, ("turbine_type", "wind_speed_m_s", "power_w")),
            (types_path, types, ("turbine_type", "nominal_power_w", "hub_heights_m")),
        ):
            missing = [c for c in needed if c not in frame.columns]
            if missing:
                raise ActualsError(f"{path}: missing column(s) {', '.join(missing)}")
        curves = {
            str(name): (
                rows["wind_speed_m_s"].to_numpy(float),
                rows["power_w"].to_numpy(float),
            )
            for name, rows in curves_frame.sort_values("wind_speed_m_s").groupby("turbine_type")
        }
        nominal = dict(
            zip(types["turbine_type"], types["nominal_power_w"].astype(float), strict=True)
        )
        heights = {
            str(name): [float(h) for h in re.findall(r"\d+(?:\.\d+)?", str(text))]
            for name, text in zip(
                types["turbine_type"], types["hub_heights_m"].fillna(""), strict=True
            )
        }
        for name, (_, watts) in curves.items():
            nominal.setdefault(name, float(watts.max()))
        return cls(curves, nominal, heights)

    def curve(self, turbine_type: str) -> tuple[np.ndarray, np.ndarray, str]:
        """Speeds [m/s], power [W] and how the curve was found (empty: the type's own)."""
        if turbine_type in self.curves:
            speeds, watts = self.curves[turbine_type]
            return speeds, watts, ""
        rotor = turbine_type.split("/")[0]
        target = self.nominal_w.get(turbine_type) or _nominal_from_name(turbine_type)
        same_rotor = [t for t in self.curves if t.split("/")[0] == rotor]
        if not same_rotor or target is None:
            raise ActualsError(
                f"turbine_type {turbine_type!r} has no power curve in the library and no "
                f"type of the same rotor {rotor!r} has one; types with curves: "
                f"{', '.join(sorted(self.curves))}"
            )
        nearest = min(same_rotor, key=lambda t: abs(self.nominal_w[t] - target))
        speeds, watts = self.curves[nearest]
        scale = target / self.nominal_w[nearest]
        how = (
            f"{turbine_type}: no curve in the library; {nearest}'s curve scaled by "
            f"{scale:.3f} to {target / 1e6:g} MW"
        )
        return speeds, watts * scale, how


def _nominal_from_name(turbine_type: str) -> float | None:
    """Nominal power [W] from a name like ``V112/3600`` (kW after the slash), if it is one."""
    try:
        return float(turbine_type.split("/")[1]) * 1e3
    except (IndexError, ValueError):
        return None


def pv_output_mw(asset: PV, weather: pd.DataFrame, model: PvModel | None = None) -> pd.Series:
    """AC output [MW] of `asset` for every quarter hour of `weather` (see the module)."""
    import pvlib

    model = model or PvModel()
    middle = weather.index + pd.Timedelta(minutes=7.5)
    sun = pvlib.solarposition.get_solarposition(
        middle, model.latitude, model.longitude, altitude=model.altitude_m
    )
    poa = pvlib.irradiance.get_total_irradiance(
        model.tilt_deg,
        model.azimuth_deg,
        sun["apparent_zenith"].to_numpy(),
        sun["azimuth"].to_numpy(),
        dni=weather["dni_w_m2"].to_numpy(),
        ghi=weather["ghi_w_m2"].to_numpy(),
        dhi=weather["dhi_w_m2"].to_numpy(),
        dni_extra=pvlib.irradiance.get_extra_radiation(middle).to_numpy(),
        model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0).clip(0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    cell = pvlib.temperature.sapm_cell(
        poa_global,
        weather["air_temperature_c"].to_numpy(),
        weather["wind_speed_10m_m_s"].to_numpy(),
        **params,
    )
    dc_mw = asset.dc_capacity_mwp or asset.rated_power_mw * model.dc_ac_ratio
    dc = pvlib.pvsystem.pvwatts_dc(poa_global, cell, dc_mw, model.gamma_pdc)
    ac = np.asarray(dc, dtype=float) * (1 - model.system_losses) * model.inverter_efficiency
    return pd.Series(np.clip(ac, 0.0, asset.rated_power_mw), index=weather.index, name=asset.id)


def wind_output_mw(
    asset: Wind,
    weather: pd.DataFrame,
    library: TurbineLibrary,
    model: WindModel | None = None,
    default_type: str = "E-82/2300",
) -> tuple[pd.Series, str]:
    """AC output [MW] of `asset` for every quarter hour of `weather`, and a note on how its
    curve and hub height were chosen (see the module)."""
    model = model or WindModel()
    notes = []
    turbine_type = asset.turbine_type
    count = asset.turbine_count
    if turbine_type is None:
        turbine_type = default_type
        count = max(1, round(asset.rated_power_mw * 1e6 / library.nominal_w[default_type]))
        notes.append(f"no turbine_type: {count} x {default_type} assumed")
    speeds, watts, how = library.curve(turbine_type)
    if how:
        notes.append(how)
    hub = asset.hub_height_m
    if hub is None:
        known = library.hub_heights_m.get(turbine_type) or [100.0]
        hub = known[0]
        notes.append(f"no hub_height_m: {hub:g} m assumed")
    v10 = weather["wind_speed_10m_m_s"].to_numpy(float)
    v_hub = v10 * np.log(hub / model.roughness_m) / np.log(10.0 / model.roughness_m)
    rho = weather["air_pressure_pa"].to_numpy(float) / (
        GAS_CONSTANT_DRY_AIR * (weather["air_temperature_c"].to_numpy(float) + 273.15)
    )
    v_eq = v_hub * (rho / AIR_DENSITY_STANDARD) ** (1 / 3)
    per_turbine_w = np.interp(v_eq, speeds, watts, left=0.0, right=0.0)
    farm = per_turbine_w * count / 1e6 * (1 - model.losses)
    series = pd.Series(np.clip(farm, 0.0, asset.rated_power_mw), index=weather.index, name=asset.id)
    return series, "; ".join(notes)


def weather_instants(periods: pd.DatetimeIndex, day: date, weather_year: int) -> pd.DatetimeIndex:
    """The weather-year instants standing in for `day`'s `periods`: the same calendar date
    (29 February -> 28 February) at the same UTC clock time."""
    try:
        twin = day.replace(year=weather_year)
    except ValueError:  # 29 February in a year without one
        twin = date(weather_year, 2, 28)
    return periods - pd.Timedelta(days=(day - twin).days)


@dataclass
class WeatherActuals:
    """Actual PV and wind output modelled from a weather year (see the module)."""

    weather: pd.DataFrame
    library: TurbineLibrary | None = None
    pv: PvModel = field(default_factory=PvModel)
    wind: WindModel = field(default_factory=WindModel)
    source: str = "measured"
    _output: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    _asset_notes: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def weather_year(self) -> int:
        """The calendar year most of the weather belongs to."""
        return int(pd.Series(self.weather.index.year).mode().iloc[0])

    def output(self, asset: PV | Wind) -> pd.Series:
        """The asset's modelled output [MW] over the whole weather year (cached)."""
        if asset.id not in self._output:
            if isinstance(asset, PV):
                self._output[asset.id] = pv_output_mw(asset, self.weather, self.pv)
            else:
                if self.library is None:
                    raise ActualsError(
                        f"asset {asset.id}: wind output needs the turbine power curves "
                        "(wind_turbine_power_curves.csv and wind_turbine_types.csv)"
                    )
                series, note = wind_output_mw(asset, self.weather, self.library, self.wind)
                self._output[asset.id] = series
                if note:
                    self._asset_notes[asset.id] = note
        return self._output[asset.id]

    def day(self, portfolio: Portfolio, day: date) -> dict[str, np.ndarray]:
        """Actual output [MW] of each PV and wind asset of `portfolio` on `day`'s quarter
        hours, from the same calendar date of the weather year."""
        periods = Horizon.of(day).periods
        instants = weather_instants(periods, day, self.weather_year)
        result = {}
        for asset in portfolio.assets:
            if not isinstance(asset, PV | Wind):
                continue
            series = self.output(asset)
            values = series.reindex(instants).to_numpy(float)
            later = series.reindex(instants + pd.Timedelta(days=1)).to_numpy(float)
            values = np.where(np.isnan(values), later, values)
            if np.isnan(values).any():
                first = instants[int(np.argmax(np.isnan(values)))]
                raise ActualsError(
                    f"asset {asset.id}: no weather for {first:%Y-%m-%dT%H:%MZ}, which stands "
                    f"in for delivery day {day}"
                )
            result[asset.id] = values
        return result

    def notes(self) -> list[str]:
        """How the actual output was made, for the run's notes."""
        pv = self.pv
        lines = [
            f"PV and wind actual output: modelled from the {self.source} weather year "
            f"{self.weather_year}, mapped onto each delivery day by calendar date (same month "
            "and day, 29 February -> 28 February; UTC clock time kept; weekdays not aligned)",
            f"PV model (pvlib): {pv.latitude:g} N {pv.longitude:g} E, tilt {pv.tilt_deg:g} deg, "
            f"azimuth {pv.azimuth_deg:g} deg, Hay-Davies, SAPM open-rack cell temperature, "
            f"PVWatts DC (gamma {pv.gamma_pdc:g}/K, DC/AC {pv.dc_ac_ratio:g} where no "
            f"dc_capacity_mwp), losses {pv.system_losses:.0%}, inverter "
            f"{pv.inverter_efficiency:.0%}",
            f"wind model: manufacturer power curves, log wind profile from 10 m (roughness "
            f"{self.wind.roughness_m:g} m), air-density corrected, farm losses "
            f"{self.wind.losses:.0%}",
        ]
        lines += [f"wind {a}: {n}" for a, n in sorted(self._asset_notes.items())]
        return lines


@dataclass
class FileActuals:
    """Actual PV and wind output from a user's file (the profile layout, price-year UTC)."""

    path: Path
    profiles: Profiles

    @classmethod
    def read(cls, path: str | Path) -> FileActuals:
        """The file at `path` (``timestamp_utc``, ``asset_id``, ``available_mw``)."""
        return cls(Path(path), read_profiles(path))

    def day(self, portfolio: Portfolio, day: date) -> dict[str, np.ndarray]:
        """Each PV and wind asset's actual output [MW] on `day`'s quarter hours."""
        horizon = Horizon.of(day)
        result = {}
        for asset in portfolio.assets:
            if isinstance(asset, PV | Wind):
                try:
                    result[asset.id] = self.profiles.quarter_hourly(
                        asset.id, horizon, asset.rated_power_mw
                    )
                except ValueError as exc:
                    raise ActualsError(f"{self.path}: {exc}") from None
        return result

    def notes(self) -> list[str]:
        """How the actual output was made, for the run's notes."""
        return [f"PV and wind actual output: measured values from {self.path}"]


def seed_for(seed: int, asset_id: str, day: date) -> np.random.Generator:
    """A random generator fixed by (`seed`, asset, day): the same draws whatever the run's
    window, so a day's forecast error is reproducible on its own."""
    return np.random.default_rng([seed, day.toordinal(), zlib.crc32(asset_id.encode())])
