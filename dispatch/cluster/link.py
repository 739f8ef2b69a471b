"""A partition's connection to a `DeviceField` in another process: one batched call per
short window instead of one per device.

Each `RemoteDevice` is the `DeviceAdapter` of one asset (protocol ``field``); its reads
and writes wait on the partition's `FieldLink`, which every `batch_s` sends what is
pending as one `exchange` (writes first, then reads) and hands each caller its answer. A
refusal by the device's fencing memory comes back as `DeviceFencedError`, any other
refusal as `DeviceRefusedError`, a device that does not answer as `DeviceTimeoutError`;
the actor's own deadline (0.5 s) bounds the wait for a batch.

A batch leaves every `batch_s` whether or not the ones before it came back (at most
`max_in_flight` out at once): a call waits for the next departure and one round trip,
not for the round trip in flight as well. Sent one after the other, a call made just
after a batch left waited two round trips; at 5,000 assets a partition (round trip p50
about 0.1 s, p99 over 1 s on a busy machine) lost most of its reads to the actors' 0.5 s
deadline although the devices had answered, its assets were counted as unknown (0 MW)
while they went on injecting, and the pool's truth was 1-2 GW off (`docs/scale.md`).

With a `deadline_s` the link keeps the actors' deadline itself: a call not answered within
`deadline_s` of being made fails with `TimeoutError` at the next departure (so within
`deadline_s` + `batch_s`), and each `RemoteDevice` says so (`answers_within_s`). The
actor then awaits the call directly instead of through `asyncio.wait_for`, which made a
task and a timer per read and per write: about a quarter of a partition's CPU at 5,000
assets (`docs/scale.md`). One sweep per departure replaces them.

`RemoteDevice.physical_power_mw()` is the device's physical power as the field reported it
with the last reading: the run's truth sampler, never the controller, reads it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from dispatch.cluster.field import Exchanged, Reading, Write
from dispatch.device import (
    DeviceRefusedError,
    DeviceTimeoutError,
    Identity,
    Telemetry,
    WriteAck,
)
from dispatch.devices.fencing import DeviceFencedError, Fence

Exchange = Callable[[list[Write], list[str]], Awaitable[Exchanged]]
"""Sends one batch to the field and awaits its answer."""


class FieldLink:
    """Batches a partition's device calls (see the module docstring)."""

    def __init__(
        self,
        exchange: Exchange,
        batch_s: float = 0.05,
        max_in_flight: int = 8,
        deadline_s: float | None = None,
    ) -> None:
        if batch_s <= 0 or max_in_flight < 1:
            raise ValueError(
                f"batch_s={batch_s}, max_in_flight={max_in_flight}: need batch_s > 0 s and "
                "at least one batch in flight"
            )
        if deadline_s is not None and not deadline_s > 0:
            raise ValueError(f"deadline_s={deadline_s}: a call's deadline must be > 0 s")
        self.exchange = exchange
        self.batch_s = batch_s
        self.max_in_flight = max_in_flight
        self.deadline_s = deadline_s
        self._outstanding: deque[tuple[float, asyncio.Future[Any]]] = deque()
        """(made at [loop s], future) of every call, oldest first (with a deadline)."""
        self.expired = 0
        """Calls failed for want of an answer within the deadline."""
        self._writes: list[tuple[Write, asyncio.Future[tuple[bool, str | None]]]] = []
        self._reads: list[tuple[str, asyncio.Future[Reading | None]]] = []
        self.batches = 0
        self.batch_seconds: list[float] = []
        """Round-trip time of each batch [s]."""

    def read(self, asset: str) -> asyncio.Future[Reading | None]:
        """The asset's reading from the next batch (None: it did not answer), to await.
        A future, not a coroutine around one: each of a partition's thousands of calls a
        second resumes its actor through one level fewer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reading | None] = loop.create_future()
        self._reads.append((asset, future))
        if self.deadline_s is not None:
            self._outstanding.append((loop.time(), future))
        return future

    def write(
        self, asset: str, setpoint_mw: float, fence: Fence | None
    ) -> asyncio.Future[tuple[bool, str | None]]:
        """Send a setpoint in the next batch; (accepted, refusal), to await (a future, as
        `read`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[bool, str | None]] = loop.create_future()
        packed = None if fence is None else (fence.partition, fence.token, fence.owner)
        self._writes.append(((asset, setpoint_mw, packed), future))
        if self.deadline_s is not None:
            self._outstanding.append((loop.time(), future))
        return future

    async def run(self, until: Callable[[], bool]) -> None:
        """Send a batch every `batch_s` while `until()` is False, without waiting for the
        batches in flight (up to `max_in_flight`; then for the first of them to return)."""
        in_flight: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        while not until():
            await asyncio.sleep(self.batch_s)
            self._expire(loop.time())
            if not (self._writes or self._reads):
                continue
            if len(in_flight) >= self.max_in_flight:  # full: the calls wait a departure
                continue
            writes, self._writes = self._writes, []
            reads, self._reads = self._reads, []
            task = asyncio.ensure_future(self._send(writes, reads))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)

    def _expire(self, now: float) -> None:
        """Fail the calls made more than `deadline_s` before `now` [loop s] that have no
        answer yet (their answers, if they come, are dropped)."""
        if self.deadline_s is None:
            return
        oldest = now - self.deadline_s
        outstanding = self._outstanding
        while outstanding and outstanding[0][0] <= oldest:
            _, future = outstanding.popleft()
            if not future.done():
                future.set_exception(TimeoutError(f"no answer within {self.deadline_s:g} s"))
                self.expired += 1
        # Answered calls at the head are dropped above; those behind a slow one stay until
        # it expires (at most one deadline's worth of calls).

    async def _send(
        self,
        writes: list[tuple[Write, asyncio.Future[tuple[bool, str | None]]]],
        reads: list[tuple[str, asyncio.Future[Reading | None]]],
    ) -> None:
        """One batch: exchange it and hand each caller its answer (or the failure)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            answers, readings = await self.exchange([w for w, _ in writes], [a for a, _ in reads])
        except Exception as exc:  # the field is unreachable: every caller times out
            for _, future in [*writes, *reads]:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.batch_seconds.append(loop.time() - started)
        for (_, future), answer in zip(writes, answers, strict=True):
            if not future.done():
                future.set_result(answer)
        for (_, rfuture), reading in zip(reads, readings, strict=True):
            if not rfuture.done():
                rfuture.set_result(reading)


class RemoteDevice:
    """A `DeviceAdapter` over a `FieldLink` (see the module docstring)."""

    protocol = "field"

    def __init__(self, asset_id: str, kind: str, link: FieldLink) -> None:
        self.asset_id = asset_id
        self.kind = kind
        self.link = link
        self._physical = 0.0
        self._identified_with: Telemetry | None = None
        self.answers_within_s = None if link is None else link.deadline_s
        """Every call answers or raises once this long [s] has passed, at the link's next
        departure (the link keeps the deadline; `dispatch.actor.AssetActor` then sets none
        of its own, as its own timer also fires when the loop next gets to it); None: no
        such bound."""

    async def identify(self) -> Identity:
        """The simulated identity, once the device answers a read. That reading is the
        answer to the next `read` (an actor's first contact identifies and reads at once):
        one round trip instead of two, so that 5,000 first contacts are back before the
        pool's first tick on a busy link (`docs/scale.md`)."""
        reading = await self.read()
        self._identified_with = reading
        return Identity("vpp-engine", f"sim-{self.kind}", self.asset_id, "1.0.0")

    async def read(self) -> Telemetry:
        """A reading from the next batch [MW, SoC 0..1] (right after `identify`: its own)."""
        first = self._identified_with
        if first is not None:
            self._identified_with = None
            return first
        try:
            reading = await self.link.read(self.asset_id)
        except Exception as exc:
            raise DeviceTimeoutError(self.asset_id, f"field unreachable: {exc}") from None
        if reading is None:
            raise DeviceTimeoutError(self.asset_id, "no answer from the device")
        power, setpoint, soc, hi, lo, physical, at = reading
        self._physical = physical
        return Telemetry(datetime.fromtimestamp(at, UTC), power, setpoint, soc, hi, lo)

    async def write_setpoint(self, setpoint_mw: float, fence: Fence | None = None) -> WriteAck:
        """Send a setpoint [MW] with the owner's fence; refused writes raise."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            accepted, refusal = await self.link.write(self.asset_id, setpoint_mw, fence)
        except Exception as exc:
            raise DeviceTimeoutError(self.asset_id, f"field unreachable: {exc}") from None
        if not accepted:
            reason = refusal or "refused"
            if reason.startswith("DeviceFencedError"):
                raise DeviceFencedError(self.asset_id, reason)
            if reason.startswith(("DeviceTimeoutError", "MapMismatchError")):
                raise DeviceTimeoutError(self.asset_id, reason)
            raise DeviceRefusedError(self.asset_id, reason)
        return WriteAck(datetime.now(UTC), setpoint_mw, setpoint_mw, loop.time() - started)

    async def close(self) -> None:
        """Nothing to close (the link belongs to the partition)."""

    def physical_power_mw(self) -> float:
        """The device's physical power at its last reading [MW] (for the truth sampler)."""
        return self._physical

    def inject(self, fault: object) -> None:
        """Faults are injected in the field, not through a partition."""
        raise NotImplementedError("inject faults into the DeviceField, not a partition's link")


def remote_devices(assets: Sequence[tuple[str, str]], link: FieldLink) -> list[RemoteDevice]:
    """A `RemoteDevice` per (asset id, kind) on `link`."""
    return [RemoteDevice(asset, kind, link) for asset, kind in assets]


__all__ = ["Exchange", "FieldLink", "RemoteDevice", "remote_devices"]
