"""A fault given to a device that was not answering: counted, and seen at its next read.

A device that never answered is already out of the pool and unknown: it has no read to miss
and no setpoint to fail, so a trip given to it then showed nowhere in the report (on a busy
host, 200-350 of 400 Modbus devices were unanswered at first contact). The report says which
faults came to unanswered devices, and the first read the dispatcher tries after the fault,
failing, is the fault's observable moment and its detection."""

from __future__ import annotations

import asyncio

import pytest
from hand_clock import HandClock
from prometheus_client import CollectorRegistry

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, DeviceTimeoutError, Identity, Telemetry, WriteAck
from dispatch.kpi import MISSED_READS, KpiRecorder
from dispatch.observability import DispatchMetrics


class MuteDevice:
    """Never answers (a device lost to a busy link, then tripped); each request gives up
    `deadline_s` after it was sent (the clock moved on by then)."""

    protocol = "test"
    asset_id = "chp-1"

    def __init__(self, clock: HandClock | None = None, deadline_s: float = 0.0) -> None:
        self.attempts: list[str] = []
        self.clock = clock
        self.deadline_s = deadline_s

    def _give_up(self) -> DeviceTimeoutError:
        if self.clock is not None:
            self.clock.t += self.deadline_s
        return DeviceTimeoutError(self.asset_id, "no answer within 0.5 s")

    async def identify(self) -> Identity:
        self.attempts.append("identify")
        raise self._give_up()

    async def read(self) -> Telemetry:
        self.attempts.append("read")
        raise self._give_up()

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        raise AssertionError("nothing is written to a device that never answered")

    async def close(self) -> None:
        pass


def _mute_actor(device: MuteDevice, clock: HandClock, kpi: KpiRecorder) -> AssetActor:
    """An actor for `device` (a 50 kW CHP) whose breaker opens at the first failure."""
    return AssetActor(
        device,
        DeviceLimits(0.05, 0.0, 0.05, 3.0),
        ActorContext(
            "pool",
            clock,
            TelemetryBoard(),
            RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
            DispatchMetrics(CollectorRegistry()),
            kpi,
        ),
        ActorConfig(policy=ConfirmationPolicy(tolerance_mw=0.001)),
        CircuitBreaker(BreakerConfig(failure_threshold=1, base_cooldown_s=2), rng=lambda: 0.5),
    )


@pytest.mark.parametrize("deadline_s", [0.0, 0.5])
def test_a_trip_on_a_device_that_never_answered_is_counted_and_seen_at_its_next_read(
    deadline_s: float,
) -> None:
    """Observable when the read after the fault was asked for; detected when it gave up
    (`deadline_s` later), not before."""

    async def scenario() -> None:
        clock = HandClock()
        kpi = KpiRecorder(tolerance_mw=0.1)
        kpi.started(0.0)
        device = MuteDevice(clock, deadline_s)
        actor = _mute_actor(device, clock, kpi)
        for second in range(5):  # first contact and a few probes: never an answer
            clock.t = float(second)
            await actor.turn()
        assert actor.unanswered_since == 0.0
        kpi.fault_injected("chp-1", "trip", 5.0, unanswered_since=actor.unanswered_since)
        tried_before = len(device.attempts)
        for second in range(5, 30):
            clock.t = float(second)
            await actor.turn()
        assert len(device.attempts) > tried_before, "the breaker never let a probe through"
        report = kpi.report(1)
        (fault,) = report["faults"]
        assert fault["unanswered_since_s"] == 0.0
        assert fault["evidence"] is not None, fault
        assert fault["evidence"].startswith(f"{MISSED_READS}: still no answer")
        assert fault["detected_s"] == deadline_s
        assert fault["observable_at_s"] + deadline_s == pytest.approx(
            fault["injected_at_s"] + fault["detected_after_injection_s"]
        )
        summary = report["fault_summary"]["trip"]
        assert (summary["injected"], summary["detected"]) == (1, 1)
        assert summary["unanswered_when_injected"] == 1
        assert summary["unanswered_unobservable"] == 0

    asyncio.run(scenario())


def test_a_fault_on_an_unanswered_device_never_read_again_is_said_unobservable() -> None:
    kpi = KpiRecorder(tolerance_mw=0.1)
    kpi.started(0.0)
    kpi.fault_injected("chp-1", "trip", 20.0, unanswered_since=3.0)
    kpi.fault_injected("chp-2", "trip", 20.0)
    kpi.fault_injected("bat-1", "ack_no_exec", 20.0, unanswered_since=3.0)
    kpi.fault_injected("bat-2", "ack_no_exec", 20.0, unanswered_since=3.0)
    kpi.asset_still_failing("chp-2", 19.0, MISSED_READS)  # before the fault: not it
    kpi.asset_still_failing("chp-3", 21.0, MISSED_READS)  # no fault there: no blame either
    kpi.asset_still_failing("bat-1", 22.0, MISSED_READS)  # no answer: not its evidence
    kpi.asset_answered("bat-2", 25.0)  # answers again: its fault could show from now on
    report = kpi.report(5)
    trip, ack = report["fault_summary"]["trip"], report["fault_summary"]["ack_no_exec"]
    assert (trip["injected"], trip["detected"]) == (2, 0)
    assert trip["unanswered_when_injected"] == 1
    assert trip["unanswered_unobservable"] == 1  # chp-1; chp-2 was answering: a miss
    assert (ack["unanswered_when_injected"], ack["unanswered_unobservable"]) == (2, 1)
    (bat2,) = [f for f in report["faults"] if f["asset"] == "bat-2"]
    assert bat2["answered_again_s"] == 25.0
    assert report["unfaulted_failures"]["assets"] == 0


def test_a_fault_at_t0_on_a_silent_device_is_detected_when_its_first_read_gave_up() -> None:
    """A device that never answers, its fault given at t = 0: observable at the first
    read asked for, detected when that read gave up (0.5 s later), not before."""

    async def scenario() -> dict:
        clock = HandClock()
        kpi = KpiRecorder(tolerance_mw=0.1)
        kpi.started(0.0)
        kpi.fault_injected("chp-1", "silence", 0.0)
        actor = _mute_actor(MuteDevice(clock, 0.5), clock, kpi)
        await actor.turn()
        (fault,) = kpi.report(1)["faults"]
        return fault

    fault = asyncio.run(scenario())
    assert fault["evidence"] is not None, fault
    assert fault["evidence"].startswith(MISSED_READS)
    assert fault["observable_at_s"] == 0.0
    assert fault["detected_s"] == 0.5
