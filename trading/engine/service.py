"""The engine inside `vpp serve`: every tenant's stored portfolio dispatched, metered, settled.

`EngineService` runs in a thread of its own with its own event loop, beside uvicorn and the
server's `ClearingLoop`, on the server's clock (`trading.engine.live_clock.ServerClock`):

- every round it looks for tenants with a stored portfolio and starts one engine per
  tenant (a tenant with several portfolios is named in the status and left alone: a bid
  does not say which portfolio it is for);
- the store's accepted clearings are the truth of the position book: every round (and
  before a tenant's day starts) each running tenant's accepted clearings whose bid has no
  position yet (`Repository.unbooked_clearings`) become position-book entries
  (`entries_of`), stored for their delivery day (`engine_positions`) and passed to the
  tenant's running day if it is that day. So a clearing recorded before the tenant's
  engine started, or while the engine was down, is booked, and each bid exactly once
  (`Repository.book_positions` skips a bid already booked, in the transaction that books);
- the `ClearingLoop` also hands it every clearing it records (`on_clearing`,
  thread-safe): a fast path booked the same way at the next round, before the store is
  read;
- a tenant's engine runs one `LiveDay` after another: the day the server's clock is in,
  then the next from its local midnight. Each day builds its fleet from the portfolio
  stored at that moment; a day that follows one run to its end starts from the state of
  charge that day ended with (`LiveDay.final_soc`: device truth of the simulated fleet,
  the last reading of real devices), both in its plans and in its simulated batteries;
  the server's first day (or one after a restart) from the portfolio's (batteries at the
  plan's state of charge of the quarter hour in force).

- every round the virtual trader (`trading.engine.serve_trader.ServeTrader`) trades for
  the pools whose ``virtual_trader`` flag is on: the next day's D-1 bids before the
  day-ahead gate, and an intraday correction when the running day loses assets or its
  forecast changes beyond the trader's threshold (`PUT /v1/engine/forecast`); its
  optimiser runs in a worker thread, one piece of work per tenant at a time. A pool whose
  flag goes off has the trader's open bids withdrawn at the next round (between two
  pieces of the tenant's work, so that none lands after the withdrawal).

`status(tenant)` is what `GET /v1/engine` shows (with each pool's flags and what it did with
the latest aFRR request), `dispatch_assets(tenant)` what `GET /v1/dispatch/assets` shows;
`collect()` feeds the metrics. The pools obey their flags (`trading.engine.flags`) at their
next tick: `flags` is read in memory, changed at once by the API's route (one `PoolFlags`
shared with the app) and read again from the store every round.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select

from dispatch.clock import DispatchClock
from markets.registry import MarketRegistry
from trading.engine.activation import german_pattern
from trading.engine.flags import PoolFlags
from trading.engine.live_books import LiveConfig, delivery_day, entry_rows, stored_clearing
from trading.engine.live_day import CarriedSoc, LiveDay
from trading.engine.loop import real_imbalance
from trading.engine.pool_view import dispatch_assets, pools_status
from trading.engine.positions import BookEntry, entries_of
from trading.engine.serve_trader import PoolOutcome, ServeTrader
from trading.exchange.records import Clearing
from trading.optimiser.inputs import PriceInputs
from trading.store import Repository, session_factory
from trading.store.models import PortfolioRow
from trading.store.ops.flags import ON
from trading.store.vocabulary import PoolFlag

_LOG = structlog.get_logger(__name__)
RETRY_S = 5.0
"""Real seconds before a tenant's engine that failed starts its day again; doubled after
each failure in a row (a day without prices fails until prices come), up to `MAX_RETRY_S`."""
MAX_RETRY_S = 900.0
SHARED_DATA_ENV = "VPP_SHARED_DATA"
"""Environment variable: the shared data folder (real imbalance prices, the aFRR pattern)."""
MAX_ROUND_REAL_S = 5.0
"""At most this many real seconds between two engine rounds of a day."""


def shared_folder() -> Path | None:
    """``$VPP_SHARED_DATA``, else ``../shared/data`` beside the project, if it exists."""
    given = os.environ.get(SHARED_DATA_ENV)
    folder = Path(given) if given else Path(__file__).resolve().parents[3] / "shared/data"
    return folder if folder.is_dir() else None


def live_config(
    prices: PriceInputs,
    registry: MarketRegistry,
    afrr_prices: Mapping[tuple[str, str], pd.Series] | None,
    *,
    tick_s: float = 1.0,
    speed: float = 1.0,
) -> LiveConfig:
    """The engine's configuration in a server: its prices, the real imbalance prices and
    aFRR activation pattern of the shared data where present, a round every simulated
    minute (at most every `MAX_ROUND_REAL_S` real seconds)."""
    shared = shared_folder()
    return LiveConfig(
        prices=prices,
        registry=registry,
        afrr_prices=afrr_prices,
        imbalance=real_imbalance(shared),
        activation=german_pattern(shared),
        tick_s=tick_s,
        period_s=min(60.0, MAX_ROUND_REAL_S * speed),
    )


@dataclass
class TenantEngine:
    """One tenant's engine: its portfolio and the day it is running."""

    tenant: str
    portfolio_id: str
    portfolio_version: int
    live: LiveDay | None = None
    error: str | None = None
    days_run: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class EngineService:
    """The engine of every tenant with a stored portfolio (see the module docstring)."""

    def __init__(
        self,
        repository: Repository,
        clock: DispatchClock,
        config: LiveConfig,
        *,
        discover_s: float = 1.0,
        flags: PoolFlags | None = None,
    ) -> None:
        self.repository = repository
        self.flags = flags if flags is not None else PoolFlags(repository)
        """The pools' flags, in memory; the API's route changes them through this object."""
        self.clock = clock
        self.config = config
        self.discover_s = discover_s
        """Real seconds between two looks for new tenants and clearings."""
        self.tenants: dict[str, TenantEngine] = {}
        self.ignored: dict[str, str] = {}
        """Tenant -> why the engine does not run for it."""
        self._inbox: queue.Queue[tuple[str, Clearing]] = queue.Queue()
        self._unreadable: set[str] = set()
        """Bids whose stored clearing could not be read back (named in the log once)."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._lock = threading.Lock()
        self.trader = ServeTrader(repository, self.flags, config.prices, config.registry, clock.utc)
        """The virtual trader: D-1 bids for the pools whose ``virtual_trader`` flag is on."""
        self._trading: dict[str, asyncio.Task[None]] = {}
        """Tenant -> its virtual trader's D-1 work in progress (one at a time)."""

    # --- called from other threads ------------------------------------------------------

    def on_clearing(self, tenant: str, clearing: Clearing) -> None:
        """A clearing the server recorded (the `ClearingLoop`'s thread): booked next round
        (and by `reconcile` from the store if this hand-over is lost)."""
        self._inbox.put((tenant, clearing))

    def status(self, tenant: str) -> dict[str, Any]:
        """The tenant's engine: day, schedule version in force, last ISP metered, books."""
        with self._lock:
            engine = self.tenants.get(tenant)
            if engine is None:
                reason = self.ignored.get(tenant, "no portfolio stored for this tenant yet")
                return {"running": False, "reason": reason}
            live = engine.live
            return {
                "running": live is not None and engine.error is None,
                "portfolio": engine.portfolio_id,
                "portfolio_version": engine.portfolio_version,
                "error": engine.error,
                "days_run": list(engine.days_run),
                "now": _z(self.clock.utc()),
                "day": None if live is None else live.status(),
                "pools": pools_status(self.flags, tenant, live),
                "virtual_trader": self.trader.status(tenant),
                "tso": {"protocol": "loopback", "activation": self.config.activation.source}
                if self.config.tso is None
                else self.config.tso.status(tenant),
            }

    def update_forecast(
        self, tenant: str, available_mw: Mapping[str, Any], reason: str
    ) -> dict[str, Any]:
        """Replace the running day's forecast of PV/wind available power of `tenant`
        (`LiveDay.update_forecast`): re-planned at the next round, and the virtual trader
        corrects intraday if it moved enough. `LookupError` if no day runs for the
        tenant; `ValueError` naming a bad value."""
        with self._lock:
            engine = self.tenants.get(tenant)
            live = None if engine is None else engine.live
        if engine is None or live is None or live.current is None:
            reason_off = (
                self.ignored.get(tenant, "no portfolio stored for this tenant yet")
                if engine is None
                else "the tenant's delivery day is starting"
            )
            raise LookupError(f"no delivery day runs for the tenant: {reason_off}")
        change = live.update_forecast(available_mw, reason)
        return {"day": str(live.day), **change}

    def dispatch_assets(self, tenant: str) -> dict[str, Any]:
        """The tenant's assets in the running day's pools: state, last measured power and
        its age (`trading.engine.pool_view.dispatch_assets`)."""
        with self._lock:
            engine = self.tenants.get(tenant)
            live = None if engine is None else engine.live
        if engine is None or live is None:
            reason = (
                self.ignored.get(tenant, "no portfolio stored for this tenant yet")
                if engine is None
                else "the tenant's delivery day is starting"
            )
            return {"running": False, "reason": reason, "assets": []}
        return {
            "running": engine.error is None,
            "reason": engine.error,
            "day": str(live.day),
            "now": _z(live.clock.utc()),
            "assets": dispatch_assets(live),
        }

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Prometheus gauges per tenant: the schedule version in force, the last ISP
        metered (Unix seconds) and the ISPs metered in the day."""
        version = GaugeMetricFamily(
            "vpp_engine_schedule_version",
            "Schedule version in force, per tenant",
            labels=["tenant"],
        )
        last = GaugeMetricFamily(
            "vpp_engine_last_isp_metered_timestamp_seconds",
            "Start of the last ISP metered [Unix s], per tenant",
            labels=["tenant"],
        )
        count = GaugeMetricFamily(
            "vpp_engine_isps_metered",
            "ISPs metered in the running day, per tenant",
            labels=["tenant"],
        )
        with self._lock:
            for tenant, engine in sorted(self.tenants.items()):
                live = engine.live
                if live is None or live.current is None:
                    continue
                version.add_metric([tenant], live.current.version)
                first = live.first_isp
                if first is not None and live.metered_through >= first:  # an ISP seen whole
                    start = live.periods[live.metered_through]
                    last.add_metric([tenant], start.timestamp())
                if live.first_isp is not None:
                    metered = max(0, live.metered_through - live.first_isp + 1)
                    count.add_metric([tenant], metered)
        yield from (version, last, count)

    def start(self) -> None:
        """Run the engine in a daemon thread until `stop`."""
        ready = threading.Event()

        def main() -> None:
            asyncio.run(self._main(ready))

        self._thread = threading.Thread(target=main, name="vpp-engine", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop every tenant's day (what passed is metered and settled) and the thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        if self.config.tso is not None:  # the TSOs' links close with the engine
            self.config.tso.close()

    # --- the engine's own thread --------------------------------------------------------

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ready.set()
        try:
            await self.serve(self._stop)
        except Exception:
            _LOG.exception("engine_stopped_on_error")

    async def serve(self, stop: asyncio.Event) -> None:
        """Discover tenants and book clearings every `discover_s` until `stop` is set."""
        while not stop.is_set():
            try:
                self.flags.refresh()  # another process's change, within a round
                self._discover(stop)
                self.book_inbox()
                self.trade()
            except Exception:  # e.g. the database away for a moment: next round
                _LOG.exception("engine_round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.discover_s)
        tasks = [e.task for e in self.tenants.values() if e.task is not None]
        tasks += list(self._trading.values())
        await asyncio.gather(*tasks, return_exceptions=True)

    def _discover(self, stop: asyncio.Event) -> None:
        with session_factory(self.repository.engine)() as session:
            rows = session.execute(
                select(PortfolioRow.tenant_id, PortfolioRow.id, PortfolioRow.version)
            ).all()
        by_tenant: dict[str, list[Any]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row)
        for tenant, found in sorted(by_tenant.items()):
            if tenant in self.tenants:
                engine = self.tenants[tenant]
                engine.portfolio_version = max(
                    (r.version for r in found if r.id == engine.portfolio_id),
                    default=engine.portfolio_version,
                )
                continue
            if len(found) != 1:
                ids = ", ".join(sorted(r.id for r in found))
                self.ignored[tenant] = (
                    f"the tenant has {len(found)} portfolios ({ids}); the engine runs a "
                    "tenant with exactly one (a bid does not say which portfolio it is for)"
                )
                continue
            (row,) = found
            engine = TenantEngine(tenant, row.id, row.version)
            with self._lock:
                self.tenants[tenant] = engine
            engine.task = asyncio.ensure_future(self._run_tenant(engine, stop))
            _LOG.info("engine_tenant_started", tenant=tenant, portfolio=row.id)

    def book_inbox(self) -> int:
        """Book what cleared: first the clearings handed in (`on_clearing`), then, per
        running tenant, every accepted clearing the store holds without a position
        (`reconcile`); the number of entries booked now (none twice)."""
        handed: dict[str, list[Clearing]] = {}
        while True:
            try:
                tenant, clearing = self._inbox.get_nowait()
            except queue.Empty:
                break
            handed.setdefault(tenant, []).append(clearing)
        booked = 0
        for tenant, clearings in sorted(handed.items()):
            engine = self.tenants.get(tenant)
            if engine is None:  # booked from the store once the tenant's engine runs
                continue
            entries: list[BookEntry] = []
            for clearing in clearings:
                try:
                    entries.extend(entries_of(clearing, self.config.registry))
                except ValueError as exc:  # the store's copy is tried every round
                    _LOG.warning(
                        "engine_clearing_unreadable", bid_id=clearing.bid_key, error=str(exc)
                    )
            try:
                booked += self.book(engine, entries)
            except Exception:  # e.g. the database away for a moment: reconciled later
                _LOG.exception("engine_hand_over_not_booked", tenant=tenant)
        for engine in list(self.tenants.values()):
            try:
                booked += self.reconcile(engine)
            except Exception:  # e.g. the database away for a moment: next round
                _LOG.exception("engine_reconcile_failed", tenant=engine.tenant)
        return booked

    def reconcile(self, engine: TenantEngine) -> int:
        """Book every accepted clearing of the tenant that the store holds and no position
        comes from yet; the number of entries booked now. A clearing that cannot be read
        back (its product unknown to the registry) is named in the log once and tried
        again every round."""
        entries: list[BookEntry] = []
        for found in self.repository.unbooked_clearings(engine.tenant):
            try:
                entries.extend(
                    entries_of(stored_clearing(found, self.config.registry), self.config.registry)
                )
            except ValueError as exc:
                if found.bid_id not in self._unreadable:
                    self._unreadable.add(found.bid_id)
                    _LOG.warning(
                        "engine_stored_clearing_unreadable",
                        tenant=engine.tenant,
                        bid_id=found.bid_id,
                        error=str(exc),
                    )
        return self.book(engine, entries)

    def book(self, engine: TenantEngine, entries: list[BookEntry]) -> int:
        """Store `entries` per delivery day, each bid's only if none of it is stored yet
        (`Repository.book_positions`); hand those booked now of the running day to it.
        The number of entries booked now."""
        by_bid: dict[str, list[tuple[date, dict[str, Any]]]] = {}
        for entry in entries:
            (row,) = entry_rows([entry])
            by_bid.setdefault(entry.bid_id, []).append((delivery_day(entry.start), row))
        if not by_bid:
            return 0
        booked = set(self.repository.book_positions(engine.tenant, engine.portfolio_id, by_bid))
        new = [e for e in entries if e.bid_id in booked]
        live = engine.live
        if live is not None:
            today = [e for e in new if delivery_day(e.start) == live.day]
            if today:
                live.receive(today)
        if booked:
            _LOG.info(
                "engine_positions_booked", tenant=engine.tenant, bids=len(booked), entries=len(new)
            )
        return len(new)

    def trade(self) -> None:
        """Start the virtual trader's D-1 work for each running tenant it is due for
        (`ServeTrader.due`: a pool with the flag on and its day-ahead gate ahead), in a
        worker thread (the optimiser must not hold the engine's loop)."""
        for tenant, engine in sorted(self.tenants.items()):
            running = self._trading.get(tenant)
            if running is not None and not running.done():
                continue
            pools = self.flags.of_tenant(tenant, [])  # the pools with a flag set
            try:  # a pool whose flag went off: the trader's open bids are withdrawn
                self.trader.withdraw_off(tenant, pools)
            except Exception:  # e.g. the database away for a moment: tried next round
                _LOG.exception("virtual_trader_withdrawal_failed", tenant=tenant)
            if not any(flags[PoolFlag.VIRTUAL_TRADER.value] == ON for flags in pools.values()):
                continue  # off unless set: no need to read the portfolio
            live = engine.live
            if live is not None and engine.error is None:
                lost = self.trader.correction_due(tenant, live)
                if lost is not None:
                    self._trading[tenant] = asyncio.ensure_future(self._correct(tenant, live, lost))
                    continue
                forecast = self.trader.forecast_correction_due(tenant, live)
                if forecast is not None:
                    self._trading[tenant] = asyncio.ensure_future(
                        self._correct_forecast(tenant, live, *forecast)
                    )
                    continue
            record = self.repository.get_portfolio(tenant, engine.portfolio_id)
            if record is None:
                continue
            portfolio = record.portfolio()
            due = self.trader.due(tenant, portfolio)
            if due is not None:
                day, pools = due
                self._trading[tenant] = asyncio.ensure_future(
                    self._trade_d1(tenant, portfolio, day, pools)
                )

    async def _trade_d1(self, tenant: str, portfolio: Any, day: date, pools: list[str]) -> None:
        try:
            await asyncio.to_thread(self.trader.trade_d1, tenant, portfolio, day, pools)
        except Exception as exc:  # e.g. no forecast for the day: named in the status
            _LOG.exception("virtual_trader_failed", tenant=tenant, day=str(day))
            failed = {
                pool: PoolOutcome("failed", error=f"{type(exc).__name__}: {exc}") for pool in pools
            }
            self.trader.record(tenant, day, failed)

    async def _correct(self, tenant: str, live: LiveDay, lost: dict[str, datetime]) -> None:
        try:
            await asyncio.to_thread(self.trader.correct, tenant, live, lost)
        except Exception:  # e.g. the re-plan infeasible: the day's own re-plan still runs
            _LOG.exception("virtual_trader_correction_failed", tenant=tenant, day=str(live.day))

    async def _correct_forecast(self, tenant: str, live: LiveDay, seen: int, why: str) -> None:
        try:
            await asyncio.to_thread(self.trader.correct_forecast, tenant, live, seen, why)
        except Exception:  # e.g. the re-plan infeasible: the day's own re-plan still runs
            _LOG.exception(
                "virtual_trader_forecast_correction_failed", tenant=tenant, day=str(live.day)
            )

    async def _run_tenant(self, engine: TenantEngine, stop: asyncio.Event) -> None:
        failures = 0
        carried: CarriedSoc | None = None
        """The final state of charge of the last day run to its end."""
        while not stop.is_set():
            day = delivery_day(self.clock.utc())
            follows = carried is not None and carried.day + timedelta(days=1) == day
            try:
                self.reconcile(engine)  # the day starts from every clearing stored
                record = self.repository.get_portfolio(engine.tenant, engine.portfolio_id)
                if record is None:
                    raise ValueError(f"portfolio {engine.portfolio_id} is no longer stored")
                live = LiveDay(
                    self.repository,
                    engine.tenant,
                    record.portfolio(),
                    day,
                    self.config,
                    self.clock,
                    flags=self.flags,
                    carried=carried if follows else None,
                )
                with self._lock:
                    engine.live, engine.error = live, None
                    engine.portfolio_version = record.version
                self.book_inbox()  # what cleared while the day was being set up
                await live.run(stop)
                failures = 0
                if not stop.is_set():  # run to its end (not stopped with the server)
                    engine.days_run.append(str(day))
                    carried = live.final_soc()
            except Exception as exc:
                retry_s = min(MAX_RETRY_S, RETRY_S * 2**failures)
                failures += 1
                if failures == 1:  # the whole story once; then a line per try
                    _LOG.exception("engine_day_failed", tenant=engine.tenant, day=str(day))
                else:
                    _LOG.warning(
                        "engine_day_failed_again",
                        tenant=engine.tenant,
                        error=str(exc),
                        tries=failures,
                    )
                with self._lock:
                    engine.error = (
                        f"{type(exc).__name__}: {exc} (tried {failures}x; next in {retry_s:g} s)"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=retry_s)
                continue
            # the day is over: the next one starts at its local midnight (already here)
            while delivery_day(self.clock.utc()) == day and not stop.is_set():
                await asyncio.sleep(0.05)


class EngineMetrics(Collector):
    """The engine's gauges on a Prometheus registry (`EngineService.collect`)."""

    def __init__(self, service: EngineService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The service's gauges."""
        return self.service.collect()


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
