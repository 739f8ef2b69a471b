"""In-process devices: for each fault kind, what the device says against what it injects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch import inproc
from dispatch.device import DeviceFaultError, DeviceTimeoutError, MapMismatchError
from dispatch.devices import faults
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.inproc import Fault, InProcessDevice, parse_fault

T = TypeVar("T")
T0 = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)


class StepClock:
    """A `DispatchClock` the test moves by hand [s]."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    async def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def battery(clock: StepClock, power_mw: float = 0.5) -> InProcessDevice:
    physics = Battery(1.0, -1.0, capacity_mwh=1.0, soc=0.5, ramp_mw_per_s=1.0, dead_time_s=0.0)
    physics.power_mw = physics.target_mw = power_mw
    return InProcessDevice("bat-1", physics, clock, "battery")


def settle(clock: StepClock, seconds: float = 5.0) -> None:
    clock.t += seconds


def test_fault_is_the_one_list_and_outage_still_parses() -> None:
    assert inproc.Fault is faults.Fault
    assert len(Fault) == 9
    assert parse_fault("outage") is Fault.SILENCE
    assert parse_fault("trip") is Fault.TRIP
    with pytest.raises(ValueError, match="meltdown"):
        parse_fault("meltdown")
    device = battery(StepClock())
    device.inject("outage")
    assert device.fault is Fault.SILENCE


def test_healthy_device_follows_setpoints_and_says_so() -> None:
    clock = StepClock()
    device = battery(clock)
    run(device.write_setpoint(0.8))
    settle(clock)
    reading = run(device.read())
    assert reading.power_mw == pytest.approx(0.8)
    assert reading.setpoint_mw == pytest.approx(0.8)
    assert device.physical_power_mw() == pytest.approx(0.8)


def test_trip_drops_to_zero_and_stops_answering() -> None:
    clock = StepClock()
    device = battery(clock, 0.7)
    device.inject(Fault.TRIP)
    assert device.physical_power_mw() == 0.0
    for call in (device.read(), device.write_setpoint(0.9), device.identify()):
        with pytest.raises(DeviceTimeoutError):
            run(call)
    settle(clock)
    assert device.physical_power_mw() == 0.0  # still nothing, whatever was written before
    device.clear()
    assert run(device.read()).power_mw == 0.0  # back, idle until told
    run(device.write_setpoint(0.4))
    settle(clock)
    assert device.physical_power_mw() == pytest.approx(0.4)


def test_silence_stops_answering_but_keeps_injecting() -> None:
    clock = StepClock()
    device = battery(clock, 0.7)
    device.inject(Fault.SILENCE)
    settle(clock)
    with pytest.raises(DeviceTimeoutError):
        run(device.read())
    with pytest.raises(DeviceTimeoutError):
        run(device.write_setpoint(0.0))
    assert device.physical_power_mw() == pytest.approx(0.7)


def test_ack_no_exec_acknowledges_and_reads_back_but_never_moves() -> None:
    clock = StepClock()
    device = battery(clock, 0.2)
    device.inject(Fault.ACK_NO_EXEC)
    ack = run(device.write_setpoint(0.9))
    assert ack.read_back_mw == pytest.approx(0.9)
    settle(clock)
    reading = run(device.read())
    assert reading.setpoint_mw == pytest.approx(0.9)
    assert reading.power_mw == pytest.approx(0.2)
    assert device.physical_power_mw() == pytest.approx(0.2)


def test_partial_executes_a_share_of_each_new_setpoint() -> None:
    clock = StepClock()
    device = battery(clock, 0.0)
    device.inject(Fault.PARTIAL)
    run(device.write_setpoint(-0.5))
    settle(clock)
    reading = run(device.read())
    assert reading.setpoint_mw == pytest.approx(-0.5)
    assert reading.power_mw == pytest.approx(-0.5 * inproc.PARTIAL_SHARE)
    assert device.physical_power_mw() == pytest.approx(-0.3)


def test_slow_ramp_ramps_at_a_tenth_and_clear_restores() -> None:
    clock = StepClock()
    device = battery(clock, 0.0)
    device.inject(Fault.SLOW_RAMP)
    run(device.write_setpoint(1.0))
    settle(clock, 2.0)
    assert device.physical_power_mw() == pytest.approx(0.2)  # 1 MW/s * 0.1 * 2 s
    device.clear()
    settle(clock, 1.0)
    assert device.physical_power_mw() == pytest.approx(1.0)


