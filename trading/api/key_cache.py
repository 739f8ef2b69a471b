"""Verified API keys remembered for a few seconds, so a request costs no key lookup.

Every request names its key; looking it up is a database read, which under load costs more
than the rest of authentication. `KeyCache` keeps each verified key's record for `ttl_s`
seconds, keyed by the SHA-256 of the plaintext (the plaintext itself is never held).
Unknown keys are not remembered, so a key made a moment ago works at once. A key revoked
through this process's API is forgotten at once (`forget`); one revoked elsewhere (`vpp
keys revoke`, another process) may still authenticate reads for up to `ttl_s` (1 s by
default); writes are not affected, because the store checks the key again when it
writes (a revoked key's write is a 401). A key past its expiry is never answered from
the cache.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from trading.store import ApiKeyRecord

DEFAULT_TTL_S = 1.0
"""How long a verified key is trusted without a look-up [s]."""

MAX_ENTRIES = 10_000
"""The cache is emptied when it would hold more keys than this."""


class KeyCache:
    """`verify(plaintext)` through a short-lived memory of verified keys."""

    def __init__(
        self,
        verify: Callable[[str], ApiKeyRecord | None],
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verify = verify
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[bytes, tuple[ApiKeyRecord, float]] = {}

    def cached(self, plaintext: str) -> ApiKeyRecord | None:
        """The key's record if it was verified less than `ttl_s` ago; else None."""
        digest = _digest(plaintext)
        with self._lock:
            entry = self._known.get(digest)
        if entry is None or entry[1] <= self._clock():
            return None
        if entry[0].expires_at is not None and entry[0].expired(datetime.now(UTC)):
            return None
        return entry[0]

    def verify(self, plaintext: str) -> ApiKeyRecord | None:
        """The key's record from the cache, else from `verify` (remembered if valid)."""
        record = self.cached(plaintext)
        if record is not None:
            return record
        record = self._verify(plaintext)
        if record is not None:
            with self._lock:
                if len(self._known) >= MAX_ENTRIES:
                    self._known.clear()
                self._known[_digest(plaintext)] = (record, self._clock() + self._ttl_s)
        return record

    def forget(self, key_id: str | None = None) -> None:
        """Drop the remembered key `key_id` (after revoking it here), or every key (None)."""
        with self._lock:
            if key_id is None:
                self._known.clear()
                return
            for digest in [d for d, (r, _) in self._known.items() if r.id == key_id]:
                del self._known[digest]


def _digest(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).digest()
