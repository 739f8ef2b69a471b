"""One delivery day of the whole loop on a simulated clock (`vpp simulate --day`).

D-1: the virtual trader plans on the forecasts and submits through the desk (the API's
submission path, stored in a real database); the desk's clearing loop clears every gate
of the day on the simulated exchange; the cleared bids make the position book; the
schedule builder allocates the positions to the assets (schedule version 1).

Delivery day, on one clock (virtual: as fast as it computes; or scaled: `speed`
simulated seconds per real one): one dispatcher pool per bidding zone follows the
schedule in force plus the TSO's aFRR activation within the capacity held (a real German
activation pattern scaled to the band held in the zone, `trading.engine.activation`);
every tick meters each asset (measured and device truth) per ISP; every
`engine_period_s` the desk clears what is due, the book takes the outcomes, and a lost
asset (unavailable or quarantined in the dispatcher) makes the virtual trader re-
optimise and trade the correction; each new schedule version is handed to the pools,
which switch at the next quarter-hour boundary. After the day everything is settled
(`trading.engine.settlement`).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dispatch.clock import DispatchClock, ScaledClock, VirtualClock
from dispatch.devices.faults import Fault
from dispatch.modbus_fleet import LoopbackPlants
from dispatch.pool import PoolController
from dispatch.protocols.iec104.link import TsoLink, missing_extra
from dispatch.simulation import FaultSpec, FleetMember, SimulationOptions, parse_faults, run_fleet
from markets.registry import MarketRegistry, default_registry
from regulatory import Portfolio
from trading.backtest.imbalance import ImbalancePrices, read_imbalance_prices
from trading.engine.activation import (
    NO_ACTIVATION,
    ActivationPattern,
    PatternActivation,
    holds_band,
    tso_steps,
)
from trading.engine.books import EngineBooks
from trading.engine.desk import Desk, EngineClock
from trading.engine.flags import GatedActivation, PoolFlags
from trading.engine.fleet import fleet_by_zone, simulated_part
from trading.engine.metering import IspMeter, meter_tick
from trading.engine.positions import PositionBook, entries_of
from trading.engine.schedules import ScheduleBuilder, ScheduleVersion
from trading.engine.settlement import ZoneDelivery, settle
from trading.engine.trader import VirtualTrader
from trading.exchange.records import Clearing
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.profiles import proxy_profiles
from trading.store import Repository, upgrade
from trading.store.errors import InvalidInputError
from trading.store.inputs import Actor
from trading.store.ops.flags import check_value
from trading.store.timestamps import use_clock

SUBMIT_WALL_S = 5.0
"""Wall-clock seconds allowed for a correction's orders to be checked and stored [s]: on a
scaled clock the trader leaves `speed` times as much simulated time before each gate."""
LOST_STATES = ("unavailable", "quarantined")
"""Dispatcher states in which an asset counts as lost for the trader."""
_HOURS = re.compile(r"@([0-9.]+)h\b")
_FLAG = re.compile(
    r"^(?P<pool>[A-Za-z0-9_]+):(?P<flag>[a-z_]+)=(?P<value>[A-Za-z0-9_]+)"
    r"@(?P<at>[0-9.]+)(?P<unit>[sh]?)$"
)
TSO_LINKS = ("loopback", "iec104")
"""Where the aFRR activation comes from: the pattern in process (`PatternActivation`), or a
simulated TSO over IEC 60870-5-104 to each zone's station (`TsoLink`, the extra)."""


class EngineInputError(ValueError):
    """Bad input to a day's run; the message names the field, the value and the rule."""


@dataclass(frozen=True)
class FlagChange:
    """Set pool flag `flag` of `pool` (a bidding zone) to `value` at `at_s` [s] of the day."""

    pool: str
    flag: str
    value: str
    at_s: float

    @property
    def text(self) -> str:
        """The change as written on the command line (seconds)."""
        return f"{self.pool}:{self.flag}={self.value}@{self.at_s:g}s"


