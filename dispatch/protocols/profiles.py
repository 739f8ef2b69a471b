"""Control profiles: how a kind of device turns map points into telemetry and setpoints.

A map names its profile; the profile names the points it needs. Units out of a profile are
the dispatcher's: MW, + injection (battery discharge, generation), - consumption.

Every reading is checked against the device's own rating: measured power or a held setpoint
beyond `PLAUSIBLE_MARGIN` times the rating cannot be true (a scale changed in place, a
corrupted register) and raises `DeviceFaultError` naming the point and both values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dispatch.device import DeviceFaultError, SetpointOutsideLimitsError
from dispatch.protocols.points import LocalRefusalError, PointIO, Value, to_mw
from dispatch.protocols.transport import ModbusRefusedError

ILLEGAL_DATA_VALUE = 3
"""Modbus exception code 3."""

PLAUSIBLE_MARGIN = 1.2
"""A device may overshoot its rating a little (metering error, transients), not more."""


class BelowMinimumLoadError(LocalRefusalError, SetpointOutsideLimitsError):
    """0 < setpoint < the unit's minimum stable load: nothing sent (see the base classes)."""


@dataclass(frozen=True)
class Reading:
    """A profile's reading [MW, + injection; soc 0..1]."""

    power_mw: float
    setpoint_mw: float | None
    soc: float | None
    max_mw: float | None
    min_mw: float | None


class Profile(Protocol):
    """Read telemetry and write a setpoint for one kind of device."""

    async def read(self, io: PointIO) -> Reading:
        """Measured power, held setpoint, SoC and limits."""
        ...

    async def write(self, io: PointIO, setpoint_mw: float) -> None:
        """Write the setpoint [MW, + injection]; LocalRefusalError if it cannot be expressed."""
        ...


def _num(values: dict[str, Value], name: str) -> float | None:
    value = values[name]
    return float(value) if isinstance(value, int | float) else None


def _power(io: PointIO, values: dict[str, Value], name: str) -> float:
    power = to_mw(io.negotiated.point(name), _num(values, name))
    if power is None:
        raise LocalRefusalError(io.transport.asset_id, f"{name} not implemented by the device")
    return power


def check_plausible(
    io: PointIO, what: str, value_mw: float | None, rating_mw: float | None
) -> None:
    """DeviceFaultError if |value| exceeds the rating by more than `PLAUSIBLE_MARGIN`."""
    if value_mw is None or rating_mw is None or rating_mw <= 0:
        return
    if abs(value_mw) > PLAUSIBLE_MARGIN * rating_mw:
        raise DeviceFaultError(
            io.transport.asset_id,
            f"{what} = {value_mw * 1000:g} kW cannot be true for a device rated "
            f"{rating_mw * 1000:g} kW",
        )


STORCTL_CHARGE = 1
STORCTL_DISCHARGE = 2


class Storage124:
    """Battery via SunSpec 124 (our simulator's reading, see the map file).

    Setpoint P [MW]: StorCtl_Mod = charge|discharge, OutWRte = P / WChaMax * 100 % if P > 0,
    InWRte = -P / WChaMax * 100 % if P < 0 (the other rate 0). Two FC16 writes: the rates,
    then the mode.
    """

    POINTS = ("W", "WChaMax", "ChaState", "StorCtl_Mod", "OutWRte", "InWRte")

    async def read(self, io: PointIO) -> Reading:
        """See class docstring; max/min = +/- WChaMax [MW]."""
        values = await io.read(list(self.POINTS))
        wcha = to_mw(io.negotiated.point("WChaMax"), _num(values, "WChaMax"))
        soc = _num(values, "ChaState")
        power = _power(io, values, "W")
        check_plausible(io, "W", power, wcha)
        return Reading(
            power_mw=power,
            setpoint_mw=self._setpoint(values, wcha),
            soc=None if soc is None else soc / 100.0,
            max_mw=wcha,
            min_mw=None if wcha is None else -wcha,
        )

    @staticmethod
    def _setpoint(values: dict[str, Value], wcha_mw: float | None) -> float | None:
        mode, out, inp = values["StorCtl_Mod"], _num(values, "OutWRte"), _num(values, "InWRte")
        if wcha_mw is None or not isinstance(mode, int) or out is None or inp is None:
            return None
        pct = (out if mode & STORCTL_DISCHARGE else 0.0) - (inp if mode & STORCTL_CHARGE else 0.0)
        return pct / 100.0 * wcha_mw

    async def write(self, io: PointIO, setpoint_mw: float) -> None:
        """See class docstring; refuses |P| > WChaMax locally."""
        values = await io.read(["WChaMax", "OutWRte"])  # brings WChaMax_SF and InOutWRte_SF
        wcha = to_mw(io.negotiated.point("WChaMax"), _num(values, "WChaMax"))
        if not wcha:
            raise LocalRefusalError(io.transport.asset_id, "WChaMax unknown: cannot scale rate")
        pct = round(abs(setpoint_mw) / wcha * 100.0, 6)
        rates = {
            "OutWRte": pct if setpoint_mw > 0 else 0.0,
            "InWRte": pct if setpoint_mw < 0 else 0.0,
        }
        for name, value in rates.items():  # check both before sending either
            io.encode(name, value, values)
        await io.write(rates, values)
        await io.write({"StorCtl_Mod": STORCTL_CHARGE | STORCTL_DISCHARGE}, values)


