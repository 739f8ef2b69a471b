"""Fake meters found over Modbus timing, in process: every request as slow as over a busy
Modbus link and the state of charge in 0.01 % steps (`lossy_links.ModbusPaced`), on a
virtual clock, so that a run seen over Modbus can be replayed the same every time.

With that timing an honest CHP was named by its site meter (seed 7, a third of the fleet
fake meters): its probe returned, its report on its way from 50 to 30 kW at one reading,
just as a fake PV plant's report dropped by 20 kW unseen, and the steadiness test forgave
the reading where the CHP was mid-way (`control.crosscheck._midway`). And a fake battery
named by its state of charge as a fake PV plant's lie showed took that lie with it into
what it was taken to inject (`SiteWatch._exclude`): the PV plant was named 26 s later
(seed 5).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace

import pytest
import structlog
from lossy_links import ModbusPaced

from dispatch.clock import VirtualClock
from dispatch.simulation import (
    SimulationOptions,
    modbus_like_fleet,
    parse_faults,
    run_fleet,
)


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def _run(spec: str, seed: int) -> dict:
    """The Modbus benchmark's fleet, 400 assets in process, 60 s, Modbus timing."""
    options = SimulationOptions(assets=400, duration_s=60, faults=parse_faults(spec), seed=seed)

    async def main() -> dict:
        clock = VirtualClock(options.start)
        rng = random.Random(seed + 100)
        fleet = [
            replace(m, adapter=ModbusPaced(m.adapter, clock, rng))
            for m in modbus_like_fleet(options, clock)
        ]
        return await run_fleet(options, fleet, clock)

    return asyncio.run(main())


def test_over_modbus_timing_no_honest_device_is_named_and_every_liar_is() -> None:
    report = _run("fake_meter:0.3@20s", 7)
    assert report["unfaulted_failures"]["assets"] == 0, report["unfaulted_failures"]
    faults = report["faults"]
    assert len(faults) == 120
    # Every liar whose lie showed is named (all of them, here).
    assert all(f["detected_s"] is not None for f in faults if f["observable_at_s"] is not None)
    assert sum(f["detected_s"] is not None for f in faults) == 120
    # The timing is Modbus's: the setpoint's acknowledgement takes most of a second.
    assert report["latency"]["setpoint_to_ack"]["p50_ms"] > 500