def test_stuck_acknowledges_but_power_and_telemetry_stay_frozen() -> None:
    clock = StepClock()
    device = battery(clock, 0.0)
    run(device.write_setpoint(1.0))
    clock.t += 0.4  # half way up the ramp
    device.inject(Fault.STUCK)
    run(device.write_setpoint(-1.0))
    settle(clock)
    reading = run(device.read())
    assert reading.power_mw == pytest.approx(0.4)
    assert reading.setpoint_mw == pytest.approx(-1.0)
    assert device.physical_power_mw() == pytest.approx(0.4)


def test_fake_meter_reports_the_setpoint_while_soc_follows_the_real_power() -> None:
    clock = StepClock()
    device = battery(clock, 0.0)
    device.inject(Fault.FAKE_METER)
    soc_before = run(device.read()).soc
    assert soc_before is not None
    run(device.write_setpoint(0.9))
    settle(clock, 36.0)  # 0.01 h
    reading = run(device.read())
    assert reading.power_mw == pytest.approx(0.9)  # what it says
    assert device.physical_power_mw() == pytest.approx(0.0)  # what it does
    # A 0.9 MW discharge for 0.01 h would have moved SoC by ~0.0095; it did not move.
    assert reading.soc == pytest.approx(soc_before)


def test_fake_meter_on_pv_reports_its_limit_as_production() -> None:
    clock = StepClock()
    pv = Pv(rated_mw=1.0, profile=lambda _t: 0.5, dead_time_s=0.0)
    device = InProcessDevice("pv-1", pv, clock, "pv")
    device.inject(Fault.FAKE_METER)
    run(device.write_setpoint(0.9))
    settle(clock)
    assert run(device.read()).power_mw == pytest.approx(0.9)
    assert device.physical_power_mw() == pytest.approx(0.5)


def test_firmware_is_a_map_mismatch_on_every_call_and_the_reboot_leaves_it_idle() -> None:
    clock = StepClock()
    device = battery(clock, 0.3)
    device.inject(Fault.FIRMWARE)
    for call in (device.identify(), device.read(), device.write_setpoint(0.9)):
        with pytest.raises(MapMismatchError, match=r"9\.9\.9"):
            run(call)
    settle(clock)
    assert device.writes == 0
    assert device.physical_power_mw() == pytest.approx(0.0)  # setpoint lost in the reboot
    pv = Pv(rated_mw=1.0, profile=lambda _t: 0.5, dead_time_s=0.0)
    pv_device = InProcessDevice("pv-1", pv, clock, "pv")
    run(pv_device.write_setpoint(0.2))
    settle(clock)
    pv_device.inject(Fault.FIRMWARE)
    settle(clock)
    assert pv_device.physical_power_mw() == pytest.approx(0.5)  # uncurtailed


def test_firmware_inplace_keeps_its_identity_but_its_values_cannot_be_decoded() -> None:
    clock = StepClock()
    device = battery(clock, 0.3)
    before = run(device.identify())
    device.inject(Fault.FIRMWARE_INPLACE)
    assert run(device.identify()) == before
    for call in (device.read(), device.write_setpoint(0.9)):
        with pytest.raises(DeviceFaultError, match="scale factor"):
            run(call)
    settle(clock)
    assert device.physical_power_mw() == pytest.approx(0.3)


@pytest.mark.parametrize("kind", list(Fault))
def test_every_fault_can_be_given_before_the_first_contact(kind: Fault) -> None:
    clock = StepClock()
    chp = Chp(max_mw=1.0, min_load_mw=0.5, ramp_mw_per_s=0.1, dead_time_s=0.0)
    chp.power_mw = chp.target_mw = 0.8
    device = InProcessDevice("chp-1", chp, clock, "chp")
    device.inject(kind)  # t = 0, nobody has talked to it yet
    settle(clock, 10.0)
    truth = device.physical_power_mw()
    assert truth == (0.0 if kind in (Fault.TRIP, Fault.FIRMWARE) else pytest.approx(0.8))


def test_physics_runs_from_creation_not_from_the_first_contact() -> None:
    clock = StepClock()
    pv = Pv(rated_mw=1.0, profile=lambda t: 0.2 if t > 10.0 else 0.6, t=0.0, dead_time_s=0.0)
    device = InProcessDevice("pv-1", pv, clock, "pv")
    settle(clock, 20.0)
    assert run(device.read()).power_mw == pytest.approx(0.2)