class Pv123:
    """PV via SunSpec 123 curtailment: setpoint P [MW] -> WMaxLimPct = P / rated * 100 %.

    The setpoint is an upper limit: P >= rated writes 100 %; P < 0 is refused locally.
    Telemetry: setpoint = the limit (rated when WMaxLim_Ena = 0); max = the available power
    where the map has a `WAvail` point and the device implements it (what the sun allows:
    without it, a plant held below its limit looks like one under less sun), else rated;
    min = 0. The rating is the map's constant `rated_w` (`Pv123WMax`: the device's WMax).
    """

    POINTS: tuple[str, ...] = ("W", "WMaxLimPct", "WMaxLim_Ena")
    RATING_POINTS: tuple[str, ...] = ()

    def _rated(self, io: PointIO, values: dict[str, Value]) -> float:
        return io.negotiated.register_map.constants["rated_w"] * 1e-6

    async def read(self, io: PointIO) -> Reading:
        """See class docstring."""
        names = list(self.POINTS)
        if io.negotiated.has("WAvail"):
            names.append("WAvail")
        values = await io.read(names)
        rated = self._rated(io, values)
        pct = _num(values, "WMaxLimPct")
        enabled = values["WMaxLim_Ena"] == 1
        setpoint = (pct / 100.0 * rated if pct is not None else None) if enabled else rated
        power = _power(io, values, "W")
        check_plausible(io, "W", power, rated)
        available = (
            to_mw(io.negotiated.point("WAvail"), _num(values, "WAvail"))
            if ("WAvail" in values)
            else None
        )
        check_plausible(io, "WAvail", available, rated)
        top = rated if available is None else min(available, rated)
        return Reading(power, setpoint, None, top, 0.0)

    async def write(self, io: PointIO, setpoint_mw: float) -> None:
        """See class docstring."""
        if setpoint_mw < 0:
            raise LocalRefusalError(io.transport.asset_id, "a PV limit cannot be negative")
        scales = await io.read(["WMaxLimPct", *self.RATING_POINTS])
        rated = self._rated(io, scales)
        pct = round(min(setpoint_mw / rated * 100.0, 100.0), 6)
        await io.write({"WMaxLimPct": pct}, scales)
        await io.write({"WMaxLim_Ena": 1}, scales)


class Pv123WMax(Pv123):
    """`Pv123` with the rating read from the device: SunSpec 121 WMax (what WMaxLimPct is a
    percentage of), so one map serves plants of every size; `WAvail` as in `Pv123`."""

    POINTS = ("W", "WMax", "WMaxLimPct", "WMaxLim_Ena")
    RATING_POINTS = ("WMax",)

    def _rated(self, io: PointIO, values: dict[str, Value]) -> float:
        wmax = to_mw(io.negotiated.point("WMax"), _num(values, "WMax"))
        if not wmax:
            raise LocalRefusalError(io.transport.asset_id, "WMax unknown: cannot scale the limit")
        return wmax


class ChpKw:
    """CHP with a kW setpoint register: 0 = stop, else within [min load, max] [kW]."""

    async def read(self, io: PointIO) -> Reading:
        """Measured power, setpoint, max = max_kw, min = 0 (off) [MW]."""
        values = await io.read(["power_kw", "setpoint_kw", "min_load_kw", "max_kw", "status"])
        setpoint = _num(values, "setpoint_kw")
        max_kw = _num(values, "max_kw")
        max_mw = None if max_kw is None else max_kw / 1000.0
        power = _power(io, values, "power_kw")
        setpoint_mw = None if setpoint is None else setpoint / 1000.0
        check_plausible(io, "power_kw", power, max_mw)
        check_plausible(io, "setpoint_kw", setpoint_mw, max_mw)
        return Reading(
            power_mw=power,
            setpoint_mw=setpoint_mw,
            soc=None,
            max_mw=max_mw,
            min_mw=0.0,
        )

    async def write(self, io: PointIO, setpoint_mw: float) -> None:
        """Round to whole kW; refuse 0 < P < minimum stable load locally.

        A setpoint inside the limits the device itself declares, refused as an illegal value
        (exception 3), is a `DeviceFaultError`: the register's meaning changed under us.
        """
        kw = round(setpoint_mw * 1000.0)
        limits = await io.read(["min_load_kw", "max_kw"])
        min_load, max_kw = _num(limits, "min_load_kw"), _num(limits, "max_kw")
        if kw != 0 and min_load is not None and kw < min_load:
            raise BelowMinimumLoadError(
                io.transport.asset_id, f"{kw} kW below minimum stable load {min_load:g} kW"
            )
        if max_kw is not None and kw > max_kw:
            raise LocalRefusalError(io.transport.asset_id, f"{kw} kW above maximum {max_kw:g} kW")
        try:
            await io.write({"setpoint_kw": float(kw)}, limits)
        except ModbusRefusedError as exc:
            if exc.code != ILLEGAL_DATA_VALUE or kw == 0 or min_load is None or max_kw is None:
                raise
            raise DeviceFaultError(
                io.transport.asset_id,
                f"setpoint_kw = {kw} kW refused as an illegal value although the device "
                f"declares [{min_load:g}, {max_kw:g}] kW: its register no longer means kW",
            ) from exc


PROFILES: dict[str, Profile] = {
    "storage_124": Storage124(),
    "pv_123": Pv123(),
    "pv_123_wmax": Pv123WMax(),
    "chp_kw": ChpKw(),
}
