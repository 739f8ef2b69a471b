"""KeyCache: a verified key is trusted for its time, an unknown one is never remembered."""

from __future__ import annotations

from datetime import UTC, datetime

from trading.api.key_cache import MAX_ENTRIES, KeyCache
from trading.store import ApiKeyRecord, Role

RECORD = ApiKeyRecord(
    id="k1",
    tenant_id="acme",
    role=Role.TRADER,
    name="desk",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    revoked_at=None,
)


class Lookups:
    """A key store that counts look-ups; `valid` holds the keys it knows."""

    def __init__(self, *valid: str) -> None:
        self.valid = set(valid)
        self.calls = 0

    def __call__(self, plaintext: str) -> ApiKeyRecord | None:
        self.calls += 1
        return RECORD if plaintext in self.valid else None


def test_a_verified_key_is_trusted_for_its_time_then_looked_up_again() -> None:
    now = [100.0]
    lookups = Lookups("good")
    cache = KeyCache(lookups, ttl_s=5, clock=lambda: now[0])
    assert cache.verify("good") == RECORD
    now[0] += 4.9
    assert cache.verify("good") == RECORD
    assert lookups.calls == 1
    lookups.valid.clear()  # revoked elsewhere
    now[0] += 0.2
    assert cache.cached("good") is None
    assert cache.verify("good") is None
    assert lookups.calls == 2


def test_unknown_keys_are_looked_up_every_time() -> None:
    lookups = Lookups()
    cache = KeyCache(lookups, ttl_s=5)
    assert cache.verify("bad") is None
    lookups.valid.add("bad")  # created a moment later: works at once
    assert cache.verify("bad") == RECORD
    assert lookups.calls == 2


def test_a_zero_time_looks_up_every_request_and_forget_empties_it() -> None:
    lookups = Lookups("good")
    cache = KeyCache(lookups, ttl_s=0)
    cache.verify("good")
    cache.verify("good")
    assert lookups.calls == 2
    remembering = KeyCache(lookups, ttl_s=60)
    remembering.verify("good")
    remembering.forget()
    remembering.verify("good")
    assert lookups.calls == 4


def test_the_cache_never_grows_past_its_bound() -> None:
    lookups = Lookups(*(f"key-{n}" for n in range(MAX_ENTRIES + 10)))
    cache = KeyCache(lookups, ttl_s=60)
    for n in range(MAX_ENTRIES + 10):
        cache.verify(f"key-{n}")
    assert len(cache._known) <= MAX_ENTRIES
