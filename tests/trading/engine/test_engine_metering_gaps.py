"""The measured meter across late readings: a short gap is bridged by the next reading,
a long one, a quarantine or a device that never answers again is not metered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.device import Telemetry
from dispatch.pool import PoolConfig
from trading.engine.metering import METER_GAP_BRIDGED_S, IspMeter, meter_tick

AT = datetime(2026, 6, 13, tzinfo=UTC)
EDGES = np.array([0.0, 900.0])
TICK_S = 5.0


@dataclass
class _Adapter:
    asset_id: str


@dataclass
class _Device:
    mw: float

    def physical_power_mw(self) -> float:
        return self.mw


@dataclass
class _Member:
    adapter: _Adapter
    device: _Device


@dataclass
class _Pool:
    """What `meter_tick` reads of a pool: its board and its reading deadline."""

    board: TelemetryBoard
    config: PoolConfig


def meter_one_isp(read_at: list[float], *, state: str = "acknowledged") -> IspMeter:
    """A 2 MW asset ticked every 5 s through one ISP, its reading refreshed only at the
    ticks in `read_at` [s]; the measured meter of it."""
    board = TelemetryBoard()
    pool = _Pool(board, PoolConfig(tick_s=TICK_S, max_reading_age_s=2.5 * TICK_S))
    member = _Member(_Adapter("bat"), _Device(2.0))
    measured, truth = {"bat": IspMeter(EDGES)}, {"bat": IspMeter(EDGES)}
    fresh = set(read_at)
    for t in np.arange(0.0, 900.0 + TICK_S, TICK_S):
        if float(t) in fresh:
            reading = Telemetry(at=AT, power_mw=2.0)
            board.post(BoardEntry("bat", reading, state, True, read_t=float(t)))
        meter_tick(pool, [member], measured, truth, float(t))  # type: ignore[arg-type]
    return measured["bat"]


def every_tick_but(start: float, end: float) -> list[float]:
    return [float(t) for t in np.arange(0.0, 905.0, TICK_S) if not start < t < end]


def test_readings_late_by_less_than_the_bridged_gap_are_metered_whole() -> None:
    # no reading for 40 s (a busy machine): later than the 12.5 s control deadline, so the
    # pool did not count the asset, but the meter joins the readings on both sides
    meter = meter_one_isp(every_tick_but(300.0, 340.0))
    assert meter.complete().all()
    assert meter.energy_mwh[0] == pytest.approx(2.0 * 0.25)


def test_a_gap_longer_than_the_bridged_one_is_not_metered() -> None:
    gap_s = METER_GAP_BRIDGED_S + 30.0
    meter = meter_one_isp(every_tick_but(300.0, 300.0 + gap_s))
    assert not meter.complete().all()
    # the last reading stays fresh for two more ticks (the 12.5 s deadline); the rest of
    # the unread time is missing from the energy, never guessed
    unmetered_s = gap_s - 2 * TICK_S
    assert meter.energy_mwh[0] == pytest.approx(2.0 * (900.0 - unmetered_s) / 3600.0)


def test_a_device_that_never_answers_again_is_not_metered_past_its_last_fresh_tick() -> None:
    meter = meter_one_isp([float(t) for t in np.arange(0.0, 600.0, TICK_S)])
    # read last at 595 s, fresh for two more ticks (the 12.5 s deadline), then never again
    assert meter.energy_mwh[0] == pytest.approx(2.0 * 605.0 / 3600.0)
    assert not meter.complete().all()


def test_a_quarantined_assets_readings_are_not_metered() -> None:
    meter = meter_one_isp(every_tick_but(-1.0, -1.0), state="quarantined")
    assert meter.energy_mwh[0] == 0.0
