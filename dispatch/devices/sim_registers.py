"""Hand-built register images for the simulators, written from the SunSpec model tables.

Deliberately independent of `dispatch/protocols/maps/*.yaml`: offsets are typed in here
again from the SunSpec definitions, so a test of the adapter (which uses the map files)
against a simulator (which uses this module) checks both. All offsets are relative to a
model's body (the register after its ID and L); addresses are PDU (0-based).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUNSPEC_BASE = 40000
NI16 = 0x8000  # int16 / sunssf "not implemented"
NU16 = 0xFFFF  # uint16 / enum16 "not implemented"

# Model lengths (SunSpec definitions).
L_COMMON, L_INVERTER, L_CONTROLS, L_STORAGE, L_VENDOR = 66, 50, 24, 24, 10
L_SETTINGS = 30

HELION_STATUS = 64210
"""Helion's vendor model (SunSpec leaves ids 64000-65535 to vendors; ours, not a standard
one): what the plant could produce now, which no standard model of the chain says."""
L_HELION_STATUS = 4
M64210_WAVAIL = 0
"""Available power [W * 10**W_SF of model 103]: the MPPT's estimate of what the sun
allows, whatever the curtailment (uint16)."""

# Model 103 (three-phase inverter) offsets.
M103_PHVPHA, M103_V_SF, M103_W, M103_W_SF, M103_HZ, M103_HZ_SF, M103_ST = 8, 11, 12, 13, 14, 15, 36
M103_INT16 = (16, 18, 20, 29, 31, 32, 33, 34)  # VA, VAr, PF, DCW, temperatures
M103_SF = (4, 11, 13, 15, 17, 19, 21, 24, 26, 28, 30, 35)
# Model 123 (immediate controls) offsets.
M123_CONN, M123_WMAXLIMPCT, M123_WMAXLIM_ENA, M123_WMAXLIMPCT_SF = 2, 3, 7, 21
# Model 121 (basic settings) offsets.
M121_WMAX, M121_WMAX_SF = 0, 20
# Model 124 (basic storage controls) offsets.
M124_WCHAMAX, M124_STORCTL_MOD, M124_CHASTATE, M124_OUTWRTE, M124_INWRTE = 0, 3, 6, 10, 11
M124_WCHAMAX_SF, M124_CHASTATE_SF, M124_INOUTWRTE_SF = 16, 20, 23
CHASTATE_SF = -2
"""ChaState in 0.01 %: on a 3 kW / 5 kWh battery a 1.5 kW gap between reported and real
power moves it by one step in about 1.2 s (0.1 % steps would take 12 s), so a dispatcher
comparing reported power with SoC change can catch a fake meter within seconds."""


def text_registers(text: str, n_regs: int) -> list[int]:
    """NUL-padded text in n_regs registers (two bytes each, high byte first)."""
    data = text.encode("utf-8")[: 2 * n_regs].ljust(2 * n_regs, b"\x00")
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def s16(value: int) -> int:
    """A signed 16-bit value as its register (two's complement)."""
    return value & 0xFFFF


@dataclass
class Image:
    """A device's registers: values, which addresses may be written, and where it ends."""

    base: int
    regs: list[int] = field(default_factory=list)
    writable: set[int] = field(default_factory=set)
    bodies: dict[int, int] = field(default_factory=dict)
    """SunSpec model id -> address of its body (the simulator's own bookkeeping)."""

    @property
    def end(self) -> int:
        """First address past the image."""
        return self.base + len(self.regs)

    def get(self, address: int) -> int:
        """Register at an absolute address."""
        return self.regs[address - self.base]

    def put(self, address: int, value: int) -> None:
        """Set the register at an absolute address."""
        self.regs[address - self.base] = value & 0xFFFF


def _common(vendor: str, model: str, version: str, serial: str) -> list[int]:
    body = (
        text_registers(vendor, 16)
        + text_registers(model, 16)
        + text_registers("", 8)
        + text_registers(version, 8)
        + text_registers(serial, 16)
        + [1, NI16]  # DA = 1, Pad
    )
    assert len(body) == L_COMMON
    return body


def _inverter_103() -> list[int]:
    body = [NU16] * L_INVERTER
    for offset in M103_INT16 + M103_SF:
        body[offset] = NI16
    body[M103_PHVPHA], body[M103_V_SF] = 2300, s16(-1)
    body[M103_HZ], body[M103_HZ_SF] = 5000, s16(-2)
    body[M103_W_SF] = 0
    body[M103_ST] = 4  # MPPT / on
    body[22] = body[23] = 0  # WH acc32: 0 = not accumulated
    for offset in range(38, 50):
        body[offset] = 0  # event bitfields: none
    return body


def _controls_123() -> list[int]:
    body = [0] * L_CONTROLS
    body[M123_CONN] = 1
    body[M123_WMAXLIMPCT] = 1000  # 100.0 % with SF -1
    body[8], body[13], body[14], body[15] = NI16, NI16, NI16, NI16
    body[M123_WMAXLIMPCT_SF], body[22], body[23] = s16(-1), NI16, NI16
    return body


def _storage_124(wchamax_w: int) -> list[int]:
    body = [NU16] * L_STORAGE
    body[M124_WCHAMAX], body[M124_WCHAMAX_SF] = wchamax_w, 0
    body[1], body[2], body[17] = 100, 100, 0  # WChaGra, WDisChaGra [% WChaMax/s], their SF
    body[M124_STORCTL_MOD] = 0
    body[M124_OUTWRTE], body[M124_INWRTE], body[M124_INOUTWRTE_SF] = 0, 0, s16(-2)
    body[12], body[13], body[14] = 0, 0, 0  # InOutWRte_WinTms / RvrtTms / RmpTms
    body[M124_CHASTATE_SF] = s16(CHASTATE_SF)
    for offset in (18, 19, 21, 22):
        body[offset] = NI16
    return body


def _settings_121(wmax: int, wmax_sf: int) -> list[int]:
    body = [NI16] * L_SETTINGS
    body[M121_WMAX], body[M121_WMAX_SF] = wmax, s16(wmax_sf)
    return body


def _helion_status() -> list[int]:
    body = [0] * L_HELION_STATUS
    body[M64210_WAVAIL] = NU16  # not implemented until the device first refreshes it
    return body


def sunspec_image(
    common: tuple[str, str, str, str],
    chain: list[int],
    wchamax_w: int = 0,
    wmax: tuple[int, int] = (0, 0),
) -> Image:
    """'SunS', the given models in order (1, 103, 121, 123, 124, Helion's 64210 or a vendor
    64999), end marker. `wmax`: model 121's WMax register and WMax_SF (WMax = raw * 10**SF W).

    Writable: model 123 WMaxLimPct..WMaxLim_Ena, model 124 StorCtl_Mod, OutWRte, InWRte and
    their timers.
    """
    image = Image(SUNSPEC_BASE, [0x5375, 0x6E53])
    for model_id in chain:
        if model_id == 1:
            body = _common(*common)
        elif model_id == 103:
            body = _inverter_103()
        elif model_id == 121:
            body = _settings_121(*wmax)
        elif model_id == 123:
            body = _controls_123()
        elif model_id == 124:
            body = _storage_124(wchamax_w)
        elif model_id == HELION_STATUS:
            body = _helion_status()
        else:
            body = [0] * L_VENDOR
        start = image.end + 2
        image.regs += [model_id, len(body), *body]
        image.bodies[model_id] = start
        if model_id == 123:
            image.writable.update(start + o for o in range(M123_WMAXLIMPCT, M123_WMAXLIM_ENA + 1))
        if model_id == 124:
            image.writable.update(start + o for o in (M124_STORCTL_MOD, 10, 11, 12, 13, 14))
    image.regs += [0xFFFF, 0]
    return image


# KWK-Control 2 (non-SunSpec) holding registers.
CHP_POWER_KW, CHP_SETPOINT_KW, CHP_MIN_LOAD_KW, CHP_STATUS = 0, 1, 2, 3
CHP_FIRMWARE, CHP_MAX_KW, CHP_SERIAL_HI, CHP_SERIAL_LO = 4, 5, 6, 7
CHP_OFF, CHP_RUNNING = 0, 2


def chp_image(min_load_kw: int, max_kw: int, firmware: int, serial: int) -> Image:
    """Registers 0..7 of a KWK-Control 2; only the setpoint (1) is writable."""
    regs = [0, 0, min_load_kw, CHP_OFF, firmware, max_kw, serial >> 16, serial & 0xFFFF]
    return Image(0, regs, {CHP_SETPOINT_KW})
