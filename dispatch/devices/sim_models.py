"""What each simulated device model does with its registers: physics in, setpoints out.

A `SimModel` owns a register image (`sim_registers`) and a physics object (`physics`). The
Modbus server (`modbus_sim`) asks it to `refresh()` the image before answering a read, to
`check_write()` a write (a Modbus exception code or None), and to `setpoint_mw()` after a
write (the setpoint the registers now command, in our MW and sign, or None if the write did
not touch it). Device-side units and quirks (W vs kW, scale factors, the 2.x sign flip) live
here, typed in by hand and independent of the adapter's map files.

`refresh(reported_mw)` writes `reported_mw` as the measured power instead of the physics'
(a fake meter); the SoC always follows the physics. `set_inplace(True)` is an in-place
firmware change: same version string and identity, but the power and setpoint scale
factors change and every register they scale is re-encoded, so the device stays
self-consistent for a reader that reads the scale factors, and is wrong by 10x for one that
assumes the old ones (see `dispatch.devices.modbus_sim` for the registers per model).
"""

from __future__ import annotations

from typing import Protocol

from dispatch.devices import sim_registers as sr
from dispatch.devices.physics import Battery, Chp, Pv

ILLEGAL_VALUE = 3


def _signed(reg: int) -> int:
    return reg - 0x10000 if reg >= 0x8000 else reg


class Physics(Protocol):
    """What the server needs from a physics object."""

    power_mw: float
    ramp_mw_per_s: float
    tripped: bool

    def set_setpoint(self, setpoint_mw: float) -> None:
        """Command a setpoint [MW, + injection]."""
        ...

    def trip(self) -> None:
        """Protection trips: 0 MW at once, setpoints ignored until `reset`."""
        ...

    def reset(self) -> None:
        """Back from a trip."""
        ...

    def hold(self) -> None:
        """Freeze the power where it is."""
        ...

    def release(self) -> None:
        """Follow setpoints again."""
        ...

    def step(self, dt: float) -> None:
        """Advance dt [s]."""
        ...


class SimModel(Protocol):
    """One simulated device model (see module docstring)."""

    vendor: str
    model: str
    firmware: str
    image: sr.Image
    physics: Physics
    block_size: int

    def set_firmware(self, version: str) -> None:
        """Switch to the register layout of another firmware (image rebuilt)."""
        ...

    def refresh(self, reported_mw: float | None = None) -> None:
        """Copy the physics state into the register image (`reported_mw` [MW] replaces
        the physics' power in the measured-power register when given)."""
        ...

    def set_inplace(self, on: bool) -> None:
        """Switch the in-place layout change (other scale factors, same identity) on/off."""
        ...

    def check_write(self, address: int, values: list[int]) -> int | None:
        """Modbus exception code for an unacceptable value, else None."""
        ...

    def setpoint_mw(self) -> float | None:
        """The setpoint the registers command now [MW, + injection]."""
        ...

    def preset(self, setpoint_mw: float) -> None:
        """Registers commanding `setpoint_mw` [MW], as if written before the run (a unit
        already running at it: the first write of the run then changes only the value)."""
        ...

    def fc43(self) -> dict[str, str] | None:
        """FC43/14 identification objects, None if the device has none."""
        ...

    def firmware_update(self) -> str:
        """The version a `firmware` fault installs (a new layout, or one no map knows)."""
        ...


