"""Plant-scale simulated device models: a portfolio's MW assets behind Modbus registers.

The models of `sim_models` are small devices (a 3 kW battery, a 60 kW inverter, a 50 kW
CHP) whose registers cannot hold a 10 MW plant. These are their plant-scale siblings, each
wrapping the physics object it is given (the asset's own ratings, energy, state of charge
and availability profile) and choosing its register scale from the rating:

- `GridStorSim` (Voltaris VoltaStor GRID, SunSpec 1, 103, 124): W in 10**W_SF W with the
  smallest W_SF >= 0 at which 1.2 x the rating fits an int16 (10 MW: W_SF 3, kW steps);
  WChaMax in the same steps (WChaMax_SF = W_SF); rates in 0.01 % (InOutWRte_SF -2).
- `HelioParkSim` (Helion HelioPark, SunSpec 1, 103, 121, 123, Helion 64210): a PV or wind
  plant controller; W as above, WMax (model 121) the rating, curtailment by WMaxLimPct in
  0.01 % of WMax (WMaxLimPct_SF -2), and what the weather allows now (WAvail, the plant
  controller's available power, in W_SF steps) in Helion's model 64210, written as for the
  HelioMax: without it a
  plant running at its available power below the limit looks like one not obeying. Wind
  farms use it too (one plant controller each).
- `KwkPlantSim` (Thermogen KWK-Control 20, fixed registers, FC43 identity): the CHP of
  `KwkControlSim` with the unit's own minimum stable load and maximum in kW (int16: up to
  32.7 MW).

Their maps are `dispatch/protocols/maps/voltaris_grid_fw1.yaml`,
`helion_heliopark_fw1.yaml` and `thermogen_kwk20_fw2.yaml`. Faults act as on the small
models (`modbus_sim`); a ``firmware`` fault installs a version no map knows (9.0.0 / 9.0).
"""

from __future__ import annotations

from dispatch.devices import sim_registers as sr
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.sim_models import HelioMaxSim, KwkControlSim, VoltaStorSim, _signed

INT16_MAX = 32767
CHP_MAX_KW = 30000
"""The largest CHP the KWK-Control 20's map declares [kW]."""
PLAUSIBLE_SHARE = 1.2
"""The W register must hold this multiple of the rating (the adapter's plausibility bound)."""


def power_sf(rating_w: float) -> int:
    """The smallest SunSpec scale factor >= 0 at which `PLAUSIBLE_SHARE` x `rating_w` [W]
    fits an int16 register."""
    sf = 0
    while PLAUSIBLE_SHARE * rating_w / 10.0**sf > INT16_MAX:
        sf += 1
    return sf


class GridStorSim(VoltaStorSim):
    """Voltaris VoltaStor GRID: a battery plant's SunSpec controller (see module doc).
    In place (same version): W_SF -> W_SF + 1 and InOutWRte_SF -2 -> -1."""

    model = "VoltaStor GRID"

    def __init__(self, serial: str, physics: Battery, firmware: str = "1.0.0") -> None:
        rating_w = max(physics.max_mw, -physics.min_mw) * 1e6
        self._sf = power_sf(rating_w)
        self._wcha_raw = max(1, round(rating_w / 10.0**self._sf))
        self.WCHAMAX_W = self._wcha_raw * 10**self._sf
        super().__init__(serial, firmware, physics)

    def set_firmware(self, version: str) -> None:
        """One layout for every version (chain 1, 103, 124); the in-place change undone."""
        self.firmware = version
        self.inplace = False
        common = (self.vendor, self.model, version, self.serial)
        self.image = sr.sunspec_image(common, [1, 103, 124], wchamax_w=self._wcha_raw)
        self.image.put(self.image.bodies[124] + sr.M124_WCHAMAX_SF, sr.s16(self._sf))
        self._w_sf, self._w_sign, self._rte_sf = self._sf, 1, -2
        self._put_sfs()
        self.refresh()

    def set_inplace(self, on: bool) -> None:
        """W_SF one step coarser and InOutWRte_SF -1 under the same version (on), or back;
        the rates re-encoded."""
        if on == self.inplace:
            return
        self.inplace = on
        new_rte_sf = -1 if on else -2
        sto = self.image.bodies[124]
        for offset in (sr.M124_OUTWRTE, sr.M124_INWRTE):
            raw = _signed(self.image.get(sto + offset))
            self.image.put(sto + offset, sr.s16(round(raw * 10.0 ** (self._rte_sf - new_rte_sf))))
        self._w_sf, self._rte_sf = self._sf + (1 if on else 0), new_rte_sf
        self._put_sfs()
        self.refresh()

    def firmware_update(self) -> str:
        """9.0.0: no map knows it."""
        return "9.0.0"


