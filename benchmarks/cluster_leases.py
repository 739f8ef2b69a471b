"""What partition leases cost the database: one renewal, one acquire, one look at all.

A partition's owner renews its lease every quarter of the TTL (2 s: 2 renewals a second)
and the driver looks at every lease four times a second; each is one statement in its own
transaction. This times N of each on SQLite (a file, WAL, synchronous=FULL: every commit
is an fsync) and on PostgreSQL where it answers, and prints the cost per statement beside
the reference: a cluster of P partitions sends 2 P + 4 statements a second.

Run: ``python benchmarks/cluster_leases.py [--n 300] [--partitions 64]`` (wrap it in
``flock /tmp/vpp-bench.lock`` on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import sqlalchemy as sa

from dispatch.cluster.leases import PartitionLeases
from trading.store import upgrade
from trading.store.engine import create_engine_for
from trading.store.models import PartitionLeaseRow

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def measure(url: str, n: int, partitions: int) -> dict[str, float]:
    """Milliseconds per renew, acquire and all-leases read on the database at `url`."""
    upgrade(url)
    leases = PartitionLeases(create_engine_for(url), PartitionLeaseRow.__table__)
    names = [f"p{k}" for k in range(partitions)]
    leases.ensure(names)
    now = datetime.now(UTC)
    held = [leases.acquire(p, "bench", now, 3600) for p in names]
    started = time.perf_counter()
    for k in range(n):
        lease = held[k % partitions]
        held[k % partitions] = leases.renew(lease, now + timedelta(seconds=k * 1e-3), 3600)
    renew_ms = (time.perf_counter() - started) * 1000 / n
    started = time.perf_counter()
    for k in range(n):
        leases.take_over(
            names[k % partitions], f"b{k}", held[k % partitions].token + k // partitions, now, 3600
        )
    take_ms = (time.perf_counter() - started) * 1000 / n
    started = time.perf_counter()
    for _ in range(n):
        leases.all()
    all_ms = (time.perf_counter() - started) * 1000 / n
    leases.engine.dispose()
    return {
        "renew_ms": round(renew_ms, 3),
        "take_over_ms": round(take_ms, 3),
        "read_all_ms": round(all_ms, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(f"sqlite:///{folder}/leases.sqlite3", args.n, args.partitions)
    print(json.dumps({"backend": "sqlite", "partitions": args.partitions, **sqlite}))
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        print(json.dumps({"backend": "postgresql", "skipped": str(exc).splitlines()[0]}))
        return
    try:
        url = sa.make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"})
        pg = measure(url.render_as_string(hide_password=False), args.n, args.partitions)
        print(json.dumps({"backend": "postgresql", "partitions": args.partitions, **pg}))
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    print(
        "reference: a cluster of P partitions sends 2 P renewals + 4 reads a second "
        "(TTL 2 s, renewed every 0.5 s; leases looked at every 0.25 s)"
    )


if __name__ == "__main__":
    main()
