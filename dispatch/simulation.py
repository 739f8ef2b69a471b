"""A dispatcher run against simulated devices: the fleet, its schedule, faults, the KPIs.

`run_simulation(options)` builds a mixed fleet (6 in 10 batteries, 3 PV plants, 1 CHP),
a schedule for it (each asset's plan within its limits, changing every quarter hour), a
simulated TSO aFRR signal, one actor per asset and the pool controller, injects the faults
of `options.faults` at their times and returns the KPI report of `dispatch.kpi`.

In process (default) the devices are physics models on a `VirtualClock`: the run takes as
long as the computation, not the simulated time. `fleet` lets a caller bring its own
devices (e.g. Modbus adapters to simulated servers, on a `RealClock`).

Fault specifications, comma-separated: ``KIND:AMOUNT@TIMEs`` with KIND one of
`dispatch.devices.faults.Fault` (``trip``, ``silence``, ``ack_no_exec``, ``partial``,
``slow_ramp``, ``stuck``, ``fake_meter``, ``firmware``, ``firmware_inplace``; ``outage`` is
the older name of ``silence``); AMOUNT a share of the fleet (0 < x < 1), a
percentage (``100%``) or a number of assets (a whole number >= 1), optionally of one asset
kind only (``/battery``, ``/pv``, ``/chp``); TIME the second of the run, 0 included
(injected before the first contact), e.g. ``trip:0.3@20s,ack_no_exec:1@0s,firmware:15/chp@20s``.

The truth: at every tick the simulation (not the controller) samples what the devices
physically inject (`physical_power_mw()`, 0 for a tripped device) and gives it to the KPIs
(`KpiRecorder.truth`), so every report has a `truth` view beside the controller's
`tracking` view (see `dispatch.kpi`).

Sites: every `options.site_size` consecutive assets sit behind one simulated site meter
(`dispatch.devices.site_meter.SiteMeter`, the sum of their real power), watched by a
`dispatch.sites.SiteWatch` that catches a device reporting power it does not inject.
"""

from __future__ import annotations

import asyncio
import gc
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dispatch.activation import ActivationSource, SimulatedTsoSignal
from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock, RealClock, ScaledClock, VirtualClock
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceAdapter, DeviceLimits
from dispatch.devices.faults import OUTAGE_ALIAS, Fault
from dispatch.devices.fencing import FenceHolder
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import InProcessDevice, limits_of
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics
from dispatch.pool import PoolConfig, PoolController
from dispatch.schedule import Schedule
from dispatch.sites import SiteWatch, group_sites

FAULT_KINDS = (*(f.value for f in Fault), OUTAGE_ALIAS)
_FAULT = re.compile(
    r"^(?P<kind>[a-z_]+):(?P<amount>[0-9.]+)(?P<pct>%?)(?:/(?P<asset_kind>[a-z]+))?"
    r"@(?P<at>[0-9.]+)s?$"
)
ASSET_KINDS = ("battery", "pv", "chp")
START = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
"""Default start of a simulated run (UTC): a June morning, PV producing."""


class FaultSpecError(ValueError):
    """A fault specification that cannot be read; the message names the part and the rule."""


@dataclass(frozen=True)
class FaultSpec:
    """`kind` injected at `at_s` [s] into a share (< 1) or a number (>= 1) of assets."""

    kind: str
    """A `Fault` value (``outage`` is read as ``silence``)."""
    amount: float
    at_s: float
    asset_kind: str | None = None
    """Only assets of this kind ("battery", "pv", "chp"); None: any."""

    def count(self, fleet: int) -> int:
        """How many of `fleet` assets it hits (at least one)."""
        if self.amount < 1:
            return max(1, round(self.amount * fleet))
        return min(fleet, int(self.amount))


