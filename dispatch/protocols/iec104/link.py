"""One pool's aFRR link over IEC 104 for a simulated run: its station and a simulated TSO.

`TsoLink` pairs the pool's controlled station (`station.TsoStation`, the pool's
`ActivationSource`) with a simulated TSO (`tso.SimulatedTso`, a c104 client) connected to
it over a real socket on loopback. The engine's day run (`vpp simulate --day --tso
iec104`) builds one per bidding zone holding an aFRR band: the TSO plays the day's
setpoints, the station clamps them to the band sold, ramps them and hands them to the pool,
and publishes the pool's measured power back.

This module imports no c104 when it is imported: the station and the TSO (which need the
extra ``vpp-engine[iec104]``) are imported when a link is built, so the core can name the
link and check for the extra (`missing_extra`) without it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dispatch.clock import DispatchClock
from dispatch.protocols.iec104.steps import Step

BandSource = Callable[[datetime], tuple[float, float]]
"""(up, down) band sold [MW, both >= 0] at a UTC instant."""

EXTRA_HINT = (
    "needs the optional extra vpp-engine[iec104] (c104, GPL-3.0): pip install "
    "'vpp-engine[iec104]'; or use --tso loopback"
)


def missing_extra() -> str | None:
    """None if the IEC 104 link can be built here, else why not (c104 is not importable)."""
    try:
        import dispatch.protocols.iec104.transport  # noqa: F401  (the only c104 importer)
    except ImportError as exc:
        return f"{EXTRA_HINT} ({exc})"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (the station listens on it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class TsoLink:
    """A pool's station and the simulated TSO connected to it (module docstring).

    `steps` are the TSO's setpoints [MW, + up] with times in seconds from `origin_s` on the
    dispatcher's clock (given to `run_tso`); `band` is the band sold the station clamps to.
    """

    def __init__(
        self,
        clock: DispatchClock,
        zone: str,
        band: BandSource,
        steps: list[Step],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        repeat_s: float = 4.0,
    ) -> None:
        from dispatch.protocols.iec104.station import TsoStation
        from dispatch.protocols.iec104.tso import SimulatedTso

        self.zone = zone
        self.port = port if port is not None else free_port(host)
        self.station = TsoStation(clock, zone, host=host, port=self.port, band=band)
        self.tso = SimulatedTso(clock, steps, host=host, port=self.port, repeat_s=repeat_s)
        self.error: str | None = None
        """Why the TSO's run ended early (its link could not be set up), if it did."""

    def activation_mw(self, t: float) -> float:
        """The activation the station requests of the pool at `t` [MW, + up]."""
        return self.station.activation_mw(t)

    def attach(self, pool: Any) -> None:
        """Serve `pool` (a `dispatch.pool.PoolController`): read it, publish after its ticks."""
        self.station.attach(pool)

    def start(self) -> None:
        """Listen for the TSO."""
        self.station.start()

    def stop(self) -> None:
        """Close the link."""
        self.station.stop()

    async def run_tso(self, origin_s: float) -> None:
        """Connect the TSO and play its steps from `origin_s` [clock s]; a link that cannot
        be set up is recorded in `error` (the pool then gets no activation) and not raised,
        so the day still runs and reports it."""
        from dispatch.protocols.iec104.transport import LinkError

        try:
            await self.tso.run(origin_s=origin_s)
        except LinkError as exc:
            self.error = str(exc)

    def summary(self) -> dict[str, Any]:
        """What went over the link: setpoints sent and confirmed on the wire (positive and
        negative), measured values read back, the station's events, and an error if any."""
        record = self.tso.record
        measured = self.tso.readings(self.station.points.measured)
        refused = sum(1 for _, _, negative in record.confirmations if negative)
        return {
            "port": self.port,
            "setpoints_sent": len(record.sent),
            "confirmed_on_the_wire": len(record.confirmations) - refused,
            "refused_on_the_wire": refused,
            "measured_values_read": len(measured),
            "measured_values_good": sum(1 for r in measured if r.value.good),
            "frame_errors": len(record.frame_errors),
            "events": [e["event"] for e in self.station.events],
            "error": self.error,
        }


def standalone_tso(
    clock: DispatchClock,
    steps: list[Step],
    *,
    host: str,
    port: int,
    points: Any,
    repeat_s: float = 4.0,
    band_shares: bool = False,
) -> Any:
    """A simulated TSO for a station run elsewhere (`vpp tso simulate`): a
    `tso.SimulatedTso` (needs the extra: ask `missing_extra` first). With `band_shares`,
    each step's `setpoint_mw` is a share of the band the station reports, sent as MW
    (`SimulatedTso.band_share`)."""
    from dispatch.protocols.iec104.tso import SimulatedTso

    tso = SimulatedTso(clock, steps, host=host, port=port, points=points, repeat_s=repeat_s)
    if band_shares:
        tso.setpoint_of = tso.band_share
    return tso


async def play(tso: Any, origin_s: float, band_wait_s: float = 0.0) -> str | None:
    """Run `tso` (from `standalone_tso`) from `origin_s` [clock s]; None, or why its link
    could not be set up."""
    from dispatch.protocols.iec104.transport import LinkError

    try:
        await tso.run(origin_s, band_wait_s=band_wait_s)
    except LinkError as exc:
        return str(exc)
    return None
