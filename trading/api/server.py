"""The API as a service: the app, a simulated exchange on the same prices, a clearing loop.

`ClearingLoop` is what ties the store to the `SimulatedExchange` while the server runs.
The store is the order book: until a bid's gate closes it can be withdrawn there, and the
exchange need not hold it. Every few seconds the loop hands the exchange the submitted bids
whose gate has closed (each under its store id, so that outcomes map back, and as of the
instant the API accepted it), calls `clear_due()` and records every outcome in the store
(`Repository.record_clearing`, which moves the bid to accepted or rejected). So the loop
costs nothing while bids pour in, and a server that was down over a gate clears that
gate's bids when it is back.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import structlog
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import TypeAdapter
from sqlalchemy import select

from markets.bids import Bid
from trading.api.app import create_app
from trading.api.heap import settle_heap
from trading.api.jobs import FolderPrices, JobRunner
from trading.api.plans import recover_plans
from trading.exchange.clock import Clock, SystemClock
from trading.exchange.errors import ExchangeError
from trading.exchange.metrics import EXCHANGE_METRICS_REGISTRY
from trading.exchange.records import Clearing
from trading.exchange.simulated import SimulatedExchange
from trading.optimiser.inputs import PriceInputs
from trading.prices.inputs import read_afrr_energy_prices
from trading.settings import VppSettings
from trading.store import Actor, BidStatus, Repository, StoreError, session_factory, upgrade
from trading.store.models import BidRow
from trading.store.published import published_bids
from trading.store.timestamps import use_clock

DEFAULT_INTERVAL_S = 3.0
"""Seconds between two rounds of the clearing loop."""

if TYPE_CHECKING:  # the engine imports this module (its desk clears through ClearingLoop)
    from dispatch.fleet_file import FleetFile
    from trading.engine.live_books import ZoneRunner
    from trading.engine.service import EngineService
    from trading.engine.tso import TsoLink

_BID = TypeAdapter(Bid)
_LOG = structlog.get_logger(__name__)

PRICE_FILES = ("day_ahead.csv", "intraday.csv", "afrr.csv")


def zones_of(folder: Path) -> set[str]:
    """Every bidding zone any price file of `folder` names."""
    zones: set[str] = set()
    for name in PRICE_FILES:
        path = folder / name
        if path.is_file():
            zones |= set(pd.read_csv(path, usecols=["zone"])["zone"].astype(str))
    return zones


def exchange_prices(prices: FolderPrices) -> PriceInputs:
    """The folder's prices of every zone it holds, for the simulated exchange."""
    return prices.prices(zones_of(prices.folder), ())


def activation_prices(prices: FolderPrices) -> dict[tuple[str, str], pd.Series] | None:
    """The folder's aFRR energy activation prices [EUR/MWh] per (zone, direction), which
    the simulated exchange activates aFRR energy bids against (`docs/exchange.md`); None
    if the folder has no ``afrr.csv`` (such bids are then rejected at their gate, naming
    the missing price)."""
    path = prices.folder / "afrr.csv"
    if not path.exists():
        return None
    return read_afrr_energy_prices(path, zones_of(prices.folder))