def parse_faults(text: str | None) -> list[FaultSpec]:
    """``KIND:AMOUNT@TIMEs,...`` (see the module docstring); `FaultSpecError` names the part."""
    specs: list[FaultSpec] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        match = _FAULT.match(part)
        if match is None:
            raise FaultSpecError(f"fault {part!r} is not KIND:AMOUNT@TIMEs (e.g. outage:0.3@20s)")
        kind, amount, at = match["kind"], float(match["amount"]), float(match["at"])
        if match["pct"]:
            if not 0 < amount <= 100:
                raise FaultSpecError(f"fault {part!r}: a percentage must be in (0, 100]")
            amount = min(amount / 100.0, 0.999999) if amount < 100 else 0.9999999
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"fault {part!r}: kind {kind!r} is not one of {FAULT_KINDS}")
        asset_kind = match["asset_kind"]
        if asset_kind is not None and asset_kind not in ASSET_KINDS:
            raise FaultSpecError(
                f"fault {part!r}: asset kind {asset_kind!r} is not one of {ASSET_KINDS}"
            )
        if amount <= 0 or (amount >= 1 and amount != int(amount)):
            raise FaultSpecError(
                f"fault {part!r}: amount {match['amount']} must be a share in (0, 1), "
                "a percentage (100%) or a whole number of assets"
            )
        fault = Fault.SILENCE.value if kind == OUTAGE_ALIAS else kind
        specs.append(FaultSpec(fault, amount, at, asset_kind))
    return specs


class Injectable(Protocol):
    """A simulated device: faults can be injected into it, and its real power is known."""

    asset_id: str

    def inject(self, fault: Fault | str) -> None:
        """Give the device a fault from now on."""
        ...

    def physical_power_mw(self) -> float:
        """What it really injects now [MW, + injection] (the truth, not its telemetry)."""
        ...


@dataclass
class FleetMember:
    """One asset of a simulated fleet: its adapter, limits, kind and plan [MW]."""

    adapter: DeviceAdapter
    limits: DeviceLimits
    kind: str
    energy_mwh: float | None
    plan_mw: Callable[[int], float]
    """Planned injection [MW] in quarter hour `k` of the run."""
    device: Injectable


@dataclass
class SimulationOptions:
    """What to simulate."""

    assets: int = 20
    duration_s: float = 60.0
    faults: list[FaultSpec] = field(default_factory=list)
    seed: int = 1
    start: datetime = START
    pool: str = "pool-1"
    activation_share: float = 0.1
    """The aFRR band as a share of the fleet's rated power."""
    response_s: float = 3.0
    """Every asset's response time: from the write to measured power in band [s]."""
    site_size: int = 10
    """Consecutive assets behind one site meter (0: no site meters)."""
    tick_s: float = 1.0
    """The pool's tick and each actor's read period [s] (coarser: a faster simulation)."""
    count_stale: bool = False
    """Dispatch the old, wrong way (`PoolConfig.count_stale`), to show what it hides."""


def physics_fleet(n: int, seed: int) -> list[tuple[str, Battery | Pv | Chp, str, float | None]]:
    """`n` physics models: (asset id, model, kind, energy [MWh] or None)."""
    rng = random.Random(seed)
    fleet: list[tuple[str, Battery | Pv | Chp, str, float | None]] = []
    for i in range(n):
        slot = i % 10
        if slot < 6:
            energy = 2.0
            physics: Battery | Pv | Chp = Battery(
                1.0, -1.0, energy, soc=rng.uniform(0.35, 0.65), ramp_mw_per_s=0.5
            )
            fleet.append((f"bat-{i:05d}", physics, "battery", energy))
        elif slot < 9:
            fleet.append((f"pv-{i:05d}", Pv(0.5, ramp_mw_per_s=1.0), "pv", None))
        else:
            chp = Chp(1.0, 0.3, ramp_mw_per_s=0.05)
            chp.on = True
            fleet.append((f"chp-{i:05d}", chp, "chp", None))
    return fleet


def plan_for(kind: str, limits: DeviceLimits, phase: int) -> Callable[[int], float]:
    """A plan within the asset's limits: batteries alternate at 40 % of their power, PV sells
    half its rated power, CHP runs at 60 %."""
    if kind == "battery":
        return lambda k: 0.4 * limits.max_mw * (1 if (k + phase) % 2 == 0 else -1)
    if kind == "pv":
        return lambda k: 0.5 * limits.max_mw
    return lambda k: 0.6 * limits.max_mw