def parse_flag_changes(texts: list[str] | None) -> list[FlagChange]:
    """``POOL:FLAG=VALUE@TIME`` each (TIME in seconds, ``900s``, or hours, ``1.5h``, of the
    delivery day), e.g. ``NL:afrr_activation=off@1h``; `EngineInputError` names the part
    and the rule. Whether the flag and value exist is checked when they are set."""
    changes = []
    for text in texts or []:
        match = _FLAG.match(text.strip())
        if match is None:
            raise EngineInputError(
                f"--flag={text!r}: must be POOL:FLAG=VALUE@TIME, e.g. NL:afrr_activation=off@1h "
                "(TIME in seconds or hours of the day)"
            )
        try:
            at = float(match["at"])
        except ValueError:
            raise EngineInputError(
                f"--flag={text!r}: TIME {match['at']!r} is not a number"
            ) from None
        changes.append(
            FlagChange(
                match["pool"],
                match["flag"],
                match["value"],
                at * 3600.0 if match["unit"] == "h" else at,
            )
        )
    return sorted(changes, key=lambda c: c.at_s)


def parse_day_faults(text: str | None) -> list[FaultSpec]:
    """`vpp simulate` fault specs with times in seconds or hours of the delivery day
    (``trip:0.1@12h`` = 12 hours after local midnight)."""
    converted = _HOURS.sub(lambda m: f"@{float(m[1]) * 3600:g}s", text or "")
    return parse_faults(converted)


@dataclass
class DayConfig:
    """What one day's run does."""

    day: date
    portfolio: Portfolio
    prices: PriceInputs
    afrr_prices: Mapping[tuple[str, str], pd.Series] | None = None
    imbalance: ImbalancePrices = field(default_factory=ImbalancePrices)
    speed: float | None = None
    faults: list[FaultSpec] = field(default_factory=list)
    correct: bool = True
    """Whether the virtual trader corrects intraday (off: the dispatcher alone)."""
    afrr: bool = True
    activation: ActivationPattern = NO_ACTIVATION
    """The aFRR activation pattern (`trading.engine.activation.german_pattern`)."""
    seed: int = 1
    database_url: str | None = None
    engine_period_s: float = 60.0
    tick_s: float = 1.0
    """Dispatcher tick [s]; coarser makes a faster (and rougher) simulation."""
    tenant: str = "engine-sim"
    registry: MarketRegistry | None = None
    modbus: bool = False
    """Serve the fleet as Modbus TCP simulators on loopback and dispatch it through the
    Modbus client path (`dispatch.modbus_fleet.LoopbackPlants`); needs a scaled clock."""
    hours: float | None = None
    """Deliver only the first `hours` of the day (whole quarter hours; None: all of it): a
    short run. Trading plans and clears the whole day; delivery, metering, the report's
    figures and the imbalance cover the ISPs delivered, revenue and planned costs stay the
    whole day's (the report's notes say so)."""
    tso: str = "loopback"
    """Where the aFRR activation comes from (`TSO_LINKS`): ``iec104`` needs the extra and
    a scaled clock (sockets)."""
    flag_changes: list[FlagChange] = field(default_factory=list)
    """Pool flags set during the day (each audited in the run's store as an admin would)."""

    def isps(self, in_day: int) -> int:
        """How many of the day's `in_day` ISPs are delivered."""
        if self.hours is None:
            return in_day
        return min(in_day, round(self.hours * 4))


