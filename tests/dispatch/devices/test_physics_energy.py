"""A battery's stored energy follows the path its power takes through a step, however long
the step: the in-process devices advance their physics only when asked (every read, write
or truth sample), so one step may hold a dead time, a ramp through 0 MW and a plateau."""

from __future__ import annotations

import pytest

from dispatch.devices.physics import Battery


def battery() -> Battery:
    physics = Battery(10.0, -10.0, 10.0, soc=0.5, ramp_mw_per_s=5.0, dead_time_s=0.2)
    physics.power_mw = physics.target_mw = -4.5  # charging
    physics.set_setpoint(4.5)
    return physics


def test_a_reversal_within_one_step_is_counted_along_its_path() -> None:
    physics = battery()
    physics.step(5.0)
    # by hand: 0.2 s held at -4.5 MW, a ramp at 5 MW/s crossing 0 after 0.9 s and reaching
    # +4.5 MW after 1.8 s, then 3.0 s at +4.5 MW; charged 0.2*4.5 + 0.5*4.5*0.9 MW s at
    # eta 0.95, discharged 0.5*4.5*0.9 + 3.0*4.5 MW s over eta 0.95
    charged = (0.2 * 4.5 + 0.5 * 4.5 * 0.9) * 0.95
    discharged = (0.5 * 4.5 * 0.9 + 3.0 * 4.5) / 0.95
    expected = 0.5 + (charged - discharged) / 3600.0 / 10.0
    assert physics.power_mw == pytest.approx(4.5)
    assert physics.soc == pytest.approx(expected, rel=0, abs=1e-12)


def test_one_long_step_stores_what_many_short_ones_do() -> None:
    coarse, fine = battery(), battery()
    coarse.step(5.0)
    for _ in range(5000):
        fine.step(0.001)
    # the fine steps count each millisecond at its final power: within a few kW s
    assert coarse.soc == pytest.approx(fine.soc, rel=0, abs=1e-8)
