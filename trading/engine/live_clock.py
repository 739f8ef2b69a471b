"""The dispatcher's clock inside `vpp serve`: the server's own clock, seen as a `DispatchClock`.

The API, the store and the simulated exchange read one `trading.exchange.clock.Clock`
(the machine's, or a `ScaledClock` from ``--clock-start/--clock-speed``). The engine's
dispatcher needs seconds and a way to sleep on the same time line: `ServerClock` gives
both from that clock, so a bid's gate, the schedule's quarter hours and the meters'
ISP boundaries are one and the same instant. It never runs backwards (a wall clock
stepped back by NTP holds still until it has caught up), because the meters integrate
forward in time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from trading.exchange.clock import Clock


class ServerClock:
    """Seconds since construction on `clock`'s time line, which runs `speed` simulated
    seconds per real second (1 for the machine's clock)."""

    def __init__(self, clock: Clock, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed={speed}: must be > 0 (simulated seconds per real second)")
        self.clock = clock
        self.speed = speed
        self._anchor = clock.now()
        self._last = 0.0

    def now(self) -> float:
        """Simulated seconds since this clock was made (never decreasing)."""
        self._last = max(self._last, (self.clock.now() - self._anchor).total_seconds())
        return self._last

    def utc(self) -> datetime:
        """The server clock's instant (UTC)."""
        return self.clock.now()

    def seconds_at(self, at: datetime) -> float:
        """The instant `at` (tz-aware) on this clock's seconds axis."""
        return (at - self._anchor).total_seconds()

    async def sleep_until(self, t: float) -> None:
        """Sleep the real time it takes the server's clock to reach `t`."""
        delay = (t - self.now()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)
