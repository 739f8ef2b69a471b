"""A simulated site meter: the net power at a site's grid connection, from the physics.

A site meter measures what leaves the site, not what its assets say: the sum of its
members' real power (`physical_power_mw()`, the simulators' truth). The dispatcher compares
it with the sum of the members' own telemetry, so a device whose reported power cannot be
true (``fake_meter``, a stuck or partial device that reports its setpoint) shows up as the
difference, on PV and CHP as well as batteries.

`SiteMeter` has the `DeviceAdapter` shape (identify, read, close; a meter takes no
setpoints, so `write_setpoint` is refused) and can itself be silenced (``silence`` or
``trip``: it stops answering; what the site injects does not change). Units: MW, + injection
into the grid at the connection point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from dispatch.clock import DispatchClock
from dispatch.device import (
    DeviceRefusedError,
    DeviceTimeoutError,
    Identity,
    Telemetry,
    WriteAck,
)
from dispatch.devices.faults import Fault


class PhysicalDevice(Protocol):
    """Anything whose real power the simulator knows."""

    def physical_power_mw(self) -> float:
        """What it really injects now [MW, + injection]."""
        ...


class SiteMeter:
    """The meter at one site's grid connection, over the members behind it."""

    protocol = "inproc"

    def __init__(
        self,
        site_id: str,
        members: Sequence[PhysicalDevice],
        clock: DispatchClock | None = None,
    ) -> None:
        """`clock` stamps the readings (UTC); without one, the machine's UTC time."""
        self.site_id = site_id
        self.asset_id = site_id
        self.members = list(members)
        self.clock = clock
        self.silent = False
        self.reads = 0

    # --- faults --------------------------------------------------------------------------
    def inject(self, fault: Fault | str) -> None:
        """``silence`` or ``trip`` (the meter stops answering; the site runs on); the old
        name "outage" is silence. Other kinds do not apply to a meter: `ValueError`."""
        kind = Fault.SILENCE if fault == "outage" else Fault(fault)
        if kind not in (Fault.SILENCE, Fault.TRIP):
            raise ValueError(f"a site meter can be silenced or tripped, not given {kind!r}")
        self.silent = True

    def clear(self) -> None:
        """Answer again."""
        self.silent = False

    # --- the truth -----------------------------------------------------------------------
    def physical_power_mw(self) -> float:
        """The site's real net power now [MW, + injection]: the sum of its members'."""
        return sum(member.physical_power_mw() for member in self.members)

    # --- DeviceAdapter shape -------------------------------------------------------------
    async def identify(self) -> Identity:
        """A simulated meter, serial = site id."""
        self._check()
        return Identity("vpp-engine", "sim-site-meter", self.site_id, "1.0.0")

    async def read(self) -> Telemetry:
        """The site's net power now [MW]; no setpoint, SoC or limits."""
        self._check()
        self.reads += 1
        at = self.clock.utc() if self.clock is not None else datetime.now(UTC)
        return Telemetry(at, self.physical_power_mw())

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        """A meter takes no setpoints: always refused."""
        raise DeviceRefusedError(self.site_id, "a site meter takes no setpoints")

    async def close(self) -> None:
        """Nothing to close."""

    def _check(self) -> None:
        if self.silent:
            raise DeviceTimeoutError(self.site_id, "simulated meter silence: no answer")


__all__ = ["PhysicalDevice", "SiteMeter"]