def inproc_fleet(options: SimulationOptions, clock: DispatchClock) -> list[FleetMember]:
    """`options.assets` in-process devices on `clock`."""
    members = []
    for i, (asset_id, physics, kind, energy) in enumerate(
        physics_fleet(options.assets, options.seed)
    ):
        device = InProcessDevice(asset_id, physics, clock, kind)
        limits = limits_of(physics, options.response_s)
        plan = plan_for(kind, limits, i)
        physics.power_mw = physics.target_mw = plan(0)  # a running fleet, at its plan
        members.append(FleetMember(device, limits, kind, energy, plan, device))
    return members


def modbus_like_fleet(options: SimulationOptions, clock: DispatchClock) -> list[FleetMember]:
    """The Modbus benchmark's fleet as `options.assets` in-process devices on `clock`, each
    at its plan: the device models a Modbus run serves (`dispatch.devices.modbus_sim.
    make_model`: 3 kW batteries, 60 kW PV plants and 50 kW CHPs in turn, ten behind each
    site meter), the same in every run on a virtual clock. A test or a trace wraps their
    adapters (lost reads, lost answers) with `dataclasses.replace(member, adapter=...)`."""
    from dispatch.devices.modbus_sim import make_model  # pymodbus only where it is asked for

    members = []
    for i in range(options.assets):
        kind = ("battery", "pv", "chp")[i % 3]
        physics = make_model(kind, i).physics
        device = InProcessDevice(f"sim-{kind}-{i:05d}", physics, clock, kind)
        limits = limits_of(physics, options.response_s)
        plan = plan_for(kind, limits, i)
        physics.power_mw = physics.target_mw = plan(0)  # a running fleet, at its plan
        energy = physics.capacity_mwh if isinstance(physics, Battery) else None
        members.append(FleetMember(device, limits, kind, energy, plan, device))
    return members