class HelioParkSim(HelioMaxSim):
    """Helion HelioPark: a PV or wind plant controller (see module doc).
    In place (same version): W_SF -> W_SF + 1 and WMaxLimPct_SF -2 -> -1."""

    model = "HelioPark"

    def __init__(self, serial: str, physics: Pv, firmware: str = "1.0.0") -> None:
        rating_w = physics.rated_mw * 1e6
        self._sf = power_sf(rating_w)
        self._wmax_raw = max(1, round(rating_w / 10.0**self._sf))
        self.RATED_W = self._wmax_raw * 10**self._sf
        super().__init__(serial, firmware, physics)

    def set_firmware(self, version: str) -> None:
        """One layout for every version (chain 1, 103, 121, 123); in-place change undone."""
        self.firmware = version
        self.inplace = False
        common = (self.vendor, self.model, version, self.serial)
        chain = [1, 103, 121, 123, sr.HELION_STATUS]
        self.image = sr.sunspec_image(common, chain, wmax=(self._wmax_raw, self._sf))
        self.image.put(self.image.bodies[123] + sr.M123_WMAXLIMPCT, 10000)  # 100.00 %
        self._w_sf, self._lim_sf = self._scale_factors(False)
        self._put_sfs()
        self.refresh()

    def _scale_factors(self, inplace: bool) -> tuple[int, int]:
        """(W_SF, WMaxLimPct_SF): the plant's own W_SF and 0.01 % steps; in place one W_SF
        coarser and 0.1 % steps."""
        return (self._sf + 1, -1) if inplace else (self._sf, -2)


class KwkPlantSim(KwkControlSim):
    """Thermogen KWK-Control 20: `KwkControlSim` with the unit's own limits [kW]."""

    model = "KWK-Control 20"

    def __init__(self, serial: int, physics: Chp, firmware: str = "2.0") -> None:
        self.MIN_LOAD_KW = round(physics.min_load_mw * 1000)
        self.MAX_KW = round(physics.max_mw * 1000)
        if self.MAX_KW > CHP_MAX_KW:
            raise ValueError(f"CHP max {self.MAX_KW} kW: above {CHP_MAX_KW} kW, the map's range")
        super().__init__(serial, firmware, physics)


def plant_model(
    kind: str, serial: int, physics: Battery | Pv | Chp
) -> GridStorSim | HelioParkSim | KwkPlantSim:
    """The plant-scale model of an asset of `kind` ("battery", "pv", "wind", "chp")
    around its physics; serial number `serial`."""
    if kind == "battery" and isinstance(physics, Battery):
        return GridStorSim(f"VSG-{serial:06d}", physics)
    if kind in ("pv", "wind") and isinstance(physics, Pv):
        return HelioParkSim(f"HP-{serial:06d}", physics)
    if kind == "chp" and isinstance(physics, Chp):
        return KwkPlantSim(800000 + serial, physics)
    raise ValueError(
        f"kind={kind!r} with {type(physics).__name__} physics: no plant-scale model "
        "(battery: Battery, pv or wind: Pv, chp: Chp)"
    )


__all__ = ["GridStorSim", "HelioParkSim", "KwkPlantSim", "plant_model", "power_sf"]