class VoltaStorSim:
    """Voltaris VoltaStor BX-500 (3 kW / 5 kWh). fw 1.x: chain 1,103,124, W_SF 0.
    fw 2.x: chain 1,64999,124,103, W_SF -1, and W reported with the opposite sign.
    In place (same version): W_SF 0 <-> -1 and InOutWRte_SF -2 -> -1."""

    vendor = "Voltaris"
    model = "VoltaStor BX-500"
    block_size = 200
    WCHAMAX_W = 3000

    def __init__(self, serial: str, firmware: str = "1.4.2", physics: Battery | None = None):
        self.serial = serial
        self.physics: Battery = physics or Battery(
            max_mw=0.003, min_mw=-0.003, capacity_mwh=0.005, ramp_mw_per_s=0.005
        )
        self.firmware = firmware
        self.inplace = False
        self.set_firmware(firmware)

    def set_firmware(self, version: str) -> None:
        """Rebuild the image for `version` (major 1 or 2); the in-place change is undone."""
        self.firmware = version
        self.inplace = False
        v2 = version.startswith("2.")
        chain = [1, 64999, 124, 103] if v2 else [1, 103, 124]
        common = (self.vendor, self.model, version, self.serial)
        self.image = sr.sunspec_image(common, chain, wchamax_w=self.WCHAMAX_W)
        self._w_sf, self._w_sign = (-1, -1) if v2 else (0, 1)
        self._rte_sf = -2
        self._put_sfs()
        self.refresh()

    def set_inplace(self, on: bool) -> None:
        """Other W_SF and InOutWRte_SF under the same version; rates re-encoded."""
        if on == self.inplace:
            return
        self.inplace = on
        base_w_sf = -1 if self.firmware.startswith("2.") else 0
        new_w_sf = (-1 - base_w_sf) if on else base_w_sf  # 0 <-> -1
        new_rte_sf = -1 if on else -2
        sto = self.image.bodies[124]
        for offset in (sr.M124_OUTWRTE, sr.M124_INWRTE):
            raw = _signed(self.image.get(sto + offset))
            self.image.put(sto + offset, sr.s16(round(raw * 10.0 ** (self._rte_sf - new_rte_sf))))
        self._w_sf, self._rte_sf = new_w_sf, new_rte_sf
        self._put_sfs()
        self.refresh()

    def _put_sfs(self) -> None:
        self.image.put(self.image.bodies[103] + sr.M103_W_SF, sr.s16(self._w_sf))
        self.image.put(self.image.bodies[124] + sr.M124_INOUTWRTE_SF, sr.s16(self._rte_sf))

    def refresh(self, reported_mw: float | None = None) -> None:
        """W [W * 10**-W_SF, device sign], ChaState [% * 10**-CHASTATE_SF]."""
        inv, sto = self.image.bodies[103], self.image.bodies[124]
        power = self.physics.power_mw if reported_mw is None else reported_mw
        watts = power * 1e6 * self._w_sign
        raw = max(-32767, min(32767, round(watts / 10.0**self._w_sf)))
        self.image.put(inv + sr.M103_W, sr.s16(raw))
        self.image.put(sto + sr.M124_CHASTATE, round(self.physics.soc * 100 * 10**-sr.CHASTATE_SF))

    def check_write(self, address: int, values: list[int]) -> int | None:
        """Rates within +-100 % (at the current InOutWRte_SF), StorCtl_Mod within 0..3."""
        sto = self.image.bodies[124]
        limit = round(100 * 10.0 ** (-self._rte_sf))
        for i, value in enumerate(values):
            offset = address + i - sto
            if offset in (sr.M124_OUTWRTE, sr.M124_INWRTE) and abs(_signed(value)) > limit:
                return ILLEGAL_VALUE
            if offset == sr.M124_STORCTL_MOD and value > 3:
                return ILLEGAL_VALUE
        return None

    def preset(self, setpoint_mw: float) -> None:
        """OutWRte or InWRte at |setpoint| % of WChaMax, both bits of StorCtl_Mod set."""
        sto = self.image.bodies[124]
        raw = round(abs(setpoint_mw) * 1e6 / self.WCHAMAX_W * 100 / 10.0**self._rte_sf)
        self.image.put(sto + sr.M124_OUTWRTE, sr.s16(raw if setpoint_mw > 0 else 0))
        self.image.put(sto + sr.M124_INWRTE, sr.s16(raw if setpoint_mw < 0 else 0))
        self.image.put(sto + sr.M124_STORCTL_MOD, 3)

    def setpoint_mw(self) -> float | None:
        """((OutWRte if discharge bit) - (InWRte if charge bit)) % of WChaMax."""
        sto = self.image.bodies[124]
        mode = self.image.get(sto + sr.M124_STORCTL_MOD)
        scale = 10.0**self._rte_sf
        out = _signed(self.image.get(sto + sr.M124_OUTWRTE)) * scale
        inp = _signed(self.image.get(sto + sr.M124_INWRTE)) * scale
        pct = (out if mode & 2 else 0.0) - (inp if mode & 1 else 0.0)
        return pct / 100.0 * self.WCHAMAX_W * 1e-6

    def fc43(self) -> dict[str, str] | None:
        """No FC43 identification."""
        return None

    def firmware_update(self) -> str:
        """2.0.0: a known map with another layout (chain order, W_SF, W sign)."""
        return "2.0.0"


