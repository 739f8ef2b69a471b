"""Device physics: dead time, ramps, limits, SoC and efficiency, PV curtailment, CHP load."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.devices.physics import Battery, Chp, Pv, clear_sky, ramp_towards


def run(device: Battery | Pv | Chp, seconds: float, dt: float = 0.05) -> None:
    for _ in range(round(seconds / dt)):
        device.step(dt)


def test_battery_dead_time_then_ramp() -> None:
    battery = Battery(max_mw=2.0, min_mw=-2.0, capacity_mwh=4.0, ramp_mw_per_s=1.0, dead_time_s=0.5)
    battery.set_setpoint(1.5)
    run(battery, 0.5)
    assert battery.power_mw == pytest.approx(0.0, abs=1e-9)
    run(battery, 1.0)
    assert battery.power_mw == pytest.approx(1.0)
    run(battery, 1.0)
    assert battery.power_mw == pytest.approx(1.5)


def test_battery_limits_soc_and_efficiency() -> None:
    battery = Battery(1.0, -1.0, capacity_mwh=1.0, soc=0.5, eta_charge=0.9, ramp_mw_per_s=100)
    battery.set_setpoint(-5.0)  # clamped to the charge limit
    run(battery, 1.0, dt=0.1)
    assert battery.power_mw == pytest.approx(-1.0)
    soc = battery.soc
    run(battery, 360.0, dt=1.0)  # 0.1 h at -1 MW: +0.09 MWh stored
    assert battery.soc == pytest.approx(soc + 0.09, rel=1e-6)
    run(battery, 36000.0, dt=10.0)
    assert battery.soc == 1.0
    assert battery.power_mw == 0.0  # full: no more charging


def test_battery_stops_when_empty() -> None:
    battery = Battery(1.0, -1.0, capacity_mwh=0.01, soc=0.01, dead_time_s=0.0, ramp_mw_per_s=10)
    battery.set_setpoint(1.0)
    run(battery, 60.0, dt=0.5)
    assert battery.soc == 0.0
    assert battery.power_mw == 0.0


def test_newer_setpoint_replaces_a_waiting_one() -> None:
    battery = Battery(1.0, -1.0, 1.0, ramp_mw_per_s=10.0, dead_time_s=1.0)
    battery.set_setpoint(1.0)
    battery.step(0.5)
    battery.set_setpoint(-0.5)
    run(battery, 2.0)
    assert battery.power_mw == pytest.approx(-0.5)


@given(st.floats(-10, 10), st.floats(-10, 10), st.floats(0, 5))
def test_ramp_towards_never_overshoots(current: float, target: float, step: float) -> None:
    moved = ramp_towards(current, target, step)
    assert abs(moved - current) <= step + 1e-12
    assert min(current, target) - 1e-12 <= moved <= max(current, target) + 1e-12


def test_pv_follows_sun_and_limit() -> None:
    pv = Pv(rated_mw=1.0, profile=lambda _t: 0.6, ramp_mw_per_s=1.0, dead_time_s=0.0)
    assert pv.power_mw == pytest.approx(0.6)
    pv.set_setpoint(0.25)
    run(pv, 1.0)
    assert pv.power_mw == pytest.approx(0.25)
    pv.set_setpoint(5.0)
    run(pv, 1.0)
    assert pv.power_mw == pytest.approx(0.6)  # the sun is the limit


def test_clear_sky_profile() -> None:
    assert clear_sky(0.0) == 0.0
    assert clear_sky(12 * 3600.0) == pytest.approx(1.0)
    assert clear_sky(20 * 3600.0) == 0.0
    pv = Pv(rated_mw=2.0, t=5 * 3600.0, dead_time_s=0.0)
    run(pv, 3600.0 * 2, dt=10.0)  # 05:00 -> 07:00: power rises from 0
    assert 0.0 < pv.power_mw < 1.0


def test_chp_min_load_on_off() -> None:
    chp = Chp(max_mw=1.0, min_load_mw=0.5, ramp_mw_per_s=0.1, dead_time_s=0.0)
    chp.set_setpoint(0.2)  # below min load: runs at min load
    run(chp, 10.0)
    assert chp.on
    assert chp.power_mw == pytest.approx(0.5)
    chp.set_setpoint(0.0)
    run(chp, 10.0)
    assert not chp.on
    assert chp.power_mw == 0.0


def test_ten_thousand_batteries_step_fast() -> None:
    fleet = [Battery(1.0, -1.0, 2.0) for _ in range(10_000)]
    for battery in fleet:
        battery.set_setpoint(0.5)
    started = time.perf_counter()
    for battery in fleet:
        battery.step(1.0)
    assert time.perf_counter() - started < 0.5  # ~6 ms measured; loose for CI
