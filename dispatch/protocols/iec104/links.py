"""The TSO's IEC 104 links of a server's pools: one controlled station per pool.

`StationLinks` is what `vpp serve --tso iec104` loads (by name, through
`trading.engine.tso.load_tso_link`, so that the core never imports c104): the first time a
pool (a tenant's bidding zone) asks for its activation source, it gets a `TsoStation` on
the next port from `port` upwards (``port``, ``port + 1``, ... in the order the pools first
start; the assignment holds for the life of the process), listening on `host`. The
station stays up over the pool's days: each day's dispatcher pool is attached to it in
turn (`attach`), so the TSO's connection survives local midnight. `status(tenant)` says
which port serves which pool, whether a TSO is connected, and its last setpoint.

The station clamps each setpoint to the band the pool's schedule sold
(`capacity_sold_mw`, the capacity cleared) and ramps within the product's full
activation time (`station`); the TSO reads back the measured pool power and the
available band.
"""

from __future__ import annotations

import threading
from typing import Any

from dispatch.clock import DispatchClock
from dispatch.protocols.iec104.points import PointsMap
from dispatch.protocols.iec104.ramp import AFRR_FAT_S
from dispatch.protocols.iec104.station import Pool, TsoStation
from dispatch.protocols.iec104.transport import LinkError

MAX_PORT = 65535


class StationLinks:
    """Every pool's station of one server (see the module docstring); thread-safe."""

    kind = "iec104"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 2404,
        *,
        points: PointsMap | None = None,
        fat_s: float = AFRR_FAT_S,
        report_s: float = 1.0,
    ) -> None:
        if not 1 <= port <= MAX_PORT:
            raise ValueError(f"tso_port={port} must be a TCP port in 1..{MAX_PORT}")
        self.host, self.port = host, port
        self.points = points if points is not None else PointsMap()
        self.fat_s, self.report_s = fat_s, report_s
        self.stations: dict[tuple[str, str], tuple[int, TsoStation]] = {}
        """(tenant, zone) -> (port, its station)."""
        self._lock = threading.Lock()

    def source(self, tenant: str, zone: str, clock: DispatchClock) -> TsoStation:
        """The pool's station (started on its port the first time): its activation source.
        `LinkError` if the port cannot be listened on, naming it."""
        with self._lock:
            found = self.stations.get((tenant, zone))
            if found is not None:
                return found[1]
            port = self.port + len(self.stations)
            if port > MAX_PORT:
                raise LinkError(
                    f"tso_port={self.port}: no port left for pool {tenant}/{zone} "
                    f"({len(self.stations)} pools from {self.port} up)"
                )
            station = TsoStation(
                clock,
                zone,
                host=self.host,
                port=port,
                points=self.points,
                fat_s=self.fat_s,
                report_s=self.report_s,
            )
            station.start()
            self.stations[(tenant, zone)] = (port, station)
            return station

    def attach(self, tenant: str, zone: str, pool: Pool) -> None:
        """Serve the pool's dispatcher `pool` (each day's pool in turn)."""
        with self._lock:
            found = self.stations.get((tenant, zone))
        if found is not None:
            found[1].attach(pool)

    def status(self, tenant: str) -> dict[str, Any]:
        """Per pool of `tenant`: host, port and the station's status."""
        with self._lock:
            mine = {z: ps for (t, z), ps in self.stations.items() if t == tenant}
        return {
            "protocol": "iec104",
            "pools": {
                zone: {"host": self.host, "port": port, **station.status()}
                for zone, (port, station) in sorted(mine.items())
            },
        }

    def close(self) -> None:
        """Stop every station (the TSOs' connections close)."""
        with self._lock:
            stations = [s for _p, s in self.stations.values()]
        for station in stations:
            station.stop()
