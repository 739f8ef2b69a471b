"""Register images of the simulated models: what a reader that reads the scale factors gets
equals the physics, in either layout, and an in-place layout change moves no setpoint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.devices import sim_registers as sr
from dispatch.devices.modbus_sim import make_model
from dispatch.devices.sim_models import HelioMaxSim, KwkControlSim, VoltaStorSim


def s16(reg: int) -> int:
    return reg - 0x10000 if reg >= 0x8000 else reg


def sunspec_w(model: VoltaStorSim | HelioMaxSim, sign: int = 1) -> float:
    """Model 103 W in MW as a reader that reads W_SF gets it (device sign times `sign`)."""
    inv = model.image.bodies[103]
    raw, sf = model.image.get(inv + sr.M103_W), model.image.get(inv + sr.M103_W_SF)
    return sign * s16(raw) * 10.0 ** s16(sf) * 1e-6


@given(
    power=st.floats(-0.003, 0.003),
    firmware=st.sampled_from(["1.4.2", "2.0.0"]),
    inplace=st.booleans(),
)
def test_battery_w_decodes_to_the_physics_in_either_layout(
    power: float, firmware: str, inplace: bool
) -> None:
    model = VoltaStorSim("VB5-1", firmware)
    model.set_inplace(inplace)
    model.physics.power_mw = power
    model.refresh()
    sign = -1 if firmware.startswith("2.") else 1
    resolution = 10.0 ** s16(model.image.get(model.image.bodies[103] + sr.M103_W_SF)) * 1e-6
    assert sunspec_w(model, sign) == pytest.approx(power, abs=resolution / 2 + 1e-12)


@given(pct=st.integers(0, 100), charge=st.booleans())
def test_battery_setpoint_survives_an_inplace_change_and_back(pct: int, charge: bool) -> None:
    model = VoltaStorSim("VB5-1")
    sto = model.image.bodies[124]
    model.image.put(sto + sr.M124_STORCTL_MOD, 1 if charge else 2)
    model.image.put(sto + (sr.M124_INWRTE if charge else sr.M124_OUTWRTE), pct * 100)
    before = model.setpoint_mw()
    model.set_inplace(True)
    assert model.image.get(sto + sr.M124_INOUTWRTE_SF) == sr.s16(-1)
    assert model.setpoint_mw() == pytest.approx(before)
    model.set_inplace(False)
    assert model.setpoint_mw() == pytest.approx(before)


@given(power=st.floats(0.0, 0.06), limit=st.integers(0, 1000), inplace=st.booleans())
def test_pv_w_and_limit_decode_consistently(power: float, limit: int, inplace: bool) -> None:
    model = HelioMaxSim("HM60-1")
    ctl = model.image.bodies[123]
    model.image.put(ctl + sr.M123_WMAXLIMPCT, limit)
    model.image.put(ctl + sr.M123_WMAXLIM_ENA, 1)
    before = model.setpoint_mw()
    model.set_inplace(inplace)
    model.physics.power_mw = power
    model.refresh()
    resolution = 10.0 ** s16(model.image.get(model.image.bodies[103] + sr.M103_W_SF)) * 1e-6
    assert sunspec_w(model) == pytest.approx(power, abs=resolution / 2 + 1e-12)
    assert model.setpoint_mw() == pytest.approx(before)


@given(kw=st.sampled_from([0, *range(25, 51)]), power=st.floats(0.0, 0.05))
def test_chp_inplace_is_ten_times_the_registers_for_the_same_physics(kw: int, power: float) -> None:
    model = make_model("chp", 1)
    assert isinstance(model, KwkControlSim)
    model.image.put(sr.CHP_SETPOINT_KW, kw)
    model.physics.power_mw = power
    model.refresh()
    raw_power = model.image.get(sr.CHP_POWER_KW)
    model.set_inplace(True)
    assert model.setpoint_mw() == pytest.approx(kw / 1000.0)
    assert model.image.get(sr.CHP_SETPOINT_KW) == 10 * kw
    assert abs(model.image.get(sr.CHP_POWER_KW) - 10 * raw_power) <= 5
    assert model.fc43() == make_model("chp", 1).fc43()
    assert model.image.get(sr.CHP_MAX_KW) == 50  # limits stay in kW


def test_fake_meter_reading_replaces_power_but_not_soc() -> None:
    model = VoltaStorSim("VB5-1")
    model.physics.power_mw, model.physics.soc = 0.001, 0.42
    model.refresh(reported_mw=0.0025)
    assert sunspec_w(model) == pytest.approx(0.0025)
    assert model.image.get(model.image.bodies[124] + sr.M124_CHASTATE) == 4200  # 0.01 % steps


def test_chastate_is_fine_enough_to_contradict_a_fake_meter_within_three_seconds() -> None:
    """A battery held at 0 MW that claims 1.5 kW (half its rating): the SoC that claim
    implies after 3 s differs from the ChaState register by at least two steps."""
    model = VoltaStorSim("VB5-1")
    physics = model.physics
    physics.hold()
    model.refresh(reported_mw=0.0015)
    before = model.image.get(model.image.bodies[124] + sr.M124_CHASTATE)
    physics.step(3.0)
    model.refresh(reported_mw=0.0015)
    after = model.image.get(model.image.bodies[124] + sr.M124_CHASTATE)
    claimed_drop = 0.0015 * 3.0 / 3600.0 / physics.eta_discharge / physics.capacity_mwh
    step = 10.0**sr.CHASTATE_SF / 100.0
    assert after == before
    assert claimed_drop / step >= 2.0
