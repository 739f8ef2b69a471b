"""One tenant's delivery day inside `vpp serve`: positions to schedule to dispatch to meters.

`LiveDay` runs from the instant the server reaches it (the day's local midnight, or the
server's start) to the end of the day, on the server's clock:

1. the position book starts from what the store holds for the day (positions booked
   earlier, e.g. by a server that was restarted) and takes each new clearing the server's
   `ClearingLoop` records (`receive`);
2. schedule version 1 holds the book's positions; a new version is issued whenever the
   book changes (or an asset is lost), holding every quarter hour up to the next
   quarter-hour boundary at the schedule in force (the pools read their plan once per
   quarter hour, so the new version takes over at that boundary);
3. one dispatcher pool per bidding zone drives the embedded simulated fleet (built from
   the tenant's stored portfolio, `trading.engine.fleet`), or, for the portfolio a fleet
   file names (`vpp serve --fleet`, `LiveConfig.fleet`), its Modbus devices through
   `ModbusAdapter` (`dispatch.modbus_fleet.on_devices`), following the version in force
   plus the aFRR activation within the band sold (`trading.engine.activation`: the real
   pattern on the loopback, or the TSO's setpoints over IEC 104, `LiveConfig.tso`);
4. every tick meters each asset (measured and, simulated, device truth) per ISP; as each
   ISP passes its metering is stored and the ISPs passed since the day's run began are
   settled (`settle_window`): imbalance = delivered - position - aFRR requested, delivered
   = device truth of a simulated fleet, the measured energy of real devices (whose truth
   nobody knows: stored as none).

A day that follows another (`carried`: the previous day's final state of charge per
battery, `final_soc`) plans from that state instead of the portfolio's, and its
simulated batteries start there (a battery does not jump back to a plan's start at
midnight). If the positions cannot be met from it, the day plans from the portfolio's
state of charge instead, logs ``engine_carried_soc_infeasible`` and says so in its status
(`initial_soc`) and notes; the batteries still start where they physically are.

Units MW, MWh, EUR; + = injection or sale; times UTC inside.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import structlog
from sqlalchemy import func, select

from dispatch.activation import ActivationSource
from dispatch.allocation import ChosenAllocation
from dispatch.clock import DispatchClock, VirtualClock
from dispatch.merit import move_costs
from dispatch.modbus_fleet import on_devices
from dispatch.pool import PoolController
from dispatch.simulation import FleetMember, SimulationOptions, run_fleet
from regulatory import Portfolio
from trading.engine.activation import PatternActivation, schedule_band
from trading.engine.books import EngineBooks
from trading.engine.flags import GatedActivation, PoolFlags, flagged_allocation
from trading.engine.fleet import fleet_by_zone, simulated_part
from trading.engine.live_books import (
    MARKET_TIMEZONE,
    LiveConfig,
    as_utc,
    settle_window,
    stored_entries,
)
from trading.engine.loop import LOST_STATES
from trading.engine.metering import IspMeter, meter_tick
from trading.engine.positions import BookEntry, PositionBook
from trading.engine.schedules import ScheduleBuilder, ScheduleVersion
from trading.engine.settlement import Settlement, ZoneDelivery
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import Horizon
from trading.optimiser.profiles import proxy_profiles
from trading.store import Repository, session_factory
from trading.store.models import ScheduleVersionRow

QUARTER_S = 900.0

_LOG = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CarriedSoc:
    """The state of charge a day ends with, carried into the next [MWh per battery]."""

    day: date
    """The day that ended with it."""
    soc_mwh: Mapping[str, float]
    source: str
    """``device truth`` (simulated fleet) or ``measured`` (real devices' last reading)."""


@dataclass
class _Zone:
    zone: str
    members: list[FleetMember]
    measured: dict[str, IspMeter]
    truth: dict[str, IspMeter]
    afrr_up: IspMeter
    afrr_down: IspMeter
    planned_mw: np.ndarray
    """The pool's target less the activation per ISP [MW] (the version it followed)."""
    last_t: float = float("-inf")
    """The latest tick sampled [clock s]."""
    pool: PoolController | None = None


def dispatcher_states(pool: Any) -> list[tuple[str, str]]:
    """(asset, its dispatcher state's name) for every asset `pool` dispatches: its asset
    actors' states in process; for a pool on a cluster (`ClusterPool`, no asset actors in
    the server) the states its partitions posted on the merged board, once a partition's
    current run has ticked a few times (`ClusterPool.asset_states`: an asset no partition
    has posted yet is absent, it cannot be judged lost before a partition has tried it)."""
    judged = getattr(pool, "asset_states", None)  # `ClusterPool`: its partitions' word
    if judged is not None:
        return list(judged())
    return [(actor.asset_id, actor.state.state.value) for actor in pool.actors]


def _seconds_at(clock: DispatchClock, at: datetime) -> float:
    exact = getattr(clock, "seconds_at", None)
    if exact is not None:
        return float(exact(at))
    return clock.now() + (at - clock.utc()).total_seconds()


class LiveDay:
    """One tenant's portfolio through one delivery day (see the module docstring)."""

    def __init__(
        self,
        repository: Repository,
        tenant: str,
        portfolio: Portfolio,
        day: date,
        config: LiveConfig,
        clock: DispatchClock,
        *,
        flags: PoolFlags | None = None,
        carried: CarriedSoc | None = None,
    ) -> None:
        self.repository, self.tenant, self.day, self.config, self.clock = (
            repository,
            tenant,
            day,
            config,
            clock,
        )
        self.portfolio, self.left_out = simulated_part(portfolio.in_service(day))
        horizon = Horizon.of(day, MARKET_TIMEZONE)
        self.horizon = horizon
        self.periods = horizon.periods
        self.book = PositionBook(self.periods)
        self.book.add(stored_entries(repository, tenant, portfolio.id, day))
        self._bids = {e.bid_id for e in self.book.entries}
        """The bids in the book or handed in for it: one handed in again is not booked twice."""
        self.books = EngineBooks(repository, tenant, portfolio.id, day)
        self.builder = ScheduleBuilder(
            self.portfolio,
            day,
            config.prices,
            proxy_profiles(self.portfolio, horizon),
            config.registry,
        )
        batteries = {a.id for a in self.portfolio.assets if a.kind == "battery"}
        self.carried = (
            None
            if carried is None
            else dataclasses.replace(
                carried, soc_mwh={a: v for a, v in carried.soc_mwh.items() if a in batteries}
            )
        )
        """The previous day's final state of charge this day starts from (None: the
        portfolio's, e.g. the server's first day)."""
        self.initial_soc: dict[str, Any] = {"source": "portfolio", "soc_mwh": {}}
        """Where the day's plans start from (`status`'s ``initial_soc``)."""
        if self.carried is not None and self.carried.soc_mwh:
            self.builder.initial_soc_mwh = dict(self.carried.soc_mwh)
        self.weather: dict[str, np.ndarray] = {
            a: np.asarray(series, dtype=float)
            for a, series in self.builder.profiles.available_mw.items()
        }
        """PV/wind asset -> available power per quarter hour [MW]: the forecast the plans
        use, and the embedded fleet's weather (replaced by `update_forecast`)."""
        self.forecast_changes: list[dict[str, Any]] = []
        """Each forecast update of the day: when, which assets, how much energy it moved."""
        self._forecast_pending: str | None = None
        """Why the next round re-plans for a forecast update (None: no update pending)."""
        self.inbox: list[BookEntry] = []
        self.current: ScheduleVersion | None = None
        self.zones: dict[str, _Zone] = {}
        self.lost: dict[str, datetime] = {}
        self.first_isp: int | None = None
        """The first ISP the run saw whole (the settled window starts there)."""
        self.metered_through: int = -1
        """The last ISP metered (index in the day), -1 before the first."""
        self.settled: Settlement | None = None
        self.notes: list[str] = []
        self._versions_before = self._stored_versions()
        self._missed_seen = 0
        self._first_row = 0
        self._kept_rows: list[dict[str, Any]] = []
        """Metering rows of ISPs before this run (a restart), stored again with the new."""
        self._prior: dict[tuple[str, int], tuple[float, float, float, float, float]] = {}
        """(zone, ISP) settled before this run -> delivered, metered, scheduled, aFRR up
        and down [MWh]."""
        self._blocking = isinstance(clock, VirtualClock)
        self.flags = flags if flags is not None else PoolFlags(repository)
        """The pool flags the pools obey each tick (read in memory: `PoolFlags`)."""
        self.flags.ensure_loaded()
        self.activations: dict[str, GatedActivation] = {}
        """Zone -> its pool's aFRR activation behind the zone's ``afrr_activation`` flag."""
        self.allocations: dict[str, ChosenAllocation] = {}
        """Zone -> its pool's allocation behind the zone's ``allocation_strategy`` flag."""
        fleet = config.fleet
        self.fleet = fleet if fleet is not None and fleet.portfolio == portfolio.id else None
        """The Modbus devices this day dispatches (None: the embedded simulated fleet)."""
        self.truth_known = self.fleet is None
        """Whether delivered energy is device truth (simulated) or only measured (real)."""

    # --- what the service hands in and reads --------------------------------------------

    def receive(self, entries: Sequence[BookEntry]) -> None:
        """New position-book entries of this day (already stored): booked at the next round
        (those of a bid already in the book, or handed in before, are left out)."""
        fresh = [e for e in entries if e.bid_id not in self._bids]
        self._bids |= {e.bid_id for e in fresh}
        self.inbox.extend(fresh)

    def status(self) -> dict[str, Any]:
        """The day's state for `/v1/engine` and the metrics."""
        version = self.current
        last = self.metered_through
        return {
            "day": str(self.day),
            "portfolio": self.portfolio.id,
            "zones": sorted(self.zones),
            "assets": sorted(a for z in self.zones.values() for a in z.truth),
            "left_out_not_simulated": self.left_out,
            "schedule": None if version is None else version.summary(),
            "last_isp_metered": None
            if self.first_isp is None or last < self.first_isp
            else _z(self.periods[last].to_pydatetime()),
            "isps_metered": 0 if self.first_isp is None else max(0, last - self.first_isp + 1),
            "positions": len(self.book.entries),
            "ticks_missed": sum(z.pool.kpi.missed for z in self.zones.values() if z.pool),
            "lost_assets": {a: _z(at) for a, at in dict(self.lost).items()},  # copied: atomic
            "fleet": "embedded" if self.fleet is None else "modbus",
            "dispatcher": self._dispatcher(),
            "delivered_from": "device truth" if self.truth_known else "measured (no truth)",
            "books": None if self.settled is None else self.settled.books(),
            "initial_soc": dict(self.initial_soc),
            "forecast_changes": list(self.forecast_changes),
            "notes": list(self.notes),
        }

    def _dispatcher(self) -> dict[str, Any]:
        """Where the pools run: in process, or per zone its partitions on the cluster
        (`dispatch.cluster.serve_zone.ClusterPool.status`)."""
        if self.config.cluster is None:
            return {"mode": "in-process"}
        zones = dict(self.zones)  # copied: the API's thread reads while the day runs
        return {
            "mode": "cluster",
            "zones": {
                zone: state.pool.status()  # type: ignore[attr-defined]
                for zone, state in sorted(zones.items())
                if state.pool is not None
            },
        }

    def update_forecast(
        self, available_mw: Mapping[str, Sequence[float]], reason: str
    ) -> dict[str, Any]:
        """Replace the forecast of available power of PV plants and wind farms [MW per
        quarter hour of the day, one value per quarter hour]: the plans use it from the
        next round on (a new schedule version, positions held), and the embedded fleet's
        weather follows it at once (perfect forecast). What changed: per asset and in all,
        the energy moved over the quarter hours still ahead [MWh, |new - old|].
        `ValueError` naming the asset, the field, the value and the rule."""
        kinds = {a.id: a for a in self.portfolio.assets if a.kind in ("pv", "wind")}
        n = len(self.periods)
        checked: dict[str, np.ndarray] = {}
        for asset_id, values in sorted(available_mw.items()):
            where = f"available_mw.{asset_id}"
            if asset_id not in kinds:
                raise ValueError(
                    f"{where}: {asset_id!r} is not a PV plant or wind farm of portfolio "
                    f"{self.portfolio.id} on {self.day} (those: {', '.join(sorted(kinds))})"
                )
            array = np.asarray(list(values), dtype=float)
            if array.shape != (n,):
                raise ValueError(
                    f"{where}: {array.size} values: must be one per quarter hour of "
                    f"{self.day} ({n})"
                )
            rated = float(kinds[asset_id].rated_power_mw)  # type: ignore[attr-defined]
            bad = ~np.isfinite(array) | (array < 0) | (array > rated + 1e-9)
            if bad.any():
                k = int(np.argmax(bad))
                raise ValueError(
                    f"{where}[{k}]={float(array[k])!r}: must be a finite MW in 0..{rated:g} "
                    "(the asset's rated power)"
                )
            checked[asset_id] = array
        ahead = max(0, self._quarter_now() + 1)
        moved = {
            a: round(float(np.abs(v[ahead:] - self.weather[a][ahead:]).sum() * 0.25), 6)
            for a, v in checked.items()
        }
        for asset_id, array in checked.items():  # one assignment each: read lock-free
            self.builder.profiles.available_mw[asset_id] = pd.Series(array, index=self.periods)
            self.weather[asset_id] = array
        change = {
            "at": _z(self.clock.utc()),
            "reason": reason,
            "assets": sorted(checked),
            "moved_mwh": moved,
            "total_moved_mwh": round(sum(moved.values()), 6),
            "from_isp": _z(self.periods[min(ahead, n - 1)].to_pydatetime()),
        }
        self.forecast_changes.append(change)
        self._forecast_pending = f"forecast changed ({reason}): {', '.join(sorted(checked))}"
        _LOG.info("engine_forecast_changed", tenant=self.tenant, day=str(self.day), **change)
        return change

    def final_soc(self) -> CarriedSoc:
        """Each battery's state of charge now [MWh]: device truth of a simulated fleet, the
        last reading of real devices (a battery without one is left out)."""
        found: dict[str, float] = {}
        for state in self.zones.values():
            snapshot = None if state.pool is None else state.pool.board.snapshot()
            for member in state.members:
                if member.kind != "battery" or not member.energy_mwh:
                    continue
                asset = member.adapter.asset_id
                soc = None
                if self.truth_known:
                    physics = getattr(member.device, "physics", None)
                    soc = getattr(physics, "soc", None)
                elif snapshot is not None:
                    entry = snapshot.get(asset)
                    telemetry = None if entry is None else entry.telemetry
                    soc = None if telemetry is None else telemetry.soc
                if soc is not None:
                    found[asset] = float(soc) * member.energy_mwh
        source = "device truth" if self.truth_known else "measured"
        return CarriedSoc(self.day, found, source)

    # --- the run ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, until: datetime | None = None) -> None:
        """Dispatch, meter and settle from now to the day's end (or `until`, or `stop`)."""
        end_utc = self.periods[-1].to_pydatetime() + timedelta(seconds=QUARTER_S)
        if until is not None:
            end_utc = min(end_utc, until)
        reason = "engine started: the positions booked so far"
        try:
            plan, notes = await self._plan_start()
        except InfeasibleError as exc:  # positions beyond the fleet: dispatch none of them
            plan, notes = await self._compute(
                self.builder.optimise_held, PositionBook(self.periods)
            )
            reason = "engine started: the positions booked cannot be met, none held"
            notes = [
                *notes,
                f"the fleet cannot meet the positions booked ({exc.status}): "
                "they are all imbalance until a re-plan can meet them",
            ]
            self.notes.append(notes[-1])
            serving: list[str] | None = []
        else:
            serving = None
        self.current = self._issue(plan, reason, notes, serving)
        t0 = self.clock.now()
        edges = np.array([_seconds_at(self.clock, p.to_pydatetime()) for p in self.periods])
        edges = np.append(edges, edges[-1] + QUARTER_S)
        passed = int(np.searchsorted(edges, t0, side="left"))  # first ISP seen whole
        self.first_isp = min(passed, len(self.periods))
        self.metered_through = self.first_isp - 1
        # the ISP the run began in is metered too, marked incomplete
        self._first_row = self.first_isp - 1 if passed > 0 and edges[passed] > t0 else passed
        self._restore()
        duration = max(0.0, _seconds_at(self.clock, end_utc) - t0)
        by_zone = fleet_by_zone(self.portfolio, self.current.schedule, self.weather, self.clock)
        if self.fleet is not None:  # the devices of the fleet file, through the Modbus client
            self.fleet.check_covers(m.adapter.asset_id for ms in by_zone.values() for m in ms)
            by_zone = {zone: on_devices(ms, self.fleet) for zone, ms in by_zone.items()}
        self._start_states(by_zone, plan)
        n = len(self.periods)
        self.zones = {
            zone: _Zone(
                zone,
                members,
                {m.adapter.asset_id: IspMeter(edges) for m in members},
                {m.adapter.asset_id: IspMeter(edges) for m in members},
                IspMeter(edges),
                IspMeter(edges),
                np.full(n, np.nan),
            )
            for zone, members in sorted(by_zone.items())
        }
        for state in self.zones.values():  # the truth from the first instant
            for member in state.members:
                state.truth[member.adapter.asset_id].sample(t0, member.device.physical_power_mw())
        fleets = [
            asyncio.ensure_future(self._dispatch(state, k, duration))
            for k, state in enumerate(self.zones.values())
        ]
        rounds = asyncio.ensure_future(self._rounds(t0 + duration, stop))
        stopper = asyncio.ensure_future(stop.wait())
        pending: set[asyncio.Future[Any]] = {*fleets, rounds}
        try:
            while pending and not stop.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopper)
                for task in done:
                    if task is not stopper and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            for task in [*fleets, rounds, stopper]:
                task.cancel()
            await asyncio.gather(*fleets, rounds, stopper, return_exceptions=True)
            if self.fleet is not None:  # the next day connects afresh
                for state in self.zones.values():
                    for member in state.members:
                        await member.adapter.close()
        final = not stop.is_set()
        if final:  # the truth to the last instant of the run
            t_end = self.clock.now()
            for state in self.zones.values():
                for member in state.members:
                    power = member.device.physical_power_mw()
                    state.truth[member.adapter.asset_id].sample(t_end, power)
                state.last_t = max(state.last_t, t_end)
        await self._round(final=final, closing=True)

    async def _plan_start(self) -> tuple[Any, list[str]]:
        """Version 1's plan: from the carried state of charge if there is one; if the
        positions cannot be met from there, from the portfolio's (logged, in the status
        and notes). `InfeasibleError` if neither can meet them."""
        carried = self.carried
        if carried is None or not carried.soc_mwh:
            self.initial_soc = {"source": "portfolio", "soc_mwh": {}}
            return await self._compute(self.builder.optimise_held, self.book)
        rounded = {a: round(v, 6) for a, v in sorted(carried.soc_mwh.items())}
        try:
            result = await self._compute(self.builder.optimise_held, self.book)
        except InfeasibleError as exc:
            note = (
                f"the positions cannot be met from the state of charge {carried.day} ended "
                f"with ({carried.source}: {rounded} MWh; {exc.status}): planned from the "
                "portfolio's state of charge instead; the batteries start where they are, "
                "so the plan's energy is off by the difference"
            )
            _LOG.warning(
                "engine_carried_soc_infeasible",
                tenant=self.tenant,
                day=str(self.day),
                carried_mwh=rounded,
                error=str(exc),
            )
            self.notes.append(note)
            self.builder.initial_soc_mwh = {}
            self.initial_soc = {
                "source": "portfolio (fallback)",
                "carried_from": str(carried.day),
                "carried_source": carried.source,
                "carried_mwh": rounded,
                "soc_mwh": {},
                "reason": note,
            }
            return await self._compute(self.builder.optimise_held, self.book)
        self.initial_soc = {
            "source": f"carried from {carried.day} ({carried.source})",
            "carried_from": str(carried.day),
            "carried_source": carried.source,
            "carried_mwh": rounded,
            "soc_mwh": rounded,
        }
        return result

    async def _compute(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        if self._blocking:  # virtual time must not run on while the optimiser thinks
            return function(*args, **kwargs)
        return await asyncio.to_thread(function, *args, **kwargs)

    def _start_states(self, by_zone: Mapping[str, list[FleetMember]], plan: Any) -> None:
        """Each simulated battery starts where the previous day left it (`carried`), or,
        without that (the server's first day, a restart during the day), at the plan's
        state of charge of the quarter hour in force."""
        q = max(0, min(len(self.periods) - 1, self._quarter_now()))
        carried = {} if self.carried is None else self.carried.soc_mwh
        for members in by_zone.values():
            for member in members:
                asset = member.adapter.asset_id
                soc = plan.states.get(asset, {}).get("soc_mwh")
                physics = getattr(member.device, "physics", None)
                if not member.energy_mwh or not hasattr(physics, "soc"):
                    continue
                if asset in carried:
                    physics.soc = float(carried[asset]) / member.energy_mwh
                elif soc is not None:
                    physics.soc = float(soc[q]) / member.energy_mwh

    def _quarter_now(self) -> int:
        return int(self.periods.searchsorted(pd.Timestamp(self.clock.utc()), side="right")) - 1

    async def _dispatch(self, state: _Zone, k: int, duration: float) -> dict[str, Any]:
        assert self.current is not None

        def in_force() -> Any:  # the schedule the pool follows (the current one before)
            assert self.current is not None
            return self.current.schedule if state.pool is None else state.pool.schedule

        tso = self.config.tso
        source: ActivationSource = (
            PatternActivation(
                self.book,
                state.zone,
                self.clock,
                self.config.activation,
                band=schedule_band(in_force, state.zone),
            )
            if tso is None  # the loopback: the real pattern on the band sold
            else tso.source(self.tenant, state.zone, self.clock)  # the TSO's setpoints
        )
        activation = GatedActivation(
            source,
            self.flags,
            self.tenant,
            state.zone,
        )
        self.activations[state.zone] = activation
        edges = state.afrr_up.edges

        def sample(t: float, target: float) -> None:
            assert state.pool is not None
            requested = activation.requested_mw  # what the TSO asked at this tick
            q = int(np.searchsorted(edges, t, side="right")) - 1
            if 0 <= q < len(state.planned_mw):  # the pool's target less what it followed
                state.planned_mw[q] = target - activation.applied_mw
            state.afrr_up.sample(t, max(requested, 0.0))
            state.afrr_down.sample(t, max(-requested, 0.0))
            meter_tick(state.pool, state.members, state.measured, state.truth, t)
            state.last_t = t

        allocation = flagged_allocation(
            self.flags, self.tenant, state.zone, move_costs(self.portfolio)
        )
        self.allocations[state.zone] = allocation

        def ready(pool: PoolController) -> None:
            pool.allocator = allocation
            state.pool = pool
            pool.observers.append(sample)
            if tso is not None:  # the station reads this pool and reports after its ticks
                tso.attach(self.tenant, state.zone, pool)

        options = SimulationOptions(
            assets=len(state.members),
            duration_s=duration,
            seed=self.config.seed + k,
            start=self.clock.utc(),
            pool=f"{self.tenant}-{self.portfolio.id}-{state.zone}",
            site_size=0,
            tick_s=self.config.tick_s,
        )
        cluster = self.config.cluster  # `vpp serve --cluster`: partitions on a Ray cluster
        dispatch = run_fleet if cluster is None else cluster.run_zone
        return await dispatch(
            options,
            state.members,
            self.clock,
            activation=activation,
            schedule=self.current.schedule,
            zones={m.adapter.asset_id: state.zone for m in state.members},
            on_pool=ready,
        )

    async def _rounds(self, end_t: float, stop: asyncio.Event) -> None:
        t = self.clock.now()
        while not stop.is_set():
            t = min(end_t, max(t + self.config.period_s, self.clock.now()))
            await self.clock.sleep_until(t)
            await self._round(final=False)
            if t >= end_t:
                return

    async def _round(self, *, final: bool, closing: bool = False) -> None:
        """Book what cleared, re-plan on a change, meter and settle what passed."""
        now = self.clock.utc()
        new, self.inbox = self.inbox, []
        if new:
            self.book.add(new)
        fresh_losses = [] if final else self._losses(now)
        forecast, self._forecast_pending = self._forecast_pending, None
        if (new or fresh_losses or forecast) and not final:
            reason = (
                f"positions changed: {len(new)} new position(s) from "
                f"{len({e.bid_id for e in new})} cleared bid(s)"
                if new
                else f"asset(s) lost: {', '.join(sorted(fresh_losses))}"
                if fresh_losses
                else str(forecast)
            )
            await self._replan(reason, now)
        self._meter(final=final, closing=closing)

    def _losses(self, now: datetime) -> list[str]:
        """Assets newly found unavailable or quarantined by the dispatcher; none while the
        dispatcher is behind its clock (a late read says nothing of the device)."""
        pools = [s.pool for s in self.zones.values() if s.pool is not None]
        missed = sum(p.kpi.missed for p in pools)
        behind, self._missed_seen = missed > self._missed_seen, missed
        if behind:
            return []
        found = []
        for pool in pools:
            for asset, state in dispatcher_states(pool):
                if state in LOST_STATES and asset not in self.lost:
                    self.lost[asset] = now
                    found.append(asset)
        return found

    async def _replan(self, reason: str, now: datetime) -> None:
        assert self.current is not None
        quarter = self.periods.searchsorted(pd.Timestamp(now), side="right")
        keep_until = (
            self.periods[quarter].to_pydatetime()
            if quarter < len(self.periods)
            else self.periods[-1].to_pydatetime()
        )
        try:
            plan, notes = await self._compute(
                self.builder.optimise_held,
                self.book,
                history=self.current.schedule,
                keep_until=keep_until,
                lost=dict(self.lost),
            )
        except InfeasibleError as exc:
            note = f"{_z(now)}: re-plan failed ({exc.status}); version {self.current.version} stays"
            self.notes.append(note)
            _LOG.warning(
                "engine_replan_failed", tenant=self.tenant, day=str(self.day), error=str(exc)
            )
            return
        version = self._issue(plan, reason, notes)
        self.current = version
        for state in self.zones.values():
            if state.pool is not None:  # read at the pool's next quarter-hour boundary
                state.pool.schedule = version.schedule

    def _issue(
        self, plan: Any, reason: str, notes: Sequence[str], serving: list[str] | None = None
    ) -> ScheduleVersion:
        """Issue and store `plan` as the next version, serving `serving` (default: every
        bid in the book)."""
        ids = sorted({e.bid_id for e in self.book.entries}) if serving is None else serving
        version = self.builder.issue(plan, reason, ids, self.clock.utc(), notes)
        if self._versions_before:  # the server ran this day before: number on from there
            number = version.version + self._versions_before
            schedule = version.schedule.model_copy(
                update={
                    "schedule_id": f"sch-{self.portfolio.id}-{self.day}-v{number}",
                    "plan_id": f"{plan.plan_id}-v{number}",
                }
            )
            version = dataclasses.replace(version, version=number, schedule=schedule)
        self.books.schedule(version)
        _LOG.info(
            "engine_schedule_issued",
            tenant=self.tenant,
            day=str(self.day),
            version=version.version,
            reason=reason,
        )
        return version

    def _stored_versions(self) -> int:
        """The highest version number stored for the portfolio's day (0: none)."""
        with session_factory(self.repository.engine)() as session:
            found = session.scalar(
                select(func.max(ScheduleVersionRow.version)).where(
                    ScheduleVersionRow.tenant_id == self.tenant,
                    ScheduleVersionRow.portfolio_id == self.portfolio.id,
                    ScheduleVersionRow.day == self.day,
                )
            )
        return int(found or 0)

    def _restore(self) -> None:
        """After a restart, keep what the store holds of the day before this run: the
        metering rows of earlier ISPs (stored again with the new ones) and the settled rows
        of earlier ISPs (settled again with the new ones: delivered and metered from the
        stored metering, scheduled and aFRR requested from the stored rows)."""
        first_start = self.periods[self._first_row].to_pydatetime()
        quarter = {p.to_pydatetime(): q for q, p in enumerate(self.periods)}
        delivered: dict[tuple[str, int], list[float]] = {}
        for m in self.repository.list_metering(self.tenant, self.day):
            start = as_utc(m.isp_start)
            if m.portfolio_id != self.portfolio.id or start >= first_start:
                continue
            self._kept_rows.append(
                {
                    "asset_id": m.asset_id,
                    "isp_start": start,
                    "zone": m.zone,
                    "measured_mwh": m.measured_mwh,
                    "truth_mwh": m.truth_mwh,
                    "complete": m.complete,
                }
            )
            sums = delivered.setdefault((m.zone, quarter[start]), [0.0, 0.0])
            sums[0] += m.truth_mwh if m.truth_mwh is not None else m.measured_mwh
            sums[1] += m.measured_mwh
        for record in self.repository.list_settlements(self.tenant, self.day):
            if record.portfolio_id != self.portfolio.id:
                continue
            for row in record.document.get("rows", []):
                q = quarter.get(as_utc(datetime.fromisoformat(row["start"].replace("Z", "+00:00"))))
                key = (row["zone"], q)
                if q is None or q >= self._first_row or key not in delivered:
                    continue
                requested = float(row["afrr_requested_mwh"])
                self._prior[key] = (
                    delivered[key][0],
                    delivered[key][1],
                    float(row["scheduled_mwh"]),
                    max(requested, 0.0),
                    max(-requested, 0.0),
                )

    def _meter(self, *, final: bool, closing: bool = False) -> None:
        """Store the metering of every ISP passed, then settle them (provisional until the
        day's end). `closing`: the run ends; the ISP in progress is stored too, incomplete
        (what was metered of it is kept for a restart)."""
        if not self.zones or self.first_isp is None or self.current is None:
            return
        edges = next(iter(self.zones.values())).afrr_up.edges
        seen = min(state.last_t for state in self.zones.values())
        passed = int(np.searchsorted(edges, seen, side="right")) - 2  # last ISP seen to its end
        passed = min(passed, len(self.periods) - 1)
        if passed <= self.metered_through and not (final or closing):
            return
        self.metered_through = max(self.metered_through, passed)
        through = self.metered_through
        starts = [p.to_pydatetime() for p in self.periods]
        first_row = self._first_row
        zone_of = {a: s.zone for s in self.zones.values() for a in s.truth}
        measured = {a: m for s in self.zones.values() for a, m in s.measured.items()}
        truth = {a: m for s in self.zones.values() for a, m in s.truth.items()}
        rows: list[dict[str, Any]] = []
        for asset, meter in sorted(measured.items()):
            complete = meter.complete()
            last_row = min(through + 1, len(self.periods) - 1) if closing else through
            for q in range(first_row, last_row + 1):
                rows.append(
                    {
                        "asset_id": asset,
                        "isp_start": starts[q],
                        "zone": zone_of[asset],
                        "measured_mwh": float(np.round(meter.energy_mwh[q], 9)),
                        "truth_mwh": float(truth[asset].energy_mwh[q])
                        if self.truth_known
                        else None,
                        "complete": bool(complete[q]),
                    }
                )
        rows = self._kept_rows + rows
        if rows:
            self.repository.add_metering(self.tenant, self.portfolio.id, self.day, rows)
        if through < self.first_isp:
            return
        earlier = sorted({q for zone, q in self._prior if zone in self.zones})
        window = np.array(earlier + list(range(self.first_isp, through + 1)), dtype=int)
        self.settled = settle_window(
            self.book,
            self.horizon,
            window,
            self._deliveries(),
            costs_by_kind=self.current.plan.costs_by_kind,
            config=self.config,
        )
        self._save_settlement(self.settled, window, final)

    def _deliveries(self) -> list[ZoneDelivery]:
        assert self.current is not None
        out = []
        for zone, state in self.zones.items():
            planned = np.where(
                np.isnan(state.planned_mw),
                self.current.zone_mw(list(state.truth)),
                state.planned_mw,
            )
            arrays = [
                sum((m.energy_mwh for m in state.truth.values()), np.zeros(len(planned))),
                sum((m.energy_mwh for m in state.measured.values()), np.zeros(len(planned))),
                planned * 0.25,
                state.afrr_up.energy_mwh.copy(),
                state.afrr_down.energy_mwh.copy(),
            ]
            for (prior_zone, q), values in self._prior.items():
                if prior_zone == zone:  # settled by the run before a restart
                    for array, value in zip(arrays, values, strict=True):
                        array[q] = value
            truth, measured, scheduled, up, down = arrays
            if not self.truth_known:  # real devices: what they measured is all there is
                truth = measured
            out.append(
                ZoneDelivery(zone, self.book.net_mwh(zone), scheduled, truth, measured, up, down)
            )
        return out

    def _save_settlement(self, settled: Settlement, window: np.ndarray, final: bool) -> None:
        rows = [{**row, "start": _z(row["start"])} for row in settled.rows]  # type: ignore[arg-type]
        document = {
            **settled.books(),
            "imbalance_by_zone": settled.imbalance_by_zone,
            "rows": rows,
            "final": final and int(window[-1]) == len(self.periods) - 1,
            "isps_settled": len(window),
            "first_isp": _z(self.periods[int(window[0])].to_pydatetime()),
            "last_isp": _z(self.periods[int(window[-1])].to_pydatetime()),
            "notes": [
                "revenue: every position cleared for the day (paid at clearing, whatever is "
                "delivered); costs: the planned costs of the schedule version in force for "
                "the whole day; imbalance: the ISPs settled so far (delivered = "
                + (
                    "device truth of the embedded simulated fleet)"
                    if self.truth_known
                    else "the measured energy of the fleet file's Modbus devices: device "
                    "truth is unavailable for real devices)"
                ),
                f"imbalance prices: {self._imbalance_source()}",
                f"aFRR activation: {self.config.activation.source}",
            ],
        }
        self.repository.save_settlement(
            self.tenant, self.portfolio.id, self.day, document, self.clock.utc()
        )

    def _imbalance_source(self) -> str:
        if self.settled is None or not self.settled.rows:
            return "none settled yet"
        return ", ".join(sorted({str(r["imbalance_price_source"]) for r in self.settled.rows}))


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
