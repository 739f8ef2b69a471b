"""Balancing activations: how much more (or less) the TSO asks the pool to inject right now.

An `ActivationSource` answers `activation_mw(t)` [MW, + = more injection (upward), - =
less (downward)] at monotonic time `t` [s]. The real one will read the TSO's setpoint (aFRR
over IEC 60870-5-104 or the TSO's interface); `SimulatedTsoSignal` stands in for it: a
bounded random walk whose value changes every 1 to 4 seconds, as an aFRR setpoint does,
reproducible from its seed.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import Protocol, runtime_checkable


@runtime_checkable
class ActivationSource(Protocol):
    """The TSO's current activation request for the pool."""

    def activation_mw(self, t: float) -> float:
        """Requested deviation from the schedule at `t` [MW], + upward, - downward."""
        ...


class NoActivation:
    """No balancing activation: the pool follows its schedule only."""

    def activation_mw(self, t: float) -> float:
        """Always 0 MW."""
        return 0.0


class SimulatedTsoSignal:
    """A reproducible aFRR-like signal within [-`down_mw`, +`up_mw`].

    The value holds for 1 to 4 s (uniform), then moves by a random step of up to
    `step_share` of the band, clipped to the band. `t` [s] may be asked in any order; the
    path is generated lazily and cached, so asking again gives the same value.
    """

    def __init__(
        self,
        up_mw: float,
        down_mw: float,
        *,
        seed: int = 0,
        step_share: float = 0.05,
        min_hold_s: float = 1.0,
        max_hold_s: float = 4.0,
    ) -> None:
        if up_mw < 0 or down_mw < 0:
            raise ValueError(f"bands must be >= 0 MW: up_mw={up_mw}, down_mw={down_mw}")
        if not 0 < min_hold_s <= max_hold_s:
            raise ValueError(f"need 0 < min_hold_s <= max_hold_s, got {min_hold_s}, {max_hold_s}")
        self.up_mw, self.down_mw = up_mw, down_mw
        self._random = random.Random(seed)
        self._step = step_share * max(up_mw, down_mw)
        self._hold = (min_hold_s, max_hold_s)
        self._times: list[float] = [0.0]
        self._values: list[float] = [0.0]

    def activation_mw(self, t: float) -> float:
        """The signal's value at `t` [MW] (0 before t = 0)."""
        if t < 0:
            return 0.0
        while self._times[-1] <= t:
            self._extend()
        return self._values[bisect_right(self._times, t) - 1]

    def _extend(self) -> None:
        at = self._times[-1] + self._random.uniform(*self._hold)
        moved = self._values[-1] + self._random.uniform(-self._step, self._step)
        self._times.append(at)
        self._values.append(min(self.up_mw, max(-self.down_mw, moved)))