@dataclass
class _Zone:
    zone: str
    members: list[FleetMember]
    afrr_up: IspMeter
    afrr_down: IspMeter
    measured: dict[str, IspMeter]
    truth: dict[str, IspMeter]
    planned_mw: np.ndarray
    """The pool's planned injection per ISP [MW] as it dispatched it (the version in force)."""
    applied: IspMeter
    """The activation the pool followed [MW, + up]: what the TSO asked while the zone's
    ``afrr_activation`` flag was on, 0 while it was off."""
    pool: PoolController | None = None
    truth_error_sq: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per ISP, the sum over the pool's ticks of (device truth - target)^2 [MW^2]."""
    truth_ticks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per ISP, the ticks summed in `truth_error_sq`."""


def run_day(config: DayConfig) -> dict[str, Any]:
    """Run the loop for one delivery day (see the module docstring); the report."""
    return asyncio.run(_run_day(config))


async def _run_day(config: DayConfig) -> dict[str, Any]:
    started = time.perf_counter()
    registry = config.registry if config.registry is not None else default_registry()
    portfolio, left_out = simulated_part(config.portfolio.in_service(config.day))
    _check_links(config, portfolio)
    horizon = Horizon.of(config.day)
    periods = horizon.periods
    profiles = proxy_profiles(portfolio, horizon)
    start = periods[0].to_pydatetime()
    end = start + timedelta(minutes=15 * len(periods))
    scratch = None
    url = config.database_url
    if url is None:  # a real SQLite file of the run's own, removed afterwards
        scratch = tempfile.TemporaryDirectory(prefix="vpp-engine-")
        url = f"sqlite:///{Path(scratch.name) / 'engine.db'}"
    upgrade(url)
    repository = Repository.from_url(url)
    tenant = config.tenant
    if _missing_tenant(repository, tenant):
        repository.create_tenant(tenant, "engine simulation")
    repository.save_portfolio(Actor.system(tenant), _document(portfolio, tenant))
    # D-1: the clock stands before the first gate; the exchange and the store read it
    d1 = {"now": start - timedelta(days=1, hours=-8)}  # D-1 08:00 local (UTC+2 in summer)
    engine_clock = EngineClock(lambda: d1["now"])
    use_clock(engine_clock.now)
    try:
        desk = Desk(repository, tenant, config.prices, registry, engine_clock, config.afrr_prices)
        trader = VirtualTrader(
            portfolio, config.day, config.prices, profiles, registry, enabled=config.correct
        )
        if config.speed is not None:  # orders must reach the desk before their gate closes
            trader.gate_margin = max(
                trader.gate_margin, timedelta(seconds=SUBMIT_WALL_S * config.speed)
            )
        builder = ScheduleBuilder(portfolio, config.day, config.prices, profiles, registry)
        book = PositionBook(periods)
        books = EngineBooks(repository, tenant, portfolio.id, config.day)
        d1_plan = trader.plan_day_ahead()
        submitted, pools = trader.submit_plan(desk, d1_plan)
        d1["now"] = start  # every D-1 gate (auctions, capacity) has closed at midnight
        _book_clearings(desk.clear(), registry, pools, book, books)
        plan, notes = builder.optimise_held(book)
        first = builder.issue(plan, "positions cleared (D-1)", _ids(book), start, notes)
        books.schedule(first)
        clock: DispatchClock = (
            VirtualClock(start) if config.speed is None else ScaledClock(start, config.speed)
        )
        engine_clock.source = clock.utc
        report = await _deliver(
            config,
            clock,
            portfolio,
            book,
            builder,
            trader,
            desk,
            registry,
            pools,
            first,
            d1_plan.inputs.available_mw,
            books,
            repository,
        )
    finally:
        use_clock(None)
    delivery, zones_report = report.pop("delivery"), report.pop("zones")
    count = config.isps(len(periods))
    day_ahead = {
        z: np.asarray(config.prices.quarter_hourly("day_ahead", z, horizon))[:count]
        for z in zones_report
    }
    settled = settle(
        periods[:count],
        delivery,
        market_revenue=book.revenue_by_market(),
        costs_by_kind=builder.versions[-1].plan.costs_by_kind,
        day_ahead=day_ahead,
        imbalance_prices=config.imbalance,
        afrr_prices=config.afrr_prices,
    )
    books.settlement(settled, end)
    report.update(
        day=str(config.day),
        portfolio=portfolio.id,
        bids_submitted=len(submitted.bids),
        left_out_not_simulated=left_out,
        books=settled.books(),
        revenue_by_market=settled.revenue_by_market,
        imbalance_cost_eur=settled.imbalance_cost_eur,
        net_eur=settled.net_eur,
        imbalance_by_zone=settled.imbalance_by_zone,
        imbalance_mwh=round(sum(z["imbalance_mwh"] for z in settled.imbalance_by_zone.values()), 6),
        abs_imbalance_mwh=round(
            sum(z["abs_imbalance_mwh"] for z in settled.imbalance_by_zone.values()), 6
        ),
        schedule_versions=[v.summary() for v in builder.versions],
        corrections=[c.summary() for c in trader.corrections],
        isp_rows=settled.rows,
        wall_s=round(time.perf_counter() - started, 1),
        notes=[
            "simulated kinds only (battery, pv, wind, chp); loads, heat pumps and EV fleets "
            "are not simulated and were left out of trading and dispatch",
            "pv/wind availability: the optimiser's clear-sky/constant proxy, used as both "
            "forecast and the simulated weather (perfect forecast)",
            "continuous intraday corrections are judged against the intraday price proxy "
            "(no real intraday prices exist)",
            "costs_by_kind: the planned costs of the last schedule version",
            f"aFRR activation: {config.activation.source}",
            *(
                [
                    "fleet over Modbus TCP: each asset a plant-scale simulator on loopback "
                    "(dispatch.devices.plant_sims) driven through ModbusAdapter; delivered = "
                    "the simulators' physics (device truth)"
                ]
                if config.modbus
                else []
            ),
            *(
                [
                    f"delivered the first {config.hours:g} h of the day only ({count} ISPs): "
                    "revenue and planned costs are the whole day's, the imbalance that of the "
                    "ISPs delivered"
                ]
                if count < len(periods)
                else []
            ),
        ],
        fleet="modbus" if config.modbus else "embedded",
    )
    repository.close()
    if scratch is not None:
        scratch.cleanup()
    return report


async def _deliver(
    config: DayConfig,
    clock: DispatchClock,
    portfolio: Portfolio,
    book: PositionBook,
    builder: ScheduleBuilder,
    trader: VirtualTrader,
    desk: Desk,
    registry: MarketRegistry,
    pools: dict[str, str],
    first: ScheduleVersion,
    available_mw: Mapping[str, list[float]],
    books: EngineBooks,
    repository: Repository,
) -> dict[str, Any]:
    periods = book.periods[: config.isps(len(book.periods))]
    t0 = clock.now()
    origin = clock.utc()
    edges = np.arange(len(periods) + 1) * 900.0 + t0
    duration = float(edges[-1] - t0)
    by_zone = fleet_by_zone(portfolio, first.schedule, available_mw, clock)
    plants = LoopbackPlants(clock.now) if config.modbus else None
    if plants is not None:  # the same physics, behind Modbus servers
        by_zone = {zone: await plants.serve(members) for zone, members in by_zone.items()}
    zones: dict[str, _Zone] = {
        zone: _Zone(
            zone,
            members,
            IspMeter(edges),
            IspMeter(edges),
            {m.adapter.asset_id: IspMeter(edges) for m in members},
            {m.adapter.asset_id: IspMeter(edges) for m in members},
            np.full(len(periods), np.nan),
            IspMeter(edges),
            truth_error_sq=np.zeros(len(periods)),
            truth_ticks=np.zeros(len(periods)),
        )
        for zone, members in sorted(by_zone.items())
    }
    lost: dict[str, datetime] = {}
    suspects: dict[str, datetime] = {}
    """Assets found in a lost state at the last round, and since when."""
    faults: list[dict[str, Any]] = []
    current = {"version": first}
    missed = {"seen": 0, "skipped": 0}
    blocking = isinstance(clock, VirtualClock)
    flags = PoolFlags(repository)
    flags.ensure_loaded()
    flag_log: list[dict[str, Any]] = []
    links = {
        zone: TsoLink(
            clock,
            zone,
            _band_of(book, zone),
            tso_steps(book, zone, config.activation, len(periods)),
        )
        for zone in zones
        if config.tso == "iec104" and config.afrr and holds_band(book, zone, len(periods))
    }
    """Zone -> its station and simulated TSO over IEC 104 (zones holding a band)."""

    def observe(state: _Zone, activation: GatedActivation) -> Any:
        def sample(t: float, target: float) -> None:
            assert state.pool is not None
            # what the TSO asked at this tick (metered as requested even when the pool's
            # flag has it ignored: the settlement then shows it as imbalance) and what the
            # pool was told to follow
            requested, applied = activation.requested_mw, activation.applied_mw
            q = int(np.searchsorted(edges, t, side="right")) - 1
            state.afrr_up.sample(t, max(requested, 0.0))
            state.afrr_down.sample(t, max(-requested, 0.0))
            state.applied.sample(t, applied)
            truth = meter_tick(state.pool, state.members, state.measured, state.truth, t)
            if 0 <= q < len(state.planned_mw):
                state.planned_mw[q] = target - applied
                state.truth_error_sq[q] += (truth - target) ** 2
                state.truth_ticks[q] += 1

        return sample

    async def dispatch_zone(state: _Zone, k: int) -> dict[str, Any]:
        link = links.get(state.zone)
        source = (
            link
            if link is not None
            else PatternActivation(book, state.zone, clock, config.activation, on=config.afrr)
        )
        activation = GatedActivation(source, flags, config.tenant, state.zone)

        def ready(pool: PoolController) -> None:
            state.pool = pool
            if link is not None:
                link.attach(pool)
            pool.observers.append(observe(state, activation))

        options = SimulationOptions(
            assets=len(state.members),
            duration_s=duration,
            seed=config.seed + k,
            start=origin,
            pool=f"{portfolio.id}-{state.zone}",
            site_size=0,
            tick_s=config.tick_s,
        )
        zone_of = {m.adapter.asset_id: state.zone for m in state.members}
        return await run_fleet(
            options,
            state.members,
            clock,
            activation=activation,
            schedule=first.schedule,
            zones=zone_of,
            on_pool=ready,
        )

    def switch(version: ScheduleVersion) -> None:
        books.schedule(version)
        current["version"] = version
        for state in zones.values():
            if state.pool is not None:
                # the pool reads the new plan at its next quarter-hour boundary
                state.pool.schedule = version.schedule

    async def compute(function: Any, *args: Any, **kwargs: Any) -> Any:
        if blocking:  # virtual time must not run on while the optimiser thinks
            return function(*args, **kwargs)
        return await asyncio.to_thread(function, *args, **kwargs)

    async def inject_faults() -> None:
        rng = random.Random(config.seed)
        everyone = [m for state in zones.values() for m in state.members]
        chosen: set[str] = set()
        for spec in sorted(config.faults, key=lambda s: s.at_s):
            if spec.at_s >= duration:  # after the ISPs delivered (a short run)
                break
            await clock.sleep_until(t0 + spec.at_s)
            candidates = [
                m
                for m in everyone
                if m.adapter.asset_id not in chosen
                and (spec.asset_kind is None or m.kind == spec.asset_kind)
            ]
            hit = rng.sample(candidates, min(len(candidates), spec.count(len(everyone))))
            for member in hit:
                chosen.add(member.adapter.asset_id)
                member.device.inject(Fault(spec.kind))
                faults.append(
                    {
                        "kind": spec.kind,
                        "asset": member.adapter.asset_id,
                        "at": _z(clock.utc()),
                        "kind_of_asset": member.kind,
                    }
                )

    async def switch_flags() -> None:
        for change in config.flag_changes:
            if change.at_s >= duration:  # after the ISPs delivered (a short run)
                break
            await clock.sleep_until(t0 + change.at_s)
            record = flags.set(
                Actor.system(config.tenant),
                change.pool,
                change.flag,
                change.value,
                f"vpp simulate --flag {change.text}",
            )
            flag_log.append(
                {
                    "pool": record.pool,
                    "flag": str(record.flag),
                    "value": record.value,
                    "at": _z(clock.utc()),
                }
            )

    async def engine() -> None:
        t = t0
        while t + config.engine_period_s < t0 + duration:
            t += config.engine_period_s
            await clock.sleep_until(t)
            now = clock.utc()
            # this round woke late: the machine stalled, and the pools' missed ticks may not
            # be counted yet
            late = clock.now() - t > 2 * config.tick_s
            cleared = desk.clear()
            _book_clearings(cleared, registry, pools, book, books)
            missed_now = sum(st.pool.kpi.missed for st in zones.values() if st.pool is not None)
            behind = late or missed_now > missed["seen"]
            missed["seen"] = missed_now
            if behind:  # the dispatcher fell behind its clock: a late read says nothing of
                missed["skipped"] += 1  # the device, so no asset is judged lost this round
            else:
                # lost: in a lost state at two rounds in a row (a stalled machine's late
                # reads make every asset look lost for a moment; a tripped one stays lost)
                now_lost = {
                    actor.asset_id
                    for state in zones.values()
                    if state.pool is not None
                    for actor in state.pool.actors
                    if actor.state.state.value in LOST_STATES
                }
                for asset in sorted(now_lost - set(lost)):
                    if asset in suspects:
                        lost[asset] = suspects[asset]
                    else:
                        suspects[asset] = now
                for asset in set(suspects) - now_lost:
                    del suspects[asset]
            if trader.needs_correction(lost):
                history_at = now
                correction = await compute(
                    trader.correct, builder, book, history_at, dict(lost), desk, now
                )
                version = builder.issue(
                    correction.plan,
                    f"re-plan after losing {', '.join(sorted(correction.lost))}; "
                    f"{len(correction.orders)} intraday correction orders",
                    _ids(book) + list(correction.submitted.bid_ids if correction.submitted else ()),
                    clock.utc(),
                    correction.notes,
                )
                switch(version)
            elif any(not c.accepted for c in cleared):
                # an order the schedule counted on was not filled: re-allocate the book
                plan, notes = await compute(
                    builder.optimise_held,
                    book,
                    history=current["version"].schedule,
                    keep_until=now,
                    lost=dict(lost),
                )
                switch(builder.issue(plan, "positions changed", _ids(book), clock.utc(), notes))

    for state in zones.values():  # the truth from the first instant (no reading yet)
        for member in state.members:
            state.truth[member.adapter.asset_id].sample(t0, member.device.physical_power_mw())
    tasks = [dispatch_zone(state, k) for k, state in enumerate(zones.values())]
    tso_runs = [link.run_tso(t0) for link in links.values()]
    try:
        for link in links.values():
            link.start()
        results = await asyncio.gather(*tasks, engine(), inject_faults(), switch_flags(), *tso_runs)
        kpis = dict(zip(zones, results[: len(zones)], strict=True))
        await clock.sleep_until(t0 + duration)
        end_t = clock.now()  # a scaled clock's last tick may come a little after the day's end
        for state in zones.values():  # and to the last instant of the day
            for member in state.members:
                truth = member.device.physical_power_mw()
                state.truth[member.adapter.asset_id].sample(end_t, truth)
    finally:
        for link in links.values():
            link.stop()
        if plants is not None:
            await plants.stop()
    zone_of = {a: state.zone for state in zones.values() for a in state.truth}
    measured_all = {a: m for state in zones.values() for a, m in state.measured.items()}
    truth_all = {a: m for state in zones.values() for a, m in state.truth.items()}
    books.metering([p.to_pydatetime() for p in periods], zone_of, measured_all, truth_all)
    delivery = []
    zone_report: dict[str, dict[str, Any]] = {}
    for zone, state in zones.items():
        position = book.net_mwh(zone)[: len(periods)]
        delivered = sum(m.energy_mwh for m in state.truth.values())
        measured = sum(m.energy_mwh for m in state.measured.values())
        # the plan the pool dispatched, per ISP (an ISP it never ticked in: the first version)
        planned = np.where(
            np.isnan(state.planned_mw),
            first.zone_mw(list(state.truth))[: len(periods)],
            state.planned_mw,
        )
        scheduled = planned * 0.25
        up, down = state.afrr_up.energy_mwh, state.afrr_down.energy_mwh
        delivery.append(ZoneDelivery(zone, position, scheduled, delivered, measured, up, down))
        target = scheduled + up - down
        deviation = float(np.abs(delivered - target).sum())
        # ISPs every asset's measured meter saw whole (a run on a scaled clock loses the
        # first seconds to first contact): metered against delivered over those only
        read_whole = np.zeros(len(periods), dtype=bool)
        if state.measured:
            read_whole = np.logical_and.reduce([m.complete() for m in state.measured.values()])
        zone_report[zone] = {
            "isps_metered": int(
                min(m.complete().sum() for m in state.truth.values()) if state.truth else 0
            ),
            "scheduled_mwh": round(float(scheduled.sum()), 6),
            "delivered_mwh": round(float(delivered.sum()), 6),
            "metered_mwh": round(float(measured.sum()), 6),
            "isps_measured_whole": int(read_whole.sum()),
            "metered_whole_isps_mwh": round(float(measured[read_whole].sum()), 6),
            "delivered_whole_isps_mwh": round(float(delivered[read_whole].sum()), 6),
            "position_mwh": round(float(position.sum()), 6),
            "afrr_requested_mwh": round(float((up - down).sum()), 6),
            "afrr_followed_mwh": round(float(state.applied.energy_mwh.sum()), 6),
            "afrr_followed_by_isp_mwh": [round(float(e), 6) for e in state.applied.energy_mwh],
            "truth_rms_mw_by_isp": [  # None: no tick, or devices whose truth is unknown
                round(math.sqrt(sq / n), 4) if n and math.isfinite(sq) else None
                for sq, n in zip(state.truth_error_sq, state.truth_ticks, strict=True)
            ],
            "abs_scheduled_mwh": round(float(np.abs(target).sum()), 6),
            "abs_deviation_mwh": round(deviation, 6),
            "deviation_pct": round(100.0 * deviation / max(float(np.abs(target).sum()), 1e-9), 4),
            "ticks": kpis[zone]["ticks"],
            "states": kpis[zone].get("states"),
            "unfaulted_failures": kpis[zone].get("unfaulted_failures"),
        }
    return {
        "delivery": delivery,
        "zones": zone_report,
        "isps": len(periods),
        "per_zone": zone_report,
        "scheduled_mwh": round(sum(z["scheduled_mwh"] for z in zone_report.values()), 6),
        "delivered_mwh": round(sum(z["delivered_mwh"] for z in zone_report.values()), 6),
        "metered_mwh": round(sum(z["metered_mwh"] for z in zone_report.values()), 6),
        "position_mwh": round(sum(z["position_mwh"] for z in zone_report.values()), 6),
        "afrr": {
            "requested_mwh": round(float(sum(d.afrr_requested_mwh.sum() for d in delivery)), 6),
            "requested_up_mwh": round(float(sum(d.afrr_up_mwh.sum() for d in delivery)), 6),
            "requested_down_mwh": round(float(sum(d.afrr_down_mwh.sum() for d in delivery)), 6),
            "delivered_mwh": round(
                float(sum((d.delivered_mwh - d.scheduled_mwh).sum() for d in delivery)), 6
            ),
        },
        "faults": faults,
        "flag_changes": flag_log,
        "tso": {
            "link": config.tso,
            "zones": {zone: link.summary() for zone, link in links.items()},
        },
        "lost_assets": {a: _z(at) for a, at in lost.items()},
        "loss_checks_skipped_behind": missed["skipped"],
    }


def _check_links(config: DayConfig, portfolio: Portfolio) -> None:
    """`EngineInputError` for a TSO link or a flag change the run cannot do, before any
    work: naming the option, the value and the rule."""
    if config.tso not in TSO_LINKS:
        raise EngineInputError(f"--tso={config.tso!r}: must be one of {', '.join(TSO_LINKS)}")
    if config.tso == "iec104":
        if config.speed is None:
            raise EngineInputError(
                "--tso=iec104: needs --speed: the TSO's link is a real socket, so the day runs "
                "on a scaled clock (e.g. --speed 30), not the virtual one"
            )
        why = missing_extra()
        if why is not None:
            raise EngineInputError(f"--tso=iec104: {why}")
    pools = sorted({site.bidding_zone for site in portfolio.sites})
    for change in config.flag_changes:
        if change.pool not in pools:
            raise EngineInputError(
                f"--flag={change.text!r}: pool {change.pool!r} is not one of the portfolio's "
                f"pools (bidding zones): {', '.join(pools)}"
            )
        try:
            check_value(change.flag, change.value)
        except InvalidInputError as exc:
            raise EngineInputError(f"--flag={change.text!r}: {exc}") from None


def _band_of(book: PositionBook, zone: str) -> Any:
    """The band `zone` holds at an instant [MW], (up, down), from the position book (the
    engine's schedule versions carry no `capacity_sold_mw`)."""

    def band(at: datetime) -> tuple[float, float]:
        return book.band_mw(zone, "pos", at), book.band_mw(zone, "neg", at)

    return band


def _book_clearings(
    clearings: list[Clearing],
    registry: MarketRegistry,
    pools: Mapping[str, str],
    book: PositionBook,
    books: EngineBooks,
) -> None:
    """Enter each clearing's accepted products in the position book and the store."""
    for clearing in clearings:
        added = entries_of(clearing, registry, pool_of=pools)
        book.add(added)
        books.positions(added)


def _ids(book: PositionBook) -> list[str]:
    return sorted({e.bid_id for e in book.entries})


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _missing_tenant(repository: Repository, tenant: str) -> bool:
    return repository.get_tenant(tenant) is None


def _document(portfolio: Portfolio, tenant: str) -> dict[str, Any]:
    document = portfolio.model_dump(mode="json", exclude_none=True)
    document["tenant"] = tenant
    return document


def real_imbalance(shared: Path | None) -> ImbalancePrices:
    """The NL imbalance prices of the shared data where present, else the proxy only."""
    if shared is not None:
        path = shared / "imbalance_prices_nl_2023_15min.csv"
        if path.is_file():
            return ImbalancePrices(real={"NL": read_imbalance_prices(path, "NL")})
    return ImbalancePrices()
