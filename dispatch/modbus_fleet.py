"""The dispatcher against a fleet of Modbus TCP device simulators on loopback, in real time.

`run_modbus_simulation(options)` starts `options.assets` simulated devices (batteries, PV
inverters and CHP controllers in turn, `dispatch.devices.modbus_sim`), connects one
`ModbusAdapter` per device (the same client code that drives real devices: negotiation,
register maps, firmware checks), and runs `dispatch.simulation.run_fleet` on a `RealClock`.
Devices and dispatcher share one event loop, so the figures are conservative: the servers'
work counts against the dispatcher's.

Faults go to the simulators (`SimulatedDevice.inject`, every kind of
`dispatch.devices.faults.Fault`), which also give the truth the report's `truth` view is
sampled from (`physical_power_mw()`: what each device really injects, 0 when tripped).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dispatch.activation import ActivationSource
from dispatch.clock import RealClock
from dispatch.devices.modbus_sim import SimulatedFleet
from dispatch.devices.physics import Battery
from dispatch.inproc import limits_of
from dispatch.protocols.modbus import ModbusAdapter
from dispatch.simulation import FleetMember, SimulationOptions, plan_for, run_fleet


def _kind(asset_id: str) -> str:
    return asset_id.split("-")[1]


async def run_on_modbus(
    options: SimulationOptions, *, activation: ActivationSource | None = None
) -> dict[str, Any]:
    """Start the simulators, dispatch them for `options.duration_s`, stop them; the KPIs."""
    for noisy in ("pymodbus", "pymodbus.logging"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    simulators = SimulatedFleet(options.assets)
    started = await simulators.start()
    try:
        fleet: list[FleetMember] = []
        for index, member in enumerate(started):
            device = simulators.devices[member.asset_id]
            kind = _kind(member.asset_id)
            physics = device.model.physics
            limits = limits_of(physics, options.response_s)  # PV: the setpoint is a cap
            adapter = ModbusAdapter(
                # below the actor's 0.5 s deadline: the adapter sees (and counts) its timeouts
                member.asset_id,
                member.host,
                member.port,
                timeout_s=0.4,
                identity_check_s=5.0,
            )
            energy = physics.capacity_mwh if isinstance(physics, Battery) else None
            plan = plan_for(kind, limits, index)
            physics.power_mw = physics.target_mw = plan(0)  # a running fleet, at its plan
            device.model.preset(plan(0))  # and its registers say so
            fleet.append(
                FleetMember(
                    adapter,
                    limits,
                    kind,
                    energy,
                    plan,
                    device,
                )
            )
        return await run_fleet(options, fleet, RealClock(), activation=activation)
    finally:
        await simulators.stop()


def run_modbus_simulation(options: SimulationOptions) -> dict[str, Any]:
    """`run_on_modbus` in a fresh event loop."""
    report = asyncio.run(run_on_modbus(options))
    return {**report, "protocol": "modbus"}


__all__ = ["run_modbus_simulation", "run_on_modbus"]
