"""Verified API keys remembered for a few seconds, so a request costs no key lookup.

Every request names its key; looking it up is a database read, which under load costs more
than the rest of authentication. `KeyCache` keeps each verified key's record for `ttl_s`
seconds, keyed by the SHA-256 of the plaintext (the plaintext itself is never held).
Unknown keys are not remembered, so a key made a moment ago works at once. A key revoked
elsewhere (`vpp keys`, another process) may still authenticate reads for up to `ttl_s`;
writes are not affected, because the store checks the key again when it writes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from trading.store import ApiKeyRecord

DEFAULT_TTL_S = 5.0
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

    def forget(self) -> None:
        """Drop every remembered key (e.g. after revoking one in this process)."""
        with self._lock:
            self._known.clear()


def _digest(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).digest()
