"""The telemetry board: each actor posts its asset's latest reading and state; the pool
controller takes a snapshot per tick that does not change while the tick computes.

Single event loop, no locks: actors `post` between ticks; `snapshot` copies the current
entries into an immutable mapping, so readings that arrive while a tick computes go into
the next tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dispatch.device import Telemetry


@dataclass(frozen=True)
class BoardEntry:
    """What the pool knows of an asset: its latest reading (None before the first) and
    whether it may be given setpoints (`in_pool`), with its state's name."""

    asset_id: str
    telemetry: Telemetry | None
    state: str
    in_pool: bool


class TelemetryBoard:
    """Latest `BoardEntry` per asset."""

    def __init__(self) -> None:
        self._entries: dict[str, BoardEntry] = {}

    def post(self, entry: BoardEntry) -> None:
        """Replace the asset's entry."""
        self._entries[entry.asset_id] = entry

    def snapshot(self) -> Mapping[str, BoardEntry]:
        """A frozen copy of every entry, for one tick."""
        return MappingProxyType(dict(self._entries))
