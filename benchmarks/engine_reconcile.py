"""Cost of the engine's position-book reconciliation (`EngineService.reconcile`) for a
tenant holding many accepted bids.

On a temp SQLite file by default, or ``--db URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, migrated to head; a fresh tenant
each run), it stores ``--bids`` day-ahead single bids of one tenant (96 per submission,
from 2026-01-01 on) through `Repository.add_bids`, then marks them all accepted in one
transaction (a clearing row each with the details the `ClearingLoop` stores, and the
bid's status; the benchmark's shortcut past `record_clearing`'s one transaction and
audit row per bid). Then it measures:

1. the first reconciliation: every bid read back, converted (`entries_of`) and booked [s];
2. ``--rounds`` reconciliations with everything booked: the engine's steady state, run
   every round (every second) per tenant [ms, p50 and max];
3. the same with one accepted bid not yet booked each round [ms].

Prints the machine's core count, the options, the positions stored and the figures
beside the reference: the engine's round, one every 1 s.

Run: ``python benchmarks/engine_reconcile.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
from sqlalchemy import select, update

from dispatch.clock import VirtualClock
from markets.bids import SingleBid
from markets.registry import default_registry
from regulatory import read_portfolio
from trading.api.jobs import FolderPrices
from trading.api.server import exchange_prices
from trading.api.submission import resolve_products
from trading.engine.live_books import LiveConfig
from trading.engine.service import EngineService, TenantEngine
from trading.samples import sample_portfolio_path
from trading.store import Actor, Repository, session_factory, upgrade
from trading.store.models import BidRow, ClearingRow, PositionRow

FIRST = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Berlin
ROUND_S = 1.0
"""The engine's round [real s] (`EngineService.discover_s`): the reference."""


def _portfolio(tenant: str) -> dict[str, object]:
    portfolio = read_portfolio(sample_portfolio_path())
    sites = tuple(s for s in portfolio.sites if s.id == "de-amp-essen")
    part = portfolio.model_copy(
        update={
            "id": "essen",
            "tenant": tenant,
            "sites": sites,
            "assets": tuple(a for a in portfolio.assets if a.site == "de-amp-essen"),
        }
    )
    return part.model_dump(mode="json", exclude_none=True)


def _store_bids(repository: Repository, tenant: str, count: int, offset: int = 0) -> None:
    registry = default_registry()
    for first in range(offset, offset + count, 96):
        bids = [
            SingleBid(
                product_id=f"DE:day_ahead:SDAC:{FIRST + timedelta(minutes=15 * k):%Y-%m-%dT%H:%M}Z",
                volume_mw=1.0 + (k % 7) / 10,
                price_eur_per_mwh=50.0,
            )
            for k in range(first, min(first + 96, offset + count))
        ]
        resolved, unknown = resolve_products(registry, bids)
        assert not unknown, unknown
        repository.add_bids(
            tenant,
            None,
            [b for b in resolved if b is not None],
            f"bench-{uuid.uuid4().hex}",
            at=FIRST - timedelta(days=2),
        )


def _accept_all(repository: Repository, tenant: str) -> int:
    """Every submitted bid of the tenant accepted at its limit (see the module docstring)."""
    now = datetime.now(UTC)
    with session_factory(repository.engine)() as session, session.begin():
        rows = session.execute(
            select(BidRow.id, BidRow.document).where(
                BidRow.tenant_id == tenant, BidRow.status == "submitted"
            )
        ).all()
        for row in rows:
            volume = float(row.document["volume_mw"])
            session.add(
                ClearingRow(
                    bid_id=row.id,
                    status="accepted",
                    cleared_volume_mw=volume,
                    clearing_price=50.0,
                    remuneration_price=50.0,
                    cleared_at=now,
                    recorded_at=now,
                    details={
                        "market": "day_ahead",
                        "pricing": "pay_as_cleared",
                        "product_ids": [row.document["product_id"]],
                        "cleared_volumes_mw": [volume],
                        "reason": "benchmark",
                    },
                )
            )
        session.execute(
            update(BidRow)
            .where(BidRow.tenant_id == tenant, BidRow.status == "submitted")
            .values(status="accepted")
        )
    return len(rows)


def _figures(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, max {max(values):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--bids", type=int, default=5000, help="accepted bids of the tenant")
    parser.add_argument("--rounds", type=int, default=20, help="steady-state rounds timed")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.db or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        repository = Repository.from_url(url)
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        repository.create_tenant(tenant, "Benchmark")
        repository.save_portfolio(Actor.system(tenant), _portfolio(tenant))
        _store_bids(repository, tenant, options.bids)
        accepted = _accept_all(repository, tenant)
        config = LiveConfig(prices=exchange_prices(FolderPrices()), registry=default_registry())
        service = EngineService(repository, VirtualClock(FIRST), config)
        engine = TenantEngine(tenant, "essen", 1)

        started = time.perf_counter()
        first = service.reconcile(engine)
        first_s = time.perf_counter() - started
        steady = []
        for _ in range(options.rounds):
            started = time.perf_counter()
            assert service.reconcile(engine) == 0
            steady.append((time.perf_counter() - started) * 1000)
        one_new = []
        for k in range(options.rounds):
            _store_bids(repository, tenant, 1, offset=options.bids + k)
            _accept_all(repository, tenant)
            started = time.perf_counter()
            assert service.reconcile(engine) == 1
            one_new.append((time.perf_counter() - started) * 1000)
        with session_factory(repository.engine)() as session:
            stored = len(session.scalars(select(PositionRow.id)).all())
        repository.close()
    backend = url.split(":", 1)[0]
    print(f"cores: {os.cpu_count()}; database: {backend}; bids accepted: {accepted}")
    print(f"reference: the engine reconciles each tenant once a round, every {ROUND_S:g} s")
    print(f"first reconciliation (all {first} booked): {first_s:.2f} s")
    print(f"steady state, nothing to book ({options.rounds} rounds): {_figures(steady)}")
    print(f"one new clearing a round ({options.rounds} rounds): {_figures(one_new)}")
    print(f"positions stored: {stored} (expected {accepted + options.rounds})")


if __name__ == "__main__":
    main()
