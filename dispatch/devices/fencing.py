"""Fencing at the device: a command carries its partition's lease token, and the device
takes none older than the newest it has seen.

A controller whose lease was taken (a network split, a paused process, a restart
elsewhere) may still believe it owns its partition and keep sending setpoints. The lease
alone cannot stop that: only the side that executes can. Each command therefore carries a
`Fence` (partition, fencing token, owner), and the device's `FenceGuard` remembers, per
partition, the highest token it has accepted and refuses (`DeviceFencedError`) any
command with a lower one, counting refusals. Once it has seen a token it also refuses
commands carrying none. A device never fenced (the embedded, single-process default)
takes commands without a fence as before.

The guard also books, from the device's side, every command that reached the device from
an owner older than one it had already taken commands from (`double_commands`): with the
guard enforcing this is 0; with `enforce=False` (a device without fencing) it counts what
a split brain would have done to the asset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.device import DeviceRefusedError


@dataclass(frozen=True)
class Fence:
    """What a command carries: its partition, the owner's fencing token and the owner."""

    partition: str
    token: int
    owner: str


class DeviceFencedError(DeviceRefusedError):
    """The command carried an older fencing token than one the device has accepted (or
    none, after a fenced one): its sender no longer owns the asset. Nothing was executed."""


@dataclass
class FenceHolder:
    """The fence a partition's actors put on their commands now (set by the partition
    runner whenever it acquires or loses its lease; None: send unfenced)."""

    current: Fence | None = None


@dataclass
class FenceGuard:
    """A device's memory of fencing tokens (see the module docstring)."""

    asset_id: str
    enforce: bool = True
    highest: dict[str, int] = field(default_factory=dict)
    """Per partition, the highest token accepted."""
    refused: int = 0
    """Commands refused for an older token (or none after a fenced one)."""
    accepted: int = 0
    double_commands: int = 0
    """Commands executed although a newer owner had already commanded this asset."""
    owners: list[tuple[str, int, str]] = field(default_factory=list)
    """Each change of the commanding owner, in order: (partition, token, owner)."""

    def admit(self, fence: Fence | None) -> None:
        """Let a command with `fence` through, or raise `DeviceFencedError` (counted)."""
        if fence is None:
            if self.highest and self.enforce:
                self.refused += 1
                raise DeviceFencedError(
                    self.asset_id, "command without a fencing token after fenced commands"
                )
            self.accepted += 1
            return
        newest = self.highest.get(fence.partition)
        if newest is not None and fence.token < newest:
            if self.enforce:
                self.refused += 1
                raise DeviceFencedError(
                    self.asset_id,
                    f"fencing token {fence.token} of partition {fence.partition} "
                    f"({fence.owner}) is older than {newest}",
                )
            self.double_commands += 1
        self.accepted += 1
        if newest is None or fence.token > newest:
            self.highest[fence.partition] = fence.token
        last = self.owners[-1] if self.owners else None
        if last != (fence.partition, fence.token, fence.owner):
            self.owners.append((fence.partition, fence.token, fence.owner))


__all__ = ["DeviceFencedError", "Fence", "FenceGuard", "FenceHolder"]