@dataclass
class ClearingLoop:
    """Forwards submitted bids to the exchange, clears what is due, records the outcomes."""

    repository: Repository
    exchange: SimulatedExchange
    interval_s: float = DEFAULT_INTERVAL_S
    forwarded: dict[str, str] = field(default_factory=dict)
    """Store bid id -> tenant, for every bid the exchange holds and the store has not yet
    settled."""
    listeners: list[Callable[[str, Clearing], None]] = field(default_factory=list)
    """Called with (tenant, clearing) for every outcome recorded (e.g. the engine's
    `EngineService.on_clearing`), in the loop's thread; one that raises is logged."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._log = structlog.get_logger(__name__).bind(component="clearing_loop")

    def run_once(self) -> list[Clearing]:
        """One round: forward the bids due, clear, record; the outcomes recorded.

        An outcome the store could not take (e.g. the database was busy) is tried again
        every round from the exchange's results until it is recorded, so no clearing is
        lost and no bid stays submitted for ever. One the store refuses (a bid withdrawn
        in the same instant its gate closed) is dropped: the store's state stands.
        """
        self._forward_due()
        self.exchange.clear_due()
        results = self.exchange.results()
        recorded = []
        for bid_id, tenant in list(self.forwarded.items()):
            clearing = results.get(bid_id)
            if clearing is None:
                continue  # still held: its gate (or a later product's) is ahead
            try:
                self._record(tenant, clearing)
            except StoreError as exc:  # the store's state wins (e.g. withdrawn just before)
                self._log.warning("clearing_refused_by_store", bid_id=bid_id, error=str(exc))
                del self.forwarded[bid_id]
                continue
            except Exception as exc:  # e.g. the database was busy: retried next round
                self._log.warning("clearing_not_recorded", bid_id=bid_id, error=str(exc))
                continue
            recorded.append(clearing)
            del self.forwarded[bid_id]  # settled: no longer selected
            self._tell(tenant, clearing)
        return recorded

    def _tell(self, tenant: str, clearing: Clearing) -> None:
        for listener in self.listeners:
            try:
                listener(tenant, clearing)
            except Exception:
                self._log.exception("clearing_listener_failed", bid_id=clearing.bid_key)

    def _forward_due(self) -> None:
        """Hand the exchange every submitted bid whose gate closed, oldest first, each
        submission whole (so that linked blocks travel with their parents)."""
        with session_factory(self.repository.engine)() as session:
            due = session.execute(
                select(
                    BidRow.id,
                    BidRow.tenant_id,
                    BidRow.submission_id,
                    BidRow.document,
                    BidRow.created_at,
                )
                .where(
                    BidRow.status == BidStatus.SUBMITTED.value,
                    BidRow.gate_closure <= self.exchange.now(),
                    published_bids(),
                )
                .order_by(BidRow.created_at, BidRow.submission_id, BidRow.position)
            ).all()
        submissions: dict[str, list[Any]] = {}
        for row in due:
            if row.id not in self.forwarded:
                submissions.setdefault(row.submission_id, []).append(row)
        for rows in submissions.values():
            self._forward_submission(rows)

    def _forward_submission(self, rows: list[Any]) -> None:
        """One submission's due bids, under their store ids, linked blocks re-pointed."""
        store_id = {
            row.document.get("bid_id"): row.id for row in rows if row.document.get("bid_id")
        }
        try:
            bids = []
            for row in rows:
                bid = _BID.validate_python(row.document)
                update: dict[str, Any] = {"bid_id": row.id}
                parent = getattr(bid, "linked_to", None)
                if parent is not None and parent in store_id:
                    update["linked_to"] = store_id[parent]
                bids.append(bid.model_copy(update=update))
            self.exchange.submit_as_of(bids, min(row.created_at for row in rows))
        except (ExchangeError, ValueError) as exc:
            for row in rows:
                self._refuse(row.id, row.tenant_id, str(exc))
            return
        for row in rows:
            self.forwarded[row.id] = row.tenant_id

    def _refuse(self, bid_id: str, tenant: str, reason: str) -> None:
        """The exchange will not hold a stored bid: record it rejected, with the reason."""
        self._log.warning("bid_not_forwarded", bid_id=bid_id, error=reason)
        try:
            self.repository.record_clearing(
                bid_id,
                Actor.system(tenant),
                status="rejected",
                cleared_volume_mw=0.0,
                clearing_price=None,
                remuneration_price=None,
                cleared_at=self.exchange.now(),
                details={"reason": f"refused by the exchange: {reason}"},
            )
        except StoreError as exc:
            self._log.warning("refusal_not_recorded", bid_id=bid_id, error=str(exc))

    def _record(self, tenant: str, clearing: Clearing) -> None:
        volumes = clearing.cleared_volumes_mw
        volume = volumes[0] if len(volumes) == 1 else sum(volumes) / len(volumes)
        accepted = clearing.accepted and volume != 0
        price = clearing.clearing_price_eur_per_mwh
        if price is None:
            price = clearing.capacity_price_eur_per_mw_h
        remuneration = clearing.remuneration_eur_per_mwh
        if remuneration is None:
            remuneration = clearing.remuneration_eur_per_mw_h
        self.repository.record_clearing(
            clearing.bid_key,
            Actor.system(tenant),
            status="accepted" if accepted else "rejected",
            cleared_volume_mw=float(volume) if accepted else 0.0,
            clearing_price=price,
            remuneration_price=remuneration if accepted else None,
            cleared_at=clearing.cleared_at,
            details=clearing.model_dump(
                mode="json",
                include={"market", "pricing", "product_ids", "cleared_volumes_mw", "reason"},
            ),
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:
                self._log.exception("clearing_round_failed")

    def start(self) -> None:
        """Run rounds every `interval_s` in a daemon thread until `stop`."""
        self._thread = threading.Thread(target=self._loop, name="vpp-clearing", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the loop after the current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def serve(
    db_url: str | None,
    host: str,
    port: int,
    prices_dir: Path | None = None,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Clock | None = None,
    engine: bool = True,
    clock_speed: float = 1.0,
    engine_tick_s: float = 1.0,
    fleet: FleetFile | None = None,
    tso: TsoLink | None = None,
    cluster: ZoneRunner | None = None,
) -> None:
    """Upgrade the database to head and serve the API with uvicorn until interrupted.

    `engine`: also run the engine (`trading.engine.service`) on `clock`, which runs
    `clock_speed` simulated seconds per real one; its dispatcher ticks every
    `engine_tick_s` simulated seconds; `fleet`: the Modbus devices of one portfolio
    (`dispatch.fleet_file`), dispatched instead of its embedded simulated fleet; `tso`:
    the TSO's link the pools' aFRR activation comes from (`trading.engine.tso`; None:
    the loopback pattern); `cluster`: the Ray cluster the engine's pools run on as
    partitions (`dispatch.cluster.ray_serve.RayCluster`, joined by the caller; None: in
    process)."""
    import uvicorn

    upgrade(db_url)
    repository = Repository.from_url(db_url)
    clock = clock if clock is not None else SystemClock()
    prices = FolderPrices(prices_dir)
    market_prices = exchange_prices(prices)
    balancing = activation_prices(prices)
    exchange = SimulatedExchange(market_prices, clock, balancing_energy=balancing)
    jobs = JobRunner()
    use_clock(clock.now)  # one clock for the server: the store's own times too
    service = (
        engine_service(
            repository,
            clock,
            market_prices,
            balancing,
            clock_speed,
            engine_tick_s,
            fleet,
            tso,
            cluster,
        )
        if engine
        else None
    )
    app = create_app(repository, clock, prices=prices, jobs=jobs, engine=service)
    # the process's own families (the engine's dispatcher pools, the Python process) and
    # the exchange's clearing counters are this server's too: one scrape shows them all
    exposed = [REGISTRY, EXCHANGE_METRICS_REGISTRY]
    if cluster is not None and hasattr(cluster, "metrics_collector"):
        partitions = CollectorRegistry(auto_describe=False)  # the cluster's, at each scrape
        partitions.register(cluster.metrics_collector())
        exposed.append(partitions)
    app.state.services.metrics.include(*exposed)
    if (metrics_port := VppSettings.from_environ().metrics_port) is not None:
        app.state.services.metrics.serve_on(host, metrics_port)
    queued, failed = recover_plans(repository, app.state.plan_services)
    if queued or failed:
        _LOG.info("plans_recovered", queued_again=queued, failed_interrupted=failed)
    loop = ClearingLoop(repository, exchange, interval_s)
    if service is not None:
        loop.listeners.append(service.on_clearing)
        service.start()
    loop.start()
    sys.setswitchinterval(VppSettings.from_environ().switch_interval_ms / 1000)
    settle_heap()  # last: what start-up built is out of the collector's walks
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        loop.stop()
        if service is not None:
            service.stop()
        jobs.shutdown()
        repository.close()
        use_clock(None)


def engine_service(
    repository: Repository,
    clock: Clock,
    prices: PriceInputs,
    balancing: dict[tuple[str, str], pd.Series] | None,
    speed: float,
    tick_s: float,
    fleet: FleetFile | None = None,
    tso: TsoLink | None = None,
    cluster: ZoneRunner | None = None,
) -> EngineService:
    """The engine on the server's clock and the exchange's prices (not started); `fleet`:
    the Modbus devices of one portfolio instead of its embedded simulated fleet; `tso`:
    the TSO's link (None: the loopback activation pattern); `cluster`: where the pools
    run as partitions (None: in process)."""
    from markets.registry import default_registry
    from trading.engine.live_clock import ServerClock
    from trading.engine.service import EngineService, live_config

    config = live_config(prices, default_registry(), balancing, tick_s=tick_s, speed=speed)
    config = dataclasses.replace(config, fleet=fleet, tso=tso, cluster=cluster)
    return EngineService(repository, ServerClock(clock, speed), config)
