"""An independent SunSpec device for contract tests: a pyModbusTCP server (a Modbus server we
did not write) whose register image is laid out from pysunspec2's model definitions (the JSON
files the SunSpec Alliance publishes, shipped in the `sunspec2` package), never from our maps
or our codec. Values are encoded here with `struct`, independently of `dispatch.protocols`.

The peer records every request (function, address, count) so a test can see what went on the
wire and in which order.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from pyModbusTCP.constants import EXP_DATA_VALUE
from pyModbusTCP.server import DataBank, DataHandler, DeviceIdentification, ModbusServer

SUNS = [0x5375, 0x6E53]
END = [0xFFFF, 0x0000]

# SunSpec "not implemented" values per point type (SunSpec Information Model).
_UNIMPLEMENTED = {
    "int16": 0x8000,
    "sunssf": 0x8000,
    "pad": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "count": 0xFFFF,
}


def definition(model_id: int) -> dict[str, Any]:
    """pysunspec2's JSON definition of a SunSpec model."""
    path = files("sunspec2") / "models" / "json" / f"model_{model_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PointDef:
    """Where a point sits in its model body (after ID and L), from the definition."""

    offset: int
    size: int
    type: str


def body_layout(model_id: int) -> dict[str, PointDef]:
    """Point name -> offset in the body, size, type (top-level points; ID and L excluded)."""
    layout: dict[str, PointDef] = {}
    offset = 0
    for point in definition(model_id)["group"]["points"]:
        if point["name"] in {"ID", "L"}:
            continue
        layout[point["name"]] = PointDef(offset, int(point["size"]), point["type"])
        offset += int(point["size"])
    return layout


def _encode(point: PointDef, value: Any) -> list[int]:
    if point.type == "string":
        data = str(value).encode("utf-8").ljust(2 * point.size, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * point.size, 2)]
    if point.type in {"int16", "sunssf"}:
        return [struct.unpack(">H", struct.pack(">h", int(value)))[0]]
    if point.type in {"uint16", "enum16", "bitfield16", "count", "pad"}:
        return [int(value) & 0xFFFF]
    if point.type in {"int32", "uint32", "acc32", "bitfield32", "enum32"}:
        fmt = ">i" if point.type == "int32" else ">I"
        high, low = struct.unpack(">HH", struct.pack(fmt, int(value)))
        return [high, low]
    raise ValueError(f"peer cannot encode {point.type}")


def model_block(model_id: int, values: dict[str, Any], length: int | None = None) -> list[int]:
    """[ID, L, body...]: every point at its defined offset, unset ones not implemented.

    `length` shortens (or pads) the body to L registers, e.g. model 1 with L=65 (no Pad).
    """
    layout = body_layout(model_id)
    body: list[int] = []
    for name, point in layout.items():
        if name in values:
            body += _encode(point, values[name])
        elif point.type == "string":
            body += [0] * point.size
        else:
            body += [_UNIMPLEMENTED.get(point.type, 0)] * point.size
    unknown = set(values) - set(layout)
    if unknown:
        raise KeyError(f"model {model_id} has no points {sorted(unknown)}")
    if length is not None:
        body = (body + [0] * length)[:length]
    return [model_id, len(body), *body]


class RecordingHandler(DataHandler):
    """A DataHandler that records every holding-register request."""

    def __init__(self, data_bank: DataBank) -> None:
        super().__init__(data_bank)
        self.requests: list[tuple[str, int, int]] = []
        self.refuse: Callable[[int, list[int]], bool] | None = None
        """If set and true for (address, values), a write gets exception 3 (illegal value)."""
        self._lock = threading.Lock()

    def read_h_regs(self, address: int, count: int, srv_info: Any) -> Any:
        with self._lock:
            self.requests.append(("read", address, count))
        return super().read_h_regs(address, count, srv_info)

    def write_h_regs(self, address: int, words_l: list[int], srv_info: Any) -> Any:
        with self._lock:
            self.requests.append(("write", address, len(words_l)))
        if self.refuse is not None and self.refuse(address, list(words_l)):
            return DataHandler.Return(exp_code=EXP_DATA_VALUE)
        return super().write_h_regs(address, words_l, srv_info)

    def writes(self) -> list[tuple[str, int, int]]:
        """The write requests so far."""
        with self._lock:
            return [r for r in self.requests if r[0] == "write"]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Peer:
    """A running pyModbusTCP server; `bodies` maps model id -> PDU address of its body."""

    server: ModbusServer
    handler: RecordingHandler
    port: int
    base: int
    bodies: dict[int, int] = field(default_factory=dict)

    @property
    def bank(self) -> DataBank:
        """The server's registers."""
        return self.handler.data_bank

    def set_point(self, model_id: int, name: str, value: Any) -> None:
        """Write one point's value into the image (as the device itself would)."""
        point = body_layout(model_id)[name]
        self.bank.set_holding_registers(self.bodies[model_id] + point.offset, _encode(point, value))

    def get_point(self, model_id: int, name: str) -> list[int]:
        """One point's registers from the image."""
        point = body_layout(model_id)[name]
        regs = self.bank.get_holding_registers(self.bodies[model_id] + point.offset, point.size)
        return list(regs or [])

    def address(self, model_id: int, name: str) -> int:
        """PDU address of a point."""
        return self.bodies[model_id] + body_layout(model_id)[name].offset

    def stop(self) -> None:
        """Stop serving (the port is closed)."""
        self.server.stop()


