"""Moving-window counters in memory, without threads of their own.

The `limits` library's in-memory storage starts a timer thread to expire entries every 10 ms
while hits arrive; on a busy server each start waits for the interpreter lock, which stalls
the event loop whenever another thread computes (e.g. the bid writer storing a large batch).
A `MovingWindow` expires lazily instead: each call drops the entries that left its window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

SWEEP_EVERY = 4096
"""Every this many hits, keys whose entries have all expired are forgotten."""


class MovingWindow:
    """At most `limit` hits per key within any `window_s` seconds (thread-safe)."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"limit={limit}, window_s={window_s}: both must be positive")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def hit(self, key: str) -> bool:
        """Count a hit of `key` if the window has room: True; else False (nothing counted)."""
        now = self._clock()
        with self._lock:
            hits = self._current(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._sweep(now)
            return True

    def test(self, key: str) -> bool:
        """Whether one more hit of `key` would be counted (nothing counted)."""
        with self._lock:
            return len(self._current(key, self._clock())) < self.limit

    def reset_in(self, key: str) -> float:
        """Seconds until the oldest hit of `key` leaves the window (0: it has room now)."""
        now = self._clock()
        with self._lock:
            hits = self._current(key, now)
            if len(hits) < self.limit:
                return 0.0
            return max(0.0, hits[0] + self.window_s - now)

    def _current(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        horizon = now - self.window_s
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        horizon = now - self.window_s
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
        self._since_sweep = 0
