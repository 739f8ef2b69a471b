"""Partition leases with fencing tokens, held in the engine's database.

A partition of the fleet has at most one owner at a time: the controller holding its
lease. Every operation is ONE conditional ``UPDATE`` (compare-and-set on the row), so it is
atomic on SQLite (the write lock serialises writers) and on PostgreSQL (a concurrent
``UPDATE`` of the same row waits, then re-checks its ``WHERE`` on the row the other one
committed); nothing is read first and written after.

- `acquire`: take a free lease (never taken, released, or expired at `now`); the token
  goes up by one. The owner already holding it just renews.
- `renew`: extend the owner's lease by the TTL; fails (`LeaseLostError`) once it expired
  or another took it: the owner must stop commanding at once.
- `release`: give it up (a handover); the token stays, the next owner raises it.
- `take_over`: take it whoever holds it, if its token is still the one the caller saw
  (an operator's or a coordinator's decision that the owner is gone, before the TTL).

The fencing token, not the clock, keeps two owners from both commanding an asset: clocks
of two machines may disagree about expiry, but a device that refuses tokens lower than the
highest it has seen (`dispatch.devices.fencing`) takes commands from the newest owner only.

The table is given by the caller (`trading.store.models.PartitionLeaseRow.__table__`):
the dispatcher does not import the trading layer. `now` is tz-aware UTC; TTL in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine, Table
from sqlalchemy.exc import IntegrityError


class LeaseLostError(RuntimeError):
    """The caller no longer holds the lease it tried to renew or release."""

    def __init__(self, partition: str, owner: str, token: int, reason: str) -> None:
        super().__init__(f"partition {partition}: {owner} (token {token}) {reason}")
        self.partition = partition
        self.owner = owner
        self.token = token


@dataclass(frozen=True)
class Lease:
    """A partition's lease as stored: owner (None: free), fencing token, times (UTC)."""

    partition: str
    owner: str | None
    token: int
    acquired_at: datetime | None
    renewed_at: datetime | None
    expires_at: datetime | None

    def held_at(self, now: datetime) -> bool:
        """True if an owner holds it at `now`."""
        return self.owner is not None and self.expires_at is not None and self.expires_at > now


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now={now.isoformat()} has no time zone; leases take aware UTC times")
    return now


def _ttl(ttl_s: float) -> timedelta:
    if not ttl_s > 0:
        raise ValueError(f"ttl_s={ttl_s}: a lease's time to live must be > 0 s")
    return timedelta(seconds=ttl_s)


class PartitionLeases:
    """The lease operations on `table` (see the module docstring) over `engine`."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self.engine = engine
        self.table = table
        self.statements = 0
        """Statements sent to the database by this object (lease traffic, for docs/scale)."""

    def ensure(self, partitions: Sequence[str]) -> None:
        """Create a free lease row (token 0) for each partition that has none."""
        t = self.table
        for partition in partitions:
            try:
                with self.engine.begin() as connection:
                    self.statements += 1
                    connection.execute(t.insert().values(partition=partition, owner=None, token=0))
            except IntegrityError:
                pass  # another process made it first: the same free row

    def acquire(self, partition: str, owner: str, now: datetime, ttl_s: float) -> Lease | None:
        """Take `partition` for `owner` if it is free at `now`; the lease, or None if another
        owner holds it. Raises `KeyError` for a partition without a row (`ensure` first)."""
        t, now, ttl = self.table, _aware(now), _ttl(ttl_s)
        free = sa.or_(t.c.owner.is_(None), t.c.expires_at <= now)
        taken = self._update(
            sa.and_(t.c.partition == partition, free),
            owner=owner,
            token=t.c.token + 1,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + ttl,
        )
        if taken is not None:
            return taken
        mine = self._update(  # already ours and live: a renewal, same token
            sa.and_(t.c.partition == partition, t.c.owner == owner, t.c.expires_at > now),
            renewed_at=now,
            expires_at=now + ttl,
        )
        if mine is not None:
            return mine
        if self.get(partition) is None:
            raise KeyError(f"partition {partition!r} has no lease row; call ensure() first")
        return None

    def renew(self, lease: Lease, now: datetime, ttl_s: float) -> Lease:
        """Extend `lease` to `now` + TTL; `LeaseLostError` if it expired or changed owner."""
        t, now, ttl = self.table, _aware(now), _ttl(ttl_s)
        renewed = self._update(
            sa.and_(
                t.c.partition == lease.partition,
                t.c.owner == lease.owner,
                t.c.token == lease.token,
                t.c.expires_at > now,
            ),
            renewed_at=now,
            expires_at=now + ttl,
        )
        if renewed is None:
            raise LeaseLostError(
                lease.partition, str(lease.owner), lease.token, "lost the lease: expired or taken"
            )
        return renewed

    def release(self, lease: Lease, now: datetime) -> None:
        """Give `lease` up at `now` (the token stays; the next owner raises it).
        `LeaseLostError` if it was no longer held by this owner with this token."""
        t, now = self.table, _aware(now)
        released = self._update(
            sa.and_(
                t.c.partition == lease.partition,
                t.c.owner == lease.owner,
                t.c.token == lease.token,
            ),
            owner=None,
            expires_at=now,
        )
        if released is None:
            raise LeaseLostError(
                lease.partition, str(lease.owner), lease.token, "cannot release: not its lease"
            )

    def take_over(
        self, partition: str, owner: str, seen_token: int, now: datetime, ttl_s: float
    ) -> Lease | None:
        """Take `partition` for `owner` whoever holds it, if its token is still `seen_token`;
        the new lease (token + 1), or None if it changed since it was seen."""
        t, now, ttl = self.table, _aware(now), _ttl(ttl_s)
        return self._update(
            sa.and_(t.c.partition == partition, t.c.token == seen_token),
            owner=owner,
            token=t.c.token + 1,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + ttl,
        )

    def get(self, partition: str) -> Lease | None:
        """The stored lease of `partition`, None if it has no row."""
        t = self.table
        with self.engine.connect() as connection:
            self.statements += 1
            row = connection.execute(sa.select(t).where(t.c.partition == partition)).first()
        return None if row is None else _lease(row)

    def all(self) -> list[Lease]:
        """Every partition's lease, by partition id."""
        t = self.table
        with self.engine.connect() as connection:
            self.statements += 1
            rows = connection.execute(sa.select(t).order_by(t.c.partition)).all()
        return [_lease(row) for row in rows]

    def _update(self, where: sa.ColumnElement[bool], **values: object) -> Lease | None:
        """One conditional UPDATE ... RETURNING: the row as changed, or None if none matched."""
        t = self.table
        with self.engine.begin() as connection:
            self.statements += 1
            row = connection.execute(t.update().where(where).values(**values).returning(t)).first()
        return None if row is None else _lease(row)


def _lease(row: sa.Row[tuple[object, ...]]) -> Lease:
    m = row._mapping
    return Lease(
        partition=str(m["partition"]),
        owner=None if m["owner"] is None else str(m["owner"]),
        token=int(m["token"]),  # type: ignore[call-overload]
        acquired_at=m["acquired_at"],  # type: ignore[arg-type]
        renewed_at=m["renewed_at"],  # type: ignore[arg-type]
        expires_at=m["expires_at"],  # type: ignore[arg-type]
    )


__all__ = ["Lease", "LeaseLostError", "PartitionLeases"]
