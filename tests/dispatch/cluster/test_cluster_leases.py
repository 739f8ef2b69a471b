"""Partition leases: one owner at a time, the fencing token up at every change of owner,
on SQLite and PostgreSQL, against a model and under real concurrent contenders."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cluster_db import BACKENDS, leases_on, migrated_url
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.cluster.leases import Lease, LeaseLostError, PartitionLeases

T0 = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def leases(request: pytest.FixtureRequest, tmp_path) -> Iterator[PartitionLeases]:
    for url in migrated_url(request.param, tmp_path):
        store = leases_on(url)
        store.ensure(["p0", "p1"])
        yield store
        store.engine.dispose()


def test_a_held_lease_is_refused_to_another_until_it_expires(leases: PartitionLeases) -> None:
    a = leases.acquire("p0", "node-a", T0, ttl_s=3)
    assert a is not None
    assert (a.owner, a.token) == ("node-a", 1)
    assert leases.acquire("p0", "node-b", T0 + timedelta(seconds=2.9), ttl_s=3) is None
    b = leases.acquire("p0", "node-b", T0 + timedelta(seconds=3), ttl_s=3)
    assert b is not None
    assert (b.owner, b.token) == ("node-b", 2)
    with pytest.raises(LeaseLostError, match="node-a"):
        leases.renew(a, T0 + timedelta(seconds=3.1), ttl_s=3)
    assert leases.get("p1").token == 0  # other partitions untouched


def test_renewal_keeps_the_token_and_release_frees_without_lowering_it(
    leases: PartitionLeases,
) -> None:
    a = leases.acquire("p0", "node-a", T0, ttl_s=3)
    renewed = leases.renew(a, T0 + timedelta(seconds=2), ttl_s=3)
    assert renewed.token == a.token
    assert renewed.expires_at == T0 + timedelta(seconds=5)
    assert leases.acquire("p0", "node-b", T0 + timedelta(seconds=4), ttl_s=3) is None
    leases.release(renewed, T0 + timedelta(seconds=4))
    b = leases.acquire("p0", "node-b", T0 + timedelta(seconds=4), ttl_s=3)
    assert b.token == a.token + 1
    with pytest.raises(LeaseLostError):
        leases.release(renewed, T0 + timedelta(seconds=5))


def test_take_over_needs_the_token_the_caller_saw(leases: PartitionLeases) -> None:
    a = leases.acquire("p0", "node-a", T0, ttl_s=30)
    b = leases.take_over("p0", "node-b", a.token, T0 + timedelta(seconds=1), ttl_s=30)
    assert (b.owner, b.token) == ("node-b", a.token + 1)
    assert leases.take_over("p0", "node-c", a.token, T0 + timedelta(seconds=1), ttl_s=30) is None
    assert leases.get("p0").owner == "node-b"


def test_bad_arguments_are_named(leases: PartitionLeases) -> None:
    with pytest.raises(ValueError, match="time zone"):
        leases.acquire("p0", "a", datetime(2026, 6, 13, 10), ttl_s=3)
    with pytest.raises(ValueError, match="ttl_s=0"):
        leases.acquire("p0", "a", T0, ttl_s=0)
    with pytest.raises(KeyError, match="nope"):
        leases.acquire("nope", "a", T0, ttl_s=3)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "renew", "release", "take_over"]),
        st.sampled_from(["a", "b", "c"]),
        st.floats(min_value=0.0, max_value=2.0),  # seconds the clock moves first
    ),
    max_size=25,
)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_leases(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[PartitionLeases]:
    """One migrated database per backend for every example of the model test."""
    for url in migrated_url(request.param, tmp_path_factory.mktemp("leases")):
        store = leases_on(url)
        yield store
        store.engine.dispose()


@settings(max_examples=40, deadline=None)
@given(ops=OPS)
def test_leases_follow_the_one_owner_model(shared_leases: PartitionLeases, ops) -> None:
    """Random operations of three contenders against a plain model of a lease: the store
    agrees with it at every step, one owner at a time, and the token rises by exactly one
    at every change of owner."""
    partition = f"p-{uuid.uuid4().hex[:12]}"  # a fresh lease per example
    shared_leases.ensure([partition])
    _check_against_model(shared_leases, partition, ops)


def _check_against_model(store: PartitionLeases, p: str, ops: list[tuple[str, str, float]]) -> None:
    ttl = 1.5
    now = T0
    owner: str | None = None
    token = 0
    expires = T0
    held: dict[str, Lease] = {}
    for op, who, step in ops:
        now += timedelta(seconds=round(step, 3))
        free = owner is None or expires <= now
        if op == "acquire":
            got = store.acquire(p, who, now, ttl)
            if free:
                token, owner, expires = token + 1, who, now + timedelta(seconds=ttl)
                assert (got.owner, got.token) == (who, token)
            elif owner == who:
                expires = now + timedelta(seconds=ttl)
                assert (got.owner, got.token) == (who, token)
            else:
                assert got is None
            if got is not None:
                held[who] = got
        elif op == "renew" and who in held:
            mine = held[who]
            if mine.token == token and owner == who and expires > now:
                held[who] = store.renew(mine, now, ttl)
                expires = now + timedelta(seconds=ttl)
            else:
                with pytest.raises(LeaseLostError):
                    store.renew(mine, now, ttl)
        elif op == "release" and who in held:
            mine = held.pop(who)
            if mine.token == token and owner == who:
                store.release(mine, now)
                owner, expires = None, now
            else:
                with pytest.raises(LeaseLostError):
                    store.release(mine, now)
        elif op == "take_over":
            got = store.take_over(p, who, token, now, ttl)
            token, owner, expires = token + 1, who, now + timedelta(seconds=ttl)
            assert (got.owner, got.token) == (who, token)
            held[who] = got
        stored = store.get(p)
        assert stored.token == token
        assert stored.held_at(now) == (owner is not None and expires > now)
        if stored.held_at(now):
            assert stored.owner == owner


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_contenders_never_share_a_partition(backend: str, tmp_path) -> None:
    """Eight threads, each on its own connection, race for one partition in 12 rounds;
    each round the lease has expired. Exactly one wins each round, and the winners' tokens
    are 1, 2, ..., 12: never two owners of one token, never a token reused."""
    for url in migrated_url(backend, tmp_path):
        stores = [leases_on(url) for _ in range(8)]
        try:
            stores[0].ensure(["p"])
            winners = [_race(stores, T0 + timedelta(seconds=10 * r)) for r in range(12)]
        finally:
            for store in stores:
                store.engine.dispose()
        assert [len(w) for w in winners] == [1] * 12
        assert [w[0].token for w in winners] == list(range(1, 13))


def _race(stores: list[PartitionLeases], now: datetime) -> list[Lease]:
    """Every store tries to acquire "p" at `now`, released at once by a barrier."""
    barrier = threading.Barrier(len(stores))
    won: list[Lease] = []
    lock = threading.Lock()

    def contend(i: int) -> None:
        barrier.wait()
        got = stores[i].acquire("p", f"node-{i}", now, ttl_s=5)
        if got is not None:
            with lock:
                won.append(got)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return won
