"""The field: the simulated devices of a partitioned run, in a process of their own.

When partitions run in other processes (Ray actors on other nodes), the devices cannot
live inside a partition: they must outlast any controller, as real devices do. A
`DeviceField` holds the in-process devices of `dispatch.inproc` (physics, faults, and
each device's fencing memory) on a wall clock shared by every process (`WallClock`), and
answers a partition's reads and writes in batches (`exchange`): one call per batch, not
one per device, so a partition of thousands of assets costs tens of calls a second.

Readings are plain tuples (cheap to send): power [MW], setpoint [MW], SoC, max [MW],
min [MW], physical power [MW] (the truth, for the run's own sampler; never used by the
controller), and the UTC instant as a POSIX timestamp.
"""

from __future__ import annotations

import asyncio
import math
import operator
import time
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from dispatch.device import DeviceError
from dispatch.devices.fencing import Fence
from dispatch.inproc import InProcessDevice
from dispatch.simulation import SimulationOptions, inproc_fleet

Reading = tuple[float, float | None, float | None, float | None, float | None, float, float]
"""power, setpoint, soc, max, min [MW, 1], physical power [MW], UTC timestamp [s]."""
Write = tuple[str, float, tuple[str, int, str] | None]
"""asset id, setpoint [MW], fence as (partition, token, owner) or None."""
Answer = tuple[bool, str | None]
T = TypeVar("T")
Exchanged = tuple[list[Answer], list[Reading | None]]
"""The answers to the writes and the readings, in the order asked."""
"""accepted, or the refusal's class name and reason ("DeviceFencedError: ...")."""


class WallClock:
    """Seconds since `epoch` [POSIX s] by the system clock: the same time in every
    process of the run (on one machine exactly; across machines as well as NTP keeps
    them). `utc()` is the matching instant. A server on a simulated time line
    (`vpp serve --clock-start/--clock-speed`) runs `speed` seconds per real one, its UTC
    `offset_s` [s] after the system clock's at `epoch` (0, 1: the machine's time)."""

    def __init__(self, epoch: float, offset_s: float = 0.0, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed={speed}: must be > 0 (seconds per real second)")
        self.epoch = epoch
        self.offset_s = offset_s
        self.speed = speed
        self._sleepers: dict[
            tuple[asyncio.AbstractEventLoop, int], list[tuple[float, asyncio.Future[None]]]
        ] = {}
        """The futures of `sleep_until` to wake per (loop, quantum of its time), each with
        the loop time it is due at."""

    def now(self) -> float:
        """Seconds since the epoch (times `speed`)."""
        return (time.time() - self.epoch) * self.speed

    def utc(self) -> datetime:
        """Now in UTC (on the shifted, scaled time line)."""
        return datetime.fromtimestamp(self.epoch + self.offset_s + self.now(), UTC)

    async def sleep_until(self, t: float) -> None:
        """Sleep until `now() >= t`, waking at the next whole `WAKE_QUANTUM_S` of the loop's
        time at or after it (that much late at most, beside the loop's own lateness): the
        sleepers due within one quantum share one timer and wake in the order they are
        due. A partition's 5,000 actors sleeping on a timer each kept a heap of 5,000
        timers, each pushed and popped through Python-level comparisons, every second."""
        delay = (t - self.now()) / self.speed
        if delay <= 0:
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        key = (loop, math.ceil(due / WAKE_QUANTUM_S))
        sleepers = self._sleepers.get(key)
        if sleepers is None:
            sleepers = self._sleepers[key] = []
            loop.call_at(key[1] * WAKE_QUANTUM_S, self._wake, key)
        future: asyncio.Future[None] = loop.create_future()
        sleepers.append((due, future))
        await future

    def _wake(self, key: tuple[asyncio.AbstractEventLoop, int]) -> None:
        """Wake the sleepers of one quantum in the order they are due (those cancelled
        meanwhile are left alone)."""
        sleepers = self._sleepers.pop(key, [])
        sleepers.sort(key=_DUE)  # stable: ties keep their order
        for _, future in sleepers:
            if not future.done():
                future.set_result(None)


_DUE = operator.itemgetter(0)
"""A sleeper's due time (a key in C: a lambda was a Python call per sleeper per wake)."""

WAKE_QUANTUM_S = 0.005
"""The grain of `WallClock.sleep_until` [s of the loop's time]: a sleeper wakes at most
this much after its time (a partition's field link sends a batch every 50 ms)."""


class DeviceField:
    """The run's devices (see the module docstring): `options.assets` of them, built
    exactly as `dispatch.simulation.inproc_fleet` builds them, on a `WallClock`."""

    def __init__(
        self, options: SimulationOptions, epoch: float, assets: Sequence[str] | None = None
    ) -> None:
        """`assets`: only these of the fleet (a field per partition); None: all."""
        self.clock = WallClock(epoch)
        members = inproc_fleet(options, self.clock)
        wanted = None if assets is None else set(assets)
        self.devices: dict[str, InProcessDevice] = {
            m.adapter.asset_id: m.adapter  # type: ignore[misc]
            for m in members
            if wanted is None or m.adapter.asset_id in wanted
        }
        self.calls = 0

    @classmethod
    def of(cls, devices: dict[str, InProcessDevice]) -> DeviceField:
        """A field over devices that exist already (e.g. a server's embedded fleet, which
        its meters read), on their own clock."""
        field = cls.__new__(cls)
        field.devices = devices
        field.calls = 0
        return field

    def exchange(self, writes: Sequence[Write], reads: Sequence[str]) -> Exchanged:
        """Apply `writes` in order, then read `reads`; a device that cannot answer reads
        as None."""
        self.calls += 1
        answers: list[Answer] = []
        for asset, setpoint, fence in writes:
            device = self.devices[asset]
            try:
                _sync(device.write_setpoint(setpoint, None if fence is None else Fence(*fence)))
                answers.append((True, None))
            except DeviceError as exc:
                answers.append((False, f"{type(exc).__name__}: {exc.reason}"))
        readings: list[Reading | None] = []
        for asset in reads:
            device = self.devices[asset]
            try:
                r = _sync(device.read())
            except DeviceError:
                readings.append(None)
                continue
            readings.append(
                (
                    r.power_mw,
                    r.setpoint_mw,
                    r.soc,
                    r.max_mw,
                    r.min_mw,
                    device.physical_power_mw(),
                    r.at.timestamp(),
                )
            )
        return answers, readings

    def truth_mw(self) -> float:
        """What every device physically injects now [MW]."""
        return sum(d.physical_power_mw() for d in self.devices.values())

    def fencing(self) -> dict[str, int]:
        """Commands accepted and refused by fencing, and double commands, over all devices."""
        guards = [d.fence for d in self.devices.values() if d.fence is not None]
        return {
            "accepted": sum(g.accepted for g in guards),
            "refused": sum(g.refused for g in guards),
            "double_commands": sum(g.double_commands for g in guards),
            "owner_changes": sum(max(0, len(g.owners) - 1) for g in guards),
        }


def _sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run an in-process device's coroutine, which never awaits anything, to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("an in-process device call awaited something")


__all__ = ["Answer", "DeviceField", "Exchanged", "Reading", "WallClock", "Write"]
