"""Writes whose answers are lost: the device got the setpoint, the dispatcher never heard.

On a busy host a Modbus write's answer takes about its 0.5 s deadline, and about half of
them time out at the dispatcher although the device took the setpoint. The dispatcher
then could not tell what the device was sent: it suspended the execution check until a
later write was answered and an obeying device had had the time to cross its range, and
every resend (and every new setpoint after a lost answer) waited for a token of the
fleet's retry budget. With half the answers lost, 63 of 120 stuck devices of the Modbus
benchmark's fleet went unseen for the 40 s after their fault (over Modbus, 67 of 120).
Now the reading's setpoint register settles it: a device that holds what it was sent
took it, the watch judges from there, and nothing is resent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace

import pytest
import structlog
from lossy_links import LossyAnswers

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


def _run(spec: str, loss: float) -> tuple[dict, list[LossyAnswers]]:
    """The Modbus benchmark's fleet (battery, PV, CHP in turn, ten per site meter), 150
    assets in process on a virtual clock, 45 s, `spec` faults, `loss` of write answers
    lost."""
    options = SimulationOptions(assets=150, duration_s=45, faults=parse_faults(spec), seed=1)

    async def main() -> tuple[dict, list[LossyAnswers]]:
        clock = VirtualClock(options.start)
        rng = random.Random(3)
        fleet = modbus_like_fleet(options, clock)
        links = [LossyAnswers(m.adapter, clock, loss, rng) for m in fleet]
        fleet = [replace(m, adapter=link) for m, link in zip(fleet, links, strict=True)]
        return await run_fleet(options, fleet, clock), links

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["stuck", "ack_no_exec"])
def test_devices_that_do_not_move_are_found_though_half_the_answers_are_lost(kind: str) -> None:
    report, links = _run(f"{kind}:0.3@15s", loss=0.5)
    assert sum(link.lost for link in links) > 300  # half the answers were lost
    faults = report["faults"]
    assert len(faults) == 45
    # Every one within 3 s of the first setpoint it failed. Before: 28 of 45 never seen.
    assert all(f["detected_s"] is not None and f["detected_s"] <= 3.0 for f in faults)
    assert report["unfaulted_failures"]["assets"] == 0


def test_an_honest_fleet_whose_answers_are_lost_keeps_every_asset() -> None:
    report, links = _run("", loss=0.5)
    assert sum(link.lost for link in links) > 300
    assert report["unfaulted_failures"]["assets"] == 0
    assert report["truth"]["met"]