def schedule_of(fleet: Sequence[FleetMember], start: datetime, duration_s: float) -> Schedule:
    """Each member's plan over the quarter hours covering [start, start + duration)."""
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    quarters = max(1, -(-int((start - first).total_seconds() + duration_s) // 900))
    index = tuple(first + timedelta(minutes=15 * k) for k in range(quarters))
    return Schedule(
        portfolio_id="simulation",
        plan_id=f"sim-{len(fleet)}",
        created_at=start,
        source="dispatch.simulation",
        start=index[0],
        end=index[-1] + timedelta(minutes=15),
        index=index,
        injection_mw={
            m.adapter.asset_id: tuple(m.plan_mw(k) for k in range(quarters)) for m in fleet
        },
    )


async def run_fleet(
    options: SimulationOptions,
    fleet: Sequence[FleetMember],
    clock: DispatchClock,
    *,
    activation: ActivationSource | None = None,
    metrics: DispatchMetrics | None = None,
    schedule: Schedule | None = None,
    zones: Mapping[str, str] | None = None,
    on_pool: Callable[[PoolController], None] | None = None,
    fence: FenceHolder | None = None,
    first_contact_s: float = 0.0,
) -> dict[str, Any]:
    """Dispatch `fleet` for `options.duration_s` on `clock`; the KPI report. `schedule`:
    the one the fleet follows (default: built from the members' plans); `zones`: asset id
    -> bidding zone, for the metrics' labels; `on_pool`: called with the pool controller
    before the first tick (an engine switches its schedule, adds observers); `fence`: the
    partition lease's fence every write carries (`dispatch.cluster`; None: unfenced);
    `first_contact_s` [s]: the first tick waits up to this long past its due time for
    every actor's first turn (first contact) to end, so that it does not count the assets
    whose first reading is still on its way as nothing (a partition reached over a busy
    link: `docs/scale.md`; 0: it does not wait)."""
    rated = sum(m.limits.max_mw for m in fleet)
    board = TelemetryBoard()
    metrics = metrics if metrics is not None else DispatchMetrics(pool=options.pool, zones=zones)
    kpi = KpiRecorder(tolerance_mw=max(0.001, 0.02 * rated))
    budgets = RetryBudgets(
        BucketConfig(rate_per_s=max(5.0, 0.05 * len(fleet)), burst=max(10.0, 0.1 * len(fleet))),
        BucketConfig(rate_per_s=max(5.0, 0.05 * len(fleet)), burst=max(10.0, 0.1 * len(fleet))),
    )
    context = ActorContext(options.pool, clock, board, budgets, metrics, kpi, fence)
    rng = random.Random(options.seed)
    actors = []
    for i, member in enumerate(fleet):
        rating = max(abs(member.limits.max_mw), abs(member.limits.min_mw))
        tolerance = max(0.0001, 0.02 * rating)
        policy = ConfirmationPolicy(
            ack_timeout_s=1.0,
            response_s=member.limits.response_s,
            dwell_s=0.0,
            tolerance_mw=tolerance,
            deviation_dwell_s=2.0,
        )
        config = ActorConfig(
            period_s=options.tick_s,
            phase_s=(0.05 + 0.8 * i / max(1, len(fleet))) * options.tick_s,
            policy=policy,
        )
        breaker = CircuitBreaker(BreakerConfig(failure_threshold=2), rng=rng.random)
        actors.append(
            AssetActor(
                member.adapter,
                member.limits,
                context,
                config,
                breaker,
                energy_mwh=member.energy_mwh,
            )
        )
    if activation is None:
        band = options.activation_share * rated
        activation = SimulatedTsoSignal(band, band, seed=options.seed)
    metrics.watch(actors)  # per-asset series on /metrics while this run lives
    schedule = (
        schedule if schedule is not None else schedule_of(fleet, clock.utc(), options.duration_s)
    )
    chosen: set[str] = set()
    liars: set[str] = set()
    """Fake meters injected so far."""
    nameable: dict[str, tuple[float, tuple[str, ...]]] = {}
    """Site members -> (the lie [MW] their site meter can pin on one of them, the site's
    members), filled once the sites are built."""
    pool = PoolController(
        options.pool,
        schedule,
        activation,
        actors,
        board,
        clock,
        metrics,
        kpi,
        PoolConfig(
            tick_s=options.tick_s,
            max_reading_age_s=2.5 * options.tick_s,
            correction_limit_mw=max(1.0, 0.2 * rated),
            count_stale=options.count_stale,
        ),
        observers=[truth_sampler(fleet, kpi, clock, chosen, liars, nameable)],
    )
    if on_pool is not None:
        on_pool(pool)
    start = clock.now()
    until = start + options.duration_s
    kpi.started(start)

    actor_of = {actor.asset_id: actor for actor in actors}

    def unanswered_since(asset: str) -> float | None:
        """Since when the asset had not answered (None if it answers or was never tried)."""
        return actor_of[asset].unanswered_since

    def inject(spec: FaultSpec) -> None:
        candidates = [
            m
            for m in fleet
            if m.adapter.asset_id not in chosen
            and (spec.asset_kind is None or m.kind == spec.asset_kind)
        ]
        hit = rng.sample(candidates, min(len(candidates), spec.count(len(fleet))))
        kind = Fault.SILENCE if spec.kind == OUTAGE_ALIAS else Fault(spec.kind)
        at = clock.now()  # one injection: one time, however long injecting takes
        for member in hit:
            asset = member.adapter.asset_id
            chosen.add(asset)
            member.device.inject(kind)
            kpi.fault_injected(asset, kind.value, at, unanswered_since=unanswered_since(asset))
            if kind is Fault.FAKE_METER:
                liars.add(member.adapter.asset_id)

    ordered = sorted(options.faults, key=lambda s: s.at_s)
    for spec in ordered:
        if spec.at_s <= 0:  # before the first contact: the fleet starts with it
            inject(spec)

    async def inject_faults() -> None:
        for spec in ordered:
            if spec.at_s > 0:
                await clock.sleep_until(start + spec.at_s)
                inject(spec)

    async def control() -> None:
        # Ticks start once every actor has had its first turn (connect, first reading).
        await clock.sleep_until(start + pool.config.tick_s)
        latest = start + pool.config.tick_s + first_contact_s
        while len(board) < len(actors) and clock.now() < latest:
            await clock.sleep_until(min(latest, clock.now() + 0.05))
        await pool.run(until, grid_s=start if first_contact_s > 0 else None)

    sites = [
        SiteWatch(
            SiteMeter(f"site-{k:05d}", [fleet[i].device for i in group], clock),
            [actors[i] for i in group],
            board,
            clock,
            threshold_mw=2.5 * max(a.watch.band_mw for a in (actors[i] for i in group)),
            # Just before the members' reads; compared once they have all read.
            phase_s=max(0.0, min(actors[i].config.phase_s for i in group) - 0.01),
            settle_s=max(actors[i].config.phase_s for i in group)
            - min(actors[i].config.phase_s for i in group)
            + 0.3,
            late_s=0.3,  # a busy link: up to the members' read deadline (0.5 s) in all
            request_probe=pool.request_probe,
        )
        for k, group in enumerate(group_sites(len(fleet), options.site_size))
        if options.site_size > 1
    ]
    # A fake meter is observable once its report is off its real power by more than its
    # site can put down to every member's band at once (`SiteWatch.min_move_mw`).
    for site in sites:
        ids = tuple(a.asset_id for a in site.members)
        nameable.update(dict.fromkeys(ids, (site.min_move_mw, ids)))
    # What a site meter sees of members nobody can read counts as measured (not steered).
    pool.metered_unseen.extend(site.unseen_mw for site in sites)
    # Everything built so far lives for the whole run: keep the collector from walking it
    # again and again (a full collection over 10,000 actors takes a tick's budget).
    gc.collect()
    gc.freeze()
    tasks: list[Awaitable[None]] = [control(), inject_faults()]
    tasks += [actor.run(until) for actor in actors]
    tasks += [site.run(until) for site in sites]
    try:
        await asyncio.gather(*tasks)
    finally:
        gc.unfreeze()
    report = kpi.report(len(fleet))
    counters = budgets.counters.values()
    report["retries"] = {
        "granted": sum(c.granted for c in counters),
        "denied": sum(c.denied for c in counters),
    }
    report["states"] = _state_counts(actors)
    return report


def truth_sampler(
    fleet: Sequence[FleetMember],
    kpi: KpiRecorder,
    clock: DispatchClock,
    faulted: set[str] | None = None,
    liars: set[str] | None = None,
    nameable: Mapping[str, tuple[float, Sequence[str]]] | None = None,
) -> Callable[[float, float], None]:
    """A pool observer that records, at each tick, what the devices physically inject in
    total [MW] against the pool's target: the simulation's view, not the controller's.

    With `faulted` (the ids of assets given a fault so far) it also records the range the
    pool's true total could reach [MW]: faulted assets at what they physically inject now,
    every other asset anywhere within its static limits. A target outside that range is
    one no controller could meet; it is what `recovery[].headroom` judges by.

    With `liars` (the fake meters injected so far) and `nameable` (asset id -> the lie
    [MW] its site meter can pin on one member, and the site's members) it tells the KPIs
    when each fake meter's lie is first observable (`KpiRecorder.fault_seen`), whatever
    the detector makes of it: from one tick to the next its lie (report minus real power)
    changed by more than that, and the sum of its site's lies (the site's reports against
    its meter) changed by more than that the same way. The meter sees a lie only as a
    change that coincides with the liar's own: a liar that reports its setpoint shows when
    that setpoint moves, and two liars whose lies move alike and opposite (a probing pair
    frozen in the middle of their probe) show nothing on the meter they share until one
    of them moves alone."""
    devices = [m.device for m in fleet]
    ids = [m.adapter.asset_id for m in fleet]
    by_id = dict(zip(ids, devices, strict=True))
    last_lies: dict[str, tuple[float, float]] = {}
    """Per fake meter, (its lie, its site's total lie) [MW] at the previous tick."""
    low = [m.limits.min_mw for m in fleet]
    high = [m.limits.max_mw for m in fleet]
    soc_lies: dict[str, tuple[float, float, float]] = {}
    """Per lying battery, (tick [s], its lie then [MW], the lie's energy since the fault was
    first sampled [MWh])."""

    def soc_shows(asset: str, t: float) -> bool:
        """Whether a lying battery's state of charge now shows its lie: the energy it
        claimed and did not move (its lie, integrated over the ticks) reaches one step of
        the state of charge it reports (0.01 % over Modbus, any amount in process)."""
        device = by_id[asset]
        step = _soc_step_mwh(device)
        lie = _lie_mw(device)
        if step is None or lie is None:
            return False
        before = soc_lies.get(asset)
        energy = (
            0.0 if before is None else before[2] + (before[1] + lie) / 2 * (t - before[0]) / 3600
        )
        soc_lies[asset] = (t, lie, energy)
        return abs(energy) > max(step, SOC_NOISE_MWH)

    def sample(t: float, target_mw: float) -> None:
        physical = 0.0
        reach_low = reach_high = 0.0
        hit = faulted or ()
        for device, asset, lo, hi in zip(devices, ids, low, high, strict=True):
            power = device.physical_power_mw()
            if power is None:  # a real device (`modbus_fleet.RealDevice`): no truth to record
                return
            physical += power
            if asset in hit:
                reach_low += power
                reach_high += power
            else:
                reach_low += lo
                reach_high += hi
        kpi.truth(t, clock.utc(), target_mw, physical, reachable_mw=(reach_low, reach_high))
        for asset in list(liars or ()):
            if soc_shows(asset, t):
                kpi.fault_seen(asset, t)
                liars.discard(asset)  # type: ignore[union-attr]
                continue
            site = (nameable or {}).get(asset)
            if site is None:
                continue
            limit, members = site
            lie = _lie_mw(by_id[asset])
            if lie is None:
                continue
            total = sum(_lie_mw(by_id[m]) or 0.0 for m in members)
            before = last_lies.get(asset)
            last_lies[asset] = (lie, total)
            if before is None:
                continue
            own, site_total = lie - before[0], total - before[1]
            if abs(own) > limit and abs(site_total) > limit and own * site_total > 0:
                kpi.fault_seen(asset, t)
                liars.discard(asset)  # seen once: enough

    return sample


SOC_NOISE_MWH = 1e-9
"""Below this the energy a battery lied about is rounding, not a lie [MWh]."""


def _soc_step_mwh(device: Any) -> float | None:
    """One step of the state of charge `device` reports, as energy [MWh]; None if it is not
    a battery."""
    physics = getattr(device, "physics", None) or getattr(
        getattr(device, "model", None), "physics", None
    )
    if not isinstance(physics, Battery):
        return None
    return float(getattr(device, "soc_resolution", 0.0)) * physics.capacity_mwh


def _lie_mw(device: Injectable) -> float | None:
    """What `device`'s own measurement says minus what it really injects [MW]; None for a
    device that cannot tell (no `metered_power_mw`)."""
    metered = getattr(device, "metered_power_mw", None)
    if metered is None:
        return None
    return float(metered()) - device.physical_power_mw()


def _state_counts(actors: Sequence[AssetActor]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for actor in actors:
        counts[actor.state.state.value] = counts.get(actor.state.state.value, 0) + 1
    return dict(sorted(counts.items()))


def run_simulation(options: SimulationOptions, *, speed: float | None = None) -> dict[str, Any]:
    """Simulate `options` with in-process devices; the KPI report. On a virtual clock (as
    fast as it computes) unless `speed` asks for simulated seconds per real one."""

    async def main() -> dict[str, Any]:
        clock: DispatchClock = (
            VirtualClock(options.start) if speed is None else ScaledClock(options.start, speed)
        )
        return await run_fleet(options, inproc_fleet(options, clock), clock)

    return asyncio.run(main())


__all__ = [
    "FaultSpec",
    "FaultSpecError",
    "FleetMember",
    "RealClock",
    "SimulationOptions",
    "parse_faults",
    "run_fleet",
    "run_simulation",
]