@given(
    kind=st.sampled_from(list(Fault)),
    setpoints=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=5),
    gap=st.floats(0.1, 5.0),
)
def test_a_trip_injects_nothing_whatever_is_written(
    kind: Fault, setpoints: list[float], gap: float
) -> None:
    """Whatever fault came before and whatever is written since, a tripped device
    injects 0 MW; every other fault keeps the device within its limits."""
    clock = StepClock()
    device = battery(clock, 0.5)
    device.inject(kind)
    for setpoint in setpoints:
        with contextlib.suppress(DeviceTimeoutError, MapMismatchError, DeviceFaultError):
            run(device.write_setpoint(setpoint))
        clock.t += gap
        assert -1.0 <= device.physical_power_mw() <= 1.0
    device.inject(Fault.TRIP)
    for setpoint in setpoints:
        with pytest.raises(DeviceTimeoutError):
            run(device.write_setpoint(setpoint))
        clock.t += gap
        assert device.physical_power_mw() == 0.0


@pytest.mark.parametrize("kind", [Fault.ACK_NO_EXEC, Fault.PARTIAL, Fault.STUCK, Fault.FAKE_METER])
def test_once_cleared_a_device_follows_the_setpoint_it_holds(kind: Fault) -> None:
    clock = StepClock()
    device = battery(clock, 0.2)
    device.inject(kind)
    run(device.write_setpoint(-0.7))
    settle(clock)
    assert device.physical_power_mw() != pytest.approx(-0.7)
    device.clear()
    settle(clock)
    assert device.physical_power_mw() == pytest.approx(-0.7)
    assert run(device.read()).power_mw == pytest.approx(-0.7)


def test_a_pv_held_without_writes_gets_its_limit_back_when_cleared() -> None:
    clock = StepClock()
    sun = [0.5]
    pv = Pv(rated_mw=1.0, profile=lambda _t: sun[0], dead_time_s=0.0)
    device = InProcessDevice("pv-1", pv, clock, "pv")
    device.inject(Fault.STUCK)
    sun[0] = 0.9
    settle(clock)
    assert device.physical_power_mw() == pytest.approx(0.5)  # stuck below what the sun allows
    device.clear()
    settle(clock)
    assert device.physical_power_mw() == pytest.approx(0.9)  # uncurtailed again


HONEST = (Fault.ACK_NO_EXEC, Fault.PARTIAL, Fault.SLOW_RAMP, Fault.STUCK)


@given(
    kind=st.sampled_from(list(Fault)),
    kind_of_device=st.sampled_from(["battery", "pv", "chp"]),
    steps=st.lists(st.tuples(st.floats(-1.0, 1.0), st.floats(0.05, 20.0)), min_size=1, max_size=6),
)
def test_what_a_faulty_device_says_against_what_it_does(
    kind: Fault, kind_of_device: str, steps: list[tuple[float, float]]
) -> None:
    """Honest faults report the power they inject; a fake meter reports what it was told;
    the others do not report at all, and nothing a faulty device does leaves its limits."""
    clock = StepClock()
    physics: Battery | Pv | Chp
    if kind_of_device == "battery":
        physics = Battery(1.0, -1.0, capacity_mwh=10.0, dead_time_s=0.2)
    elif kind_of_device == "pv":
        physics = Pv(rated_mw=1.0, profile=lambda _t: 0.7)
    else:
        physics = Chp(max_mw=1.0, min_load_mw=0.4, ramp_mw_per_s=0.2)
    device = InProcessDevice("dev-1", physics, clock, kind_of_device)
    device.inject(kind)
    low = -1.0 if kind_of_device == "battery" else 0.0
    for setpoint, gap in steps:
        with contextlib.suppress(DeviceTimeoutError, MapMismatchError, DeviceFaultError):
            run(device.write_setpoint(setpoint))
        clock.t += gap
        truth = device.physical_power_mw()
        assert low - 1e-9 <= truth <= 1.0 + 1e-9
        if kind in (Fault.TRIP, Fault.SILENCE, Fault.FIRMWARE, Fault.FIRMWARE_INPLACE):
            with pytest.raises((DeviceTimeoutError, MapMismatchError, DeviceFaultError)):
                run(device.read())
            continue
        reported = run(device.read()).power_mw
        if kind is Fault.FAKE_METER:
            assert reported == pytest.approx(setpoint)
        else:
            assert kind in HONEST
            assert reported == pytest.approx(truth)