def start_sunspec_peer(
    models: list[tuple[int, dict[str, Any], int | None]],
    base: int = 40000,
    port: int | None = None,
) -> Peer:
    """Serve 'SunS' at `base`, then each (model id, values, L or None) block, then the end."""
    image = list(SUNS)
    bodies: dict[int, int] = {}
    for model_id, values, length in models:
        block = model_block(model_id, values, length)
        bodies.setdefault(model_id, base + len(image) + 2)
        image += block
    image += END
    bank = DataBank()
    bank.set_holding_registers(base, image)
    handler = RecordingHandler(bank)
    port = port or free_port()
    server = ModbusServer(host="127.0.0.1", port=port, no_block=True, data_hdl=handler)
    server.start()
    return Peer(server, handler, port, base, bodies)


def start_fc43_peer(
    registers: dict[int, list[int]], vendor: str, product: str, revision: str
) -> Peer:
    """A non-SunSpec device: holding registers at absolute addresses, FC43 identification."""
    bank = DataBank()
    for address, values in registers.items():
        bank.set_holding_registers(address, values)
    handler = RecordingHandler(bank)
    port = free_port()
    identification = DeviceIdentification(
        vendor_name=vendor.encode(),
        product_code=product.encode(),
        major_minor_revision=revision.encode(),
    )
    server = ModbusServer(
        host="127.0.0.1", port=port, no_block=True, data_hdl=handler, device_id=identification
    )
    server.start()
    return Peer(server, handler, port, -1)


def battery_models(
    firmware: str = "1.4.2", common_length: int | None = None, w: int = 1500, w_sf: int = 0
) -> list[tuple[int, dict[str, Any], int | None]]:
    """A Voltaris VoltaStor BX-500 as its datasheet would describe it: models 1, 103, 124.

    3 kW (WChaMax 3000 W), 50 % charged, power `w` [W] at scale factor `w_sf`.
    """
    common = {
        "Mn": "Voltaris",
        "Md": "VoltaStor BX-500",
        "Vr": firmware,
        "SN": "VB5-PEER-1",
        "DA": 1,
    }
    inverter = {"W": w, "W_SF": w_sf, "Hz": 5000, "Hz_SF": -2, "St": 4}
    storage = {
        "WChaMax": 3000,
        "WChaMax_SF": 0,
        "StorCtl_Mod": 0,
        "ChaState": 50,
        "ChaState_SF": 0,
        "OutWRte": 0,
        "InWRte": 0,
        "InOutWRte_RvrtTms": 0,
        "InOutWRte_SF": -2,
    }
    return [(1, common, common_length), (103, inverter, None), (124, storage, None)]


def pv_models(
    firmware: str = "1.2.0", w_raw: int = 3000, w_sf: int = 1, lim_sf: int = 0
) -> list[tuple[int, dict[str, Any], int | None]]:
    """A Helion HelioMax 60 PV inverter: models 1, 103, 123; power `w_raw` * 10**`w_sf` W."""
    common = {"Mn": "Helion", "Md": "HelioMax 60", "Vr": firmware, "SN": "HM60-PEER-1", "DA": 1}
    inverter = {"W": w_raw, "W_SF": w_sf, "St": 4}
    controls = {
        "WMaxLimPct": 100 * 10**-lim_sf,
        "WMaxLimPct_SF": lim_sf,
        "WMaxLim_Ena": 0,
        "WMaxLimPct_RvrtTms": 0,
    }
    return [(1, common, None), (103, inverter, None), (123, controls, None)]
