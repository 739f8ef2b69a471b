"""The pool on a coarse tick (the engine's compressed days run it at 10-15 s): the PI's
integral gain is bounded per tick, so the pool does not swing around its target.

A setpoint reaches the pool's sum of readings two ticks after the tick that set it (an
actor's turn reads, then writes). At ki = 0.1/s a 15 s tick made the integral 1.5 per tick,
beyond what a two-tick delay allows: the devices' true total swung by +-3 MW around the
target of a 17 MW fleet (1-31 MW around 15 MW in the CI day's NL pool), and an ISP's energy
was off by the residue of that swing (`PoolConfig.max_ki_per_tick`)."""

from __future__ import annotations

import logging

import pytest
import structlog

from dispatch.simulation import SimulationOptions, run_simulation


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    """Only critical events while these runs go (the conftest restores the rest after)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


@pytest.mark.parametrize("tick_s", [10.0, 15.0, 30.0])
def test_the_pools_truth_stays_within_tolerance_on_a_coarse_tick(tick_s: float) -> None:
    # Half an hour of 20 in-process assets on a virtual clock (no site meters): before the
    # bound the truth's RMS error was 0.9-2.7 MW against a 0.34 MW tolerance, after it
    # 0.15-0.26 MW.
    options = SimulationOptions(assets=20, duration_s=1800, tick_s=tick_s, site_size=0, seed=2)
    truth = run_simulation(options)["truth"]
    assert truth["met"], truth
    assert truth["rms_mw"] <= truth["tolerance_mw"], truth