class HelioMaxSim:
    """Helion HelioMax 60 (60 kW): chain 1,103,123,64210; W_SF 1; curtailment by
    WMaxLimPct; the vendor model 64210 reports the available power (in W_SF steps, as W).
    In place (same version): W_SF 1 -> 2 (W and the available power re-encoded) and
    WMaxLimPct_SF -1 -> -2."""

    vendor = "Helion"
    model = "HelioMax 60"
    block_size = 200
    RATED_W = 60000

    def __init__(self, serial: str, firmware: str = "1.2.0", physics: Pv | None = None):
        self.serial = serial
        self.physics: Pv = physics or Pv(rated_mw=0.06, profile=lambda _t: 0.8, ramp_mw_per_s=0.06)
        self.inplace = False
        self.set_firmware(firmware)

    def set_firmware(self, version: str) -> None:
        """Rebuild the image (one layout for all versions); the in-place change is undone."""
        self.firmware = version
        self.inplace = False
        common = (self.vendor, self.model, version, self.serial)
        self.image = sr.sunspec_image(common, [1, 103, 123, sr.HELION_STATUS])
        self._w_sf, self._lim_sf = self._scale_factors(False)
        self._put_sfs()
        self.refresh()

    def set_inplace(self, on: bool) -> None:
        """Other W_SF and WMaxLimPct_SF under the same version; the limit re-encoded."""
        if on == self.inplace:
            return
        self.inplace = on
        new_w_sf, new_lim_sf = self._scale_factors(on)
        at = self.image.bodies[123] + sr.M123_WMAXLIMPCT
        raw = self.image.get(at)
        self.image.put(at, round(raw * 10.0 ** (self._lim_sf - new_lim_sf)))
        self._w_sf, self._lim_sf = new_w_sf, new_lim_sf
        self._put_sfs()
        self.refresh()

    def _scale_factors(self, inplace: bool) -> tuple[int, int]:
        """(W_SF, WMaxLimPct_SF) of the layout, after an in-place change or without one."""
        return (2, -2) if inplace else (1, -1)

    def _put_sfs(self) -> None:
        self.image.put(self.image.bodies[103] + sr.M103_W_SF, sr.s16(self._w_sf))
        self.image.put(self.image.bodies[123] + sr.M123_WMAXLIMPCT_SF, sr.s16(self._lim_sf))

    def refresh(self, reported_mw: float | None = None) -> None:
        """W and the available power (what the sun allows now) in 10**W_SF W steps."""
        power = self.physics.power_mw if reported_mw is None else reported_mw
        raw = max(-32767, min(32767, round(power * 1e6 / 10.0**self._w_sf)))
        self.image.put(self.image.bodies[103] + sr.M103_W, sr.s16(raw))
        status = self.image.bodies.get(sr.HELION_STATUS)
        if status is None:  # a chain without model 64210 (a subclass's own layout)
            return
        available = round(max(0.0, self.physics.available_mw) * 1e6 / 10.0**self._w_sf)
        self.image.put(status + sr.M64210_WAVAIL, min(available, 0xFFFE))

    def check_write(self, address: int, values: list[int]) -> int | None:
        """WMaxLimPct <= 100 % (at the current WMaxLimPct_SF), WMaxLim_Ena 0 or 1."""
        ctl = self.image.bodies[123]
        limit = round(100 * 10.0 ** (-self._lim_sf))
        for i, value in enumerate(values):
            offset = address + i - ctl
            if offset == sr.M123_WMAXLIMPCT and value > limit:
                return ILLEGAL_VALUE
            if offset == sr.M123_WMAXLIM_ENA and value > 1:
                return ILLEGAL_VALUE
        return None

    def preset(self, setpoint_mw: float) -> None:
        """WMaxLimPct at the limit, WMaxLim_Ena 1."""
        ctl = self.image.bodies[123]
        pct = setpoint_mw * 1e6 / self.RATED_W * 100
        self.image.put(ctl + sr.M123_WMAXLIMPCT, round(pct / 10.0**self._lim_sf))
        self.image.put(ctl + sr.M123_WMAXLIM_ENA, 1)

    def setpoint_mw(self) -> float | None:
        """The limit in MW (rated if disabled)."""
        ctl = self.image.bodies[123]
        if self.image.get(ctl + sr.M123_WMAXLIM_ENA) != 1:
            return self.RATED_W * 1e-6
        pct = self.image.get(ctl + sr.M123_WMAXLIMPCT) * 10.0**self._lim_sf
        return pct / 100.0 * self.RATED_W * 1e-6

    def fc43(self) -> dict[str, str] | None:
        """No FC43 identification."""
        return None

    def firmware_update(self) -> str:
        """9.0.0: no map knows it."""
        return "9.0.0"


