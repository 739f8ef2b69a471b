"""The telemetry board: each actor posts its asset's latest reading and state; the pool
controller takes a snapshot per tick that does not change while the tick computes.

Single event loop, no locks: actors `post` between ticks; `snapshot` copies the current
entries into an immutable mapping, so readings that arrive while a tick computes go into
the next tick.

A reading is *fresh* only while it can still count as delivery: it was the answer to the
asset's latest read attempt (a failed read makes the previous one stale at once) and it is
no older than the pool's deadline (`BoardEntry.fresh`). A stale or missing reading is
never counted as measured power: the asset's contribution is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dispatch.device import Telemetry


@dataclass(frozen=True)
class BoardEntry:
    """What the pool knows of an asset: its latest reading (None before the first), when
    it was read (`read_t`, monotonic [s], None before the first), whether the latest read
    attempt failed (`last_read_failed`), and whether it may be given setpoints (`in_pool`),
    with its state's name."""

    asset_id: str
    telemetry: Telemetry | None
    state: str
    in_pool: bool
    read_t: float | None = None
    last_read_failed: bool = False

    def fresh(self, t: float, max_age_s: float) -> bool:
        """True if the reading may count as the asset's power at `t` [s]: there is one,
        the latest read attempt succeeded, it is at most `max_age_s` [s] old, and the asset
        is not quarantined (what a mismatched map decodes is not a measurement)."""
        return (
            self.telemetry is not None
            and self.read_t is not None
            and not self.last_read_failed
            and t - self.read_t <= max_age_s
            and self.state != "quarantined"
        )


class TelemetryBoard:
    """Latest `BoardEntry` per asset."""

    def __init__(self) -> None:
        self._entries: dict[str, BoardEntry] = {}

    def post(self, entry: BoardEntry) -> None:
        """Replace the asset's entry."""
        self._entries[entry.asset_id] = entry

    def __len__(self) -> int:
        """How many assets have posted (each actor posts at the end of every turn)."""
        return len(self._entries)

    def get(self, asset_id: str) -> BoardEntry | None:
        """The asset's current entry (no copy), or None before its first post."""
        return self._entries.get(asset_id)

    def snapshot(self) -> Mapping[str, BoardEntry]:
        """A frozen copy of every entry, for one tick."""
        return MappingProxyType(dict(self._entries))
