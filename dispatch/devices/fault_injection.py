"""Give a fault kind to a share of a fleet of simulated devices, reproducibly.

Works on any simulated device with an `asset_id` and `inject(fault)` (in-process
`dispatch.inproc.InProcessDevice`, Modbus `dispatch.devices.modbus_sim.SimulatedDevice`):
the devices are sorted by asset id and a seeded sample is drawn, so the same seed picks the
same assets in both simulators and in every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Protocol, TypeVar

from dispatch.devices.faults import Fault


class Injectable(Protocol):
    """A simulated device that can be given a fault and have it removed."""

    asset_id: str

    def inject(self, fault: Fault | str) -> None:
        """Give the device `fault` from now on."""
        ...

    def clear(self) -> None:
        """Remove any fault."""
        ...


D = TypeVar("D", bound=Injectable)


def choose_share(devices: Iterable[D], share: float, seed: int = 0) -> list[D]:
    """A seeded sample of round(share * n) devices (share in [0, 1]), in asset-id order."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share} is not within [0, 1]")
    pool = sorted(devices, key=lambda d: d.asset_id)
    chosen = random.Random(seed).sample(pool, round(share * len(pool)))
    return sorted(chosen, key=lambda d: d.asset_id)


def inject_share(
    devices: Iterable[Injectable], fault: Fault | str, share: float, seed: int = 0
) -> list[str]:
    """Give `fault` to a seeded `share` [0..1] of the devices; the affected asset ids."""
    chosen = choose_share(devices, share, seed)
    for device in chosen:
        device.inject(fault)
    return [device.asset_id for device in chosen]


__all__ = ["Injectable", "choose_share", "inject_share"]
