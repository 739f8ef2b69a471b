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

The engine's fleets over Modbus (issue 16):

- `LoopbackPlants.serve(members)`: a simulated fleet's members (in-process devices with
  a portfolio's physics, `trading.engine.fleet`) served as plant-scale Modbus TCP
  simulators on loopback (`dispatch.devices.plant_sims`) on the dispatcher's clock (a
  scaled clock runs their physics scaled too), and driven through `ModbusAdapter`: the
  same client path as real devices, with the simulator's truth kept.
- `on_devices(members, fleet)`: the members driven through the devices of a fleet file
  (`dispatch.fleet_file`); a real device's physical power is unknown (`RealDevice`: no
  truth), only what it measures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dispatch.activation import ActivationSource
from dispatch.clock import RealClock
from dispatch.devices.faults import Fault
from dispatch.devices.modbus_sim import SimulatedDevice, SimulatedFleet
from dispatch.devices.physics import Battery
from dispatch.devices.plant_sims import plant_model
from dispatch.fleet_file import FleetAsset, FleetFile, FleetFileError, FleetProblem
from dispatch.inproc import limits_of
from dispatch.protocols.modbus import ModbusAdapter
from dispatch.simulation import FleetMember, SimulationOptions, plan_for, run_fleet

ADAPTER_TIMEOUT_S = 0.4
"""Deadline per request of a simulated plant's adapter [s]: below the actor's 0.5 s, so
the adapter sees (and counts) its timeouts."""
IDENTITY_CHECK_S = 5.0
"""A simulated plant's adapter re-checks the firmware identity this often [real s]."""


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


def adapter_for(asset: FleetAsset) -> ModbusAdapter:
    """The `ModbusAdapter` of one fleet-file device."""
    return ModbusAdapter(
        asset.asset_id,
        asset.host,
        asset.port,
        device_id=asset.unit_id,
        timeout_s=asset.timeout_s,
        identity_check_s=asset.identity_check_s,
    )


@dataclass(frozen=True)
class RealDevice:
    """A device nobody simulates: what it physically injects is unknown (no truth); only
    its own measurement, read through its adapter, is known."""

    asset_id: str
    truth_known = False

    def inject(self, fault: Fault | str) -> None:
        """Refused: a real device takes no simulated faults."""
        raise ValueError(
            f"asset {self.asset_id}: fault {fault!r} cannot be injected into a real device"
        )

    def physical_power_mw(self) -> float | None:  # type: ignore[override]
        """Unknown: None (metering keeps no truth for a real device)."""
        return None


def on_devices(members: Sequence[FleetMember], fleet: FleetFile) -> list[FleetMember]:
    """`members` driven through `fleet`'s devices: each one's adapter a `ModbusAdapter` to
    its device, its device a `RealDevice` (no truth); limits, kind, energy and plan kept
    (they come from the portfolio). `FleetFileError` if a member has no device (check a
    whole portfolio first with `FleetFile.check_covers`)."""
    devices = fleet.by_asset()
    missing = [m.adapter.asset_id for m in members if m.adapter.asset_id not in devices]
    if missing:
        problems = [FleetProblem("assets", a, "has no device in the fleet file") for a in missing]
        raise FleetFileError(f"for portfolio {fleet.portfolio}", problems)
    return [
        replace(
            m,
            adapter=adapter_for(devices[m.adapter.asset_id]),
            device=RealDevice(m.adapter.asset_id),
        )
        for m in members
    ]


@dataclass
class LoopbackPlants:
    """Plant-scale Modbus TCP simulators on loopback, one server per asset, their physics
    advanced on `clock_now` [s] (the dispatcher clock's `now`)."""

    clock_now: Callable[[], float]
    host: str = "127.0.0.1"
    devices: dict[str, SimulatedDevice] = field(default_factory=dict)

    async def serve(self, members: Sequence[FleetMember]) -> list[FleetMember]:
        """Serve each member's physics (an in-process device's `physics`, at the power it
        runs at) and return the members driven through `ModbusAdapter` to them, with the
        simulator as the device (faults, truth). Unit id 1 on a free port each."""
        served = []
        for member in members:
            asset = member.adapter.asset_id
            physics = getattr(member.device, "physics", None)
            if physics is None:
                raise ValueError(f"asset {asset}: no simulated physics to serve over Modbus")
            model = plant_model(member.kind, len(self.devices), physics)
            model.preset(physics.target_mw)  # running at its plan: the registers say so
            device = SimulatedDevice(asset, model, self.host, clock=self.clock_now)
            port = await device.start()
            self.devices[asset] = device
            adapter = ModbusAdapter(
                asset,
                self.host,
                port,
                timeout_s=ADAPTER_TIMEOUT_S,
                identity_check_s=IDENTITY_CHECK_S,
            )
            served.append(replace(member, adapter=adapter, device=device))
        # connected and identified before the dispatcher's first tick, as a running engine's
        # devices are: on a scaled clock the first negotiation's real milliseconds are
        # simulated minutes, and an asset not yet answering looks lost to the trader
        await asyncio.gather(*(m.adapter.identify() for m in served))
        return served

    def fleet_file(self, portfolio: str) -> FleetFile:
        """The fleet file of the plants served (loopback host, their ports, unit 1)."""
        return FleetFile(
            portfolio=portfolio,
            assets=tuple(
                FleetAsset(asset_id=a, host=d.host, port=d.port, unit_id=d.unit_id)
                for a, d in self.devices.items()
            ),
        )

    async def stop(self) -> None:
        """Stop every server (and wait for any reboot a fault started)."""
        for device in self.devices.values():
            await device.settled()
            await device.stop()


__all__ = [
    "LoopbackPlants",
    "RealDevice",
    "adapter_for",
    "on_devices",
    "run_modbus_simulation",
    "run_on_modbus",
]
