"""The only module that imports c104 (GPL-3.0, the optional extra ``vpp-engine[iec104]``).

`StationServer`: the VPP's controlled station, an IEC 104 server with the points of a
`PointsMap`; a setpoint command is handed to `on_setpoint` (in c104's thread) and
answered with a positive or negative ACT_CON as it says. `TsoClient`: a controlling
station (the TSO's side) with the start-up work-around of c104 2.2.1: connect muted, wait
for OPEN_MUTED, unmute, wait for OPEN, then interrogate (with ``Init.ALL`` the link can
stay muted). Its raw received frames go to `on_frame`, so that confirmations are read from
the wire (c104's `transmit()` can return False although a positive ACT_CON arrived).

No ``from __future__ import annotations`` here: c104 checks a callback's annotations as
objects, and string annotations fail its check.
"""

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import c104

from dispatch.protocols.iec104.points import PointsMap


class LinkError(RuntimeError):
    """The IEC 104 link could not be set up; the message says which step failed."""


class StationServer:
    """The controlled station of one pool (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        points: PointsMap,
        on_setpoint: Callable[[float], bool],
        *,
        report_ms: int = 1000,
    ) -> None:
        self.points = points
        self._server = c104.Server(ip=host, port=port, tick_rate_ms=50)
        station = self._server.add_station(common_address=points.common_address)
        if station is None:
            raise LinkError(f"common_address={points.common_address}: station not created")
        self._points: dict[int, c104.Point] = {}
        self._types: dict[int, str] = {}
        for spec in points.specs():
            kind = getattr(c104.Type, spec.type_id)
            if spec.direction == "TSO->VPP":
                point = station.add_point(io_address=spec.ioa, type=kind)
            else:
                point = station.add_point(io_address=spec.ioa, type=kind, report_ms=report_ms)
            if point is None:
                raise LinkError(f"{spec.name}: IOA {spec.ioa} ({spec.type_id}) not created")
            self._points[spec.ioa] = point
            self._types[spec.ioa] = spec.type_id
        # Until the first publish every value is invalid (IV), with a time tag of now: a TSO
        # interrogating before the pool's first tick must not read 0 MW as a measurement.
        invalid = ("Invalid",)
        self.publish(
            {s.ioa: False if s.type_id == "M_SP_NA_1" else 0.0 for s in points.monitored()},
            datetime.now(UTC),
            frozenset(),
            {s.ioa: invalid for s in points.monitored()},
        )

        def on_command(
            point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
        ) -> c104.ResponseState:
            accepted = on_setpoint(float(point.value))
            return c104.ResponseState.SUCCESS if accepted else c104.ResponseState.FAILURE

        self._points[points.setpoint].on_receive(callable=on_command)

    def start(self) -> None:
        """Listen (returns at once; c104 serves in its own threads)."""
        self._server.start()

    def stop(self) -> None:
        """Close every connection and stop listening."""
        self._server.stop()

    def active_connections(self) -> int:
        """Connections that are open and started (STARTDT), i.e. a TSO that is listening."""
        return int(self._server.active_connection_count)

    def publish(
        self,
        values: Mapping[int, float | bool],
        at: datetime,
        spontaneous: frozenset[int],
        flags: Mapping[int, tuple[str, ...]] | None = None,
    ) -> None:
        """Set each IOA's value (time-tagged types get `at`, UTC) with its quality `flags`
        (c104 `Quality` names, e.g. "Invalid", "NonTopical"; none: good); send those in
        `spontaneous` now (the others go out with the next cyclic report)."""
        for ioa, value in values.items():
            point = self._points[ioa]
            kind = self._types[ioa]
            quality = c104.Quality()
            for name in (flags or {}).get(ioa, ()):
                quality |= getattr(c104.Quality, name)
            if kind == "M_ME_TF_1":
                point.info = c104.ShortInfo(float(value), quality=quality, recorded_at=at)
            elif kind == "M_SP_NA_1":
                point.info = c104.SingleInfo(bool(value), quality=quality)
            else:
                point.info = c104.ShortInfo(float(value), quality=quality)
            if ioa in spontaneous:
                point.transmit(cause=c104.Cot.SPONTANEOUS)


class TsoClient:
    """A controlling station (the TSO) connected to one pool's station."""

    def __init__(
        self,
        host: str,
        port: int,
        points: PointsMap,
        on_frame: Callable[[bytes], None],
        *,
        command_timeout_ms: int = 100,
    ) -> None:
        self.points = points
        self._client = c104.Client(tick_rate_ms=50, command_timeout_ms=command_timeout_ms)
        connection = self._client.add_connection(ip=host, port=port, init=c104.Init.MUTED)
        if connection is None:
            raise LinkError(f"{host}:{port}: connection not created")
        self._connection = connection
        station = connection.add_station(common_address=points.common_address)
        if station is None:
            raise LinkError(f"common_address={points.common_address}: station not created")
        for spec in points.monitored():
            station.add_point(io_address=spec.ioa, type=getattr(c104.Type, spec.type_id))
        setpoint = station.add_point(io_address=points.setpoint, type=c104.Type.C_SE_NC_1)
        if setpoint is None:
            raise LinkError(f"setpoint: IOA {points.setpoint} not created")
        self._setpoint = setpoint

        def on_raw(connection: c104.Connection, data: bytes) -> None:
            on_frame(bytes(data))

        connection.on_receive_raw(callable=on_raw)

    def connect(self, timeout_s: float = 5.0) -> None:
        """Connect muted, unmute, wait until OPEN and interrogate; `LinkError` on a step
        that does not finish within `timeout_s` [s] (real time)."""
        self._client.start()
        self._wait(c104.ConnectionState.OPEN_MUTED, timeout_s, "connect (OPEN_MUTED)")
        self._connection.unmute()
        self._wait(c104.ConnectionState.OPEN, timeout_s, "unmute (OPEN)")
        self._connection.interrogation(common_address=self.points.common_address)

    def send_setpoint(self, mw: float) -> bool:
        """Send a C_SE_NC_1 setpoint [MW]; c104's boolean, which can be wrong: read
        ACT_CON from the frames. Usually returns in under a millisecond, but in about one
        send in twenty c104 2.2.1 misses the ACT_CON that did arrive and waits the whole
        `command_timeout_ms` (measured): hence the short default."""
        self._setpoint.value = float(mw)
        return bool(self._setpoint.transmit(cause=c104.Cot.ACTIVATION))

    def disconnect(self) -> None:
        """Close the link and stop the client."""
        self._connection.disconnect()
        self._client.stop()

    def _wait(self, state: c104.ConnectionState, timeout_s: float, step: str) -> None:
        deadline = time.monotonic() + timeout_s
        while self._connection.state != state:
            if time.monotonic() > deadline:
                raise LinkError(f"{step}: still {self._connection.state.name} after {timeout_s} s")
            time.sleep(0.005)
