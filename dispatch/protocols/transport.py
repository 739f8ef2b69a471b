"""Modbus TCP transport: the only module that imports pymodbus client classes.

A thin async wrapper around `AsyncModbusTcpClient` (pymodbus 3.16.1, pinned):

- library retries are off (`retries=0`) and automatic reconnect is off
  (`reconnect_delay=0`): the caller's command state machine owns retries and reconnects, so a
  write whose answer was lost is never re-sent behind our back;
- every call has a deadline [s]; a missed deadline drops the connection (a late answer can
  then never be mistaken for the answer to a later request) and raises `DeviceTimeoutError`;
- errors become the `DeviceError` subclasses of `dispatch.device`: no connection ->
  `DeviceUnreachableError`; Modbus exception response -> `DeviceRefusedError` (with `code`).

`generation` counts successful connects, so a caller can tell a fresh TCP session (after a
device reboot, a firmware update...) from the one it negotiated on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from dispatch.device import DeviceRefusedError, DeviceTimeoutError, DeviceUnreachableError

#: Modbus exception codes in words, for error messages.
EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class ModbusRefusedError(DeviceRefusedError):
    """The device answered with a Modbus exception response; `code` is the exception code."""

    def __init__(self, asset_id: str, reason: str, code: int) -> None:
        super().__init__(asset_id, reason)
        self.code = code


class ModbusTransport:
    """One Modbus TCP connection to one device (unit `device_id`) at host:port.

    `timeout_s` is the default deadline per call [s]; each call can override it.
    """

    def __init__(
        self,
        asset_id: str,
        host: str,
        port: int,
        device_id: int = 1,
        timeout_s: float = 1.0,
        connect_timeout_s: float = 1.0,
    ) -> None:
        self.asset_id = asset_id
        self.host = host
        self.port = port
        self.device_id = device_id
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.generation = 0
        """Number of successful connects so far (a new value means a new TCP session)."""
        self._client: AsyncModbusTcpClient | None = None

    @property
    def connected(self) -> bool:
        """True while the TCP session is open (as far as the client knows)."""
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Open a new TCP session (closing any old one); `DeviceUnreachableError` on failure."""
        await self.close()
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            # Generous library deadline: our own per-call deadlines (asyncio.wait_for) rule.
            timeout=max(self.timeout_s, self.connect_timeout_s) + 5.0,
            retries=0,
            reconnect_delay=0,
            reconnect_delay_max=0,
        )
        try:
            ok = await asyncio.wait_for(client.connect(), self.connect_timeout_s)
        except (TimeoutError, OSError, ModbusException) as exc:
            client.close()
            raise DeviceUnreachableError(
                self.asset_id, f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        if not ok:
            client.close()
            raise DeviceUnreachableError(
                self.asset_id, f"cannot connect to {self.host}:{self.port}"
            )
        self._client = client
        self.generation += 1

    async def close(self) -> None:
        """Drop the TCP session (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def read_holding_registers(
        self, address: int, count: int, timeout_s: float | None = None
    ) -> list[int]:
        """FC3: `count` registers from PDU address `address` (0-based)."""
        response = await self._call(
            lambda c: c.read_holding_registers(address, count=count, device_id=self.device_id),
            f"read {count} @ {address}",
            timeout_s,
        )
        registers = list(response.registers)
        if len(registers) != count:
            raise ModbusRefusedError(
                self.asset_id, f"read {count} @ {address}: got {len(registers)} registers", 0
            )
        return registers

    async def write_registers(
        self, address: int, values: list[int], timeout_s: float | None = None
    ) -> None:
        """FC16: write `values` from PDU address `address`; returns when the device acked."""
        await self._call(
            lambda c: c.write_registers(address, values, device_id=self.device_id),
            f"write {len(values)} @ {address}",
            timeout_s,
        )

    async def read_device_identification(
        self, read_code: int = 1, timeout_s: float | None = None
    ) -> dict[int, str]:
        """FC43/14 Read Device Identification: object id -> text.

        read_code 1 = basic (0 VendorName, 1 ProductCode, 2 MajorMinorRevision), 2 = regular.
        """
        response = await self._call(
            lambda c: c.read_device_information(read_code=read_code, device_id=self.device_id),
            f"read device identification {read_code}",
            timeout_s,
        )
        return {
            int(key): (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
            for key, value in response.information.items()
        }

    async def _call(self, make: Any, what: str, timeout_s: float | None) -> Any:
        """Run one request with a deadline; map every failure to a DeviceError."""
        client = self._client
        if client is None or not client.connected:
            raise DeviceUnreachableError(self.asset_id, f"{what}: not connected")
        deadline = self.timeout_s if timeout_s is None else timeout_s
        try:
            awaitable: Awaitable[Any] = make(client)
            response = await asyncio.wait_for(awaitable, deadline)
        except (TimeoutError, ModbusIOException) as exc:
            await self.close()
            raise DeviceTimeoutError(
                self.asset_id, f"{what}: no answer within {deadline:.3g} s"
            ) from exc
        except (ConnectionException, OSError) as exc:
            await self.close()
            raise DeviceUnreachableError(self.asset_id, f"{what}: connection lost ({exc})") from exc
        except ModbusException as exc:
            await self.close()
            raise DeviceUnreachableError(self.asset_id, f"{what}: {exc}") from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0) or 0)
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise ModbusRefusedError(
                self.asset_id, f"{what}: Modbus exception {code} ({name})", code
            )
        return response