class KwkControlSim:
    """Thermogen KWK-Control 2 CHP (50 kW, min load 25 kW): fixed registers, FC43 identity.
    In place (same version): power and setpoint registers in 0.1 kW instead of kW (min load
    and max stay in kW)."""

    vendor = "Thermogen"
    model = "KWK-Control 2"
    block_size = 8
    MIN_LOAD_KW, MAX_KW = 25, 50

    def __init__(self, serial: int, firmware: str = "2.3.1", physics: Chp | None = None):
        self.serial = serial
        self.physics: Chp = physics or Chp(max_mw=0.05, min_load_mw=0.025, ramp_mw_per_s=0.05)
        self.inplace = False
        self.set_firmware(firmware)

    @property
    def _kw_per_raw(self) -> float:
        return 0.1 if self.inplace else 1.0

    def set_firmware(self, version: str) -> None:
        """Rebuild the image; the firmware register holds major * 256 + minor."""
        self.firmware = version
        self.inplace = False
        major, minor = (int(part) for part in version.split(".")[:2])
        self.image = sr.chp_image(self.MIN_LOAD_KW, self.MAX_KW, major * 256 + minor, self.serial)
        self.refresh()

    def set_inplace(self, on: bool) -> None:
        """Power and setpoint in 0.1 kW (on) or kW (off); the setpoint re-encoded."""
        if on == self.inplace:
            return
        kw = _signed(self.image.get(sr.CHP_SETPOINT_KW)) * self._kw_per_raw
        self.inplace = on
        self.image.put(sr.CHP_SETPOINT_KW, sr.s16(round(kw / self._kw_per_raw)))
        self.refresh()

    def refresh(self, reported_mw: float | None = None) -> None:
        """Power [kW, or 0.1 kW in place] and status."""
        power = self.physics.power_mw if reported_mw is None else reported_mw
        raw = round(power * 1000 / self._kw_per_raw)
        self.image.put(sr.CHP_POWER_KW, sr.s16(max(-32767, min(32767, raw))))
        status = sr.CHP_RUNNING if self.physics.on else sr.CHP_OFF
        self.image.put(sr.CHP_STATUS, status)

    def check_write(self, address: int, values: list[int]) -> int | None:
        """Setpoint 0 (stop) or within [min load, max] kW."""
        for i, value in enumerate(values):
            if address + i == sr.CHP_SETPOINT_KW:
                kw = _signed(value) * self._kw_per_raw
                if kw != 0 and not self.MIN_LOAD_KW <= kw <= self.MAX_KW:
                    return ILLEGAL_VALUE
        return None

    def preset(self, setpoint_mw: float) -> None:
        """The setpoint register in kW (or 0.1 kW in place)."""
        self.image.put(sr.CHP_SETPOINT_KW, sr.s16(round(setpoint_mw * 1000 / self._kw_per_raw)))

    def setpoint_mw(self) -> float | None:
        """The setpoint register in MW."""
        return _signed(self.image.get(sr.CHP_SETPOINT_KW)) * self._kw_per_raw / 1000.0

    def fc43(self) -> dict[str, str] | None:
        """VendorName, ProductCode, MajorMinorRevision (unchanged by an in-place change)."""
        return {
            "VendorName": self.vendor,
            "ProductCode": self.model,
            "MajorMinorRevision": self.firmware,
        }

    def firmware_update(self) -> str:
        """9.0: no map knows it."""
        return "9.0"
