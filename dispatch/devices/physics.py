"""Clock-free device physics, stepped by the caller with dt [s].

Pure state machines on plain floats: no clock, no I/O, no allocation per step, so one
process can step 10,000 of them. Units: MW, MWh, s, MW/s; power sign + injection into the
grid (battery discharge, generation), - consumption (battery charging).

Every device follows a setpoint the same way: a new setpoint waits `dead_time_s` before it
starts to act (a newer one replaces a waiting one), then the power ramps towards the target
at `ramp_mw_per_s`.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def ramp_towards(current: float, target: float, max_step: float) -> float:
    """`current` moved towards `target` by at most `max_step` (>= 0)."""
    if target > current:
        return min(target, current + max_step)
    return max(target, current - max_step)


class _Follower:
    """Dead time + ramp towards a target [MW]; the part all devices share."""

    __slots__ = (
        "_pending",
        "_wait",
        "dead_time_s",
        "held",
        "power_mw",
        "ramp_mw_per_s",
        "target_mw",
        "tripped",
    )

    def __init__(self, ramp_mw_per_s: float, dead_time_s: float) -> None:
        self.ramp_mw_per_s = ramp_mw_per_s
        self.dead_time_s = dead_time_s
        self.power_mw = 0.0
        self.target_mw = 0.0
        self._pending: float | None = None
        self._wait = 0.0
        self.tripped = False
        self.held = False

    def set_setpoint(self, setpoint_mw: float) -> None:
        """Command a new setpoint [MW]; it acts after the dead time (ignored while tripped
        or held)."""
        if self.tripped or self.held:
            return
        self._pending = setpoint_mw
        self._wait = self.dead_time_s

    def trip(self) -> None:
        """Protection trips: power 0 MW at once, setpoints ignored until `reset`."""
        self.tripped = True
        self.power_mw = 0.0
        self.target_mw = 0.0
        self._pending = None

    def reset(self) -> None:
        """Back from a trip, idle at 0 MW until the next setpoint."""
        self.tripped = False

    def hold(self) -> None:
        """Freeze the power where it is: a waiting setpoint is dropped, new ones ignored, no
        ramping until `release` (a battery still stops at SoC 0 or 1, PV still follows the
        sun down: those are physics, not control)."""
        self.held = True
        self._pending = None
        self.target_mw = self.power_mw

    def release(self) -> None:
        """Follow setpoints again (from the power it holds)."""
        self.held = False

    def _rate(self) -> float:
        """The ramp rate in force [MW/s]: 0 while held."""
        return 0.0 if self.held else self.ramp_mw_per_s

    def _advance(self, dt: float) -> float:
        """Consume the dead time; returns the part of dt [s] left for ramping."""
        if self._pending is None:
            return dt
        self._wait -= dt
        if self._wait > 0.0:
            return 0.0
        self.target_mw = self._pending
        self._pending = None
        return -self._wait


class Battery(_Follower):
    """Battery: limits [MW], energy [MWh], SoC [0..1], efficiencies, ramp, dead time.

    `max_mw` > 0 is the discharge limit, `min_mw` < 0 the charge limit. Stored energy changes
    by -P * dt / eta_discharge when discharging and by -P * dt * eta_charge when charging.
    Power stops at SoC 0 (no discharge) and SoC 1 (no charge).
    """

    __slots__ = ("capacity_mwh", "eta_charge", "eta_discharge", "max_mw", "min_mw", "soc")

    def __init__(
        self,
        max_mw: float,
        min_mw: float,
        capacity_mwh: float,
        soc: float = 0.5,
        eta_charge: float = 0.95,
        eta_discharge: float = 0.95,
        ramp_mw_per_s: float = 1.0,
        dead_time_s: float = 0.2,
    ) -> None:
        super().__init__(ramp_mw_per_s, dead_time_s)
        self.max_mw = max_mw
        self.min_mw = min_mw
        self.capacity_mwh = capacity_mwh
        self.soc = soc
        self.eta_charge = eta_charge
        self.eta_discharge = eta_discharge

    def step(self, dt: float) -> None:
        """Advance dt [s]. The stored energy follows the power's path through the step: held
        during the dead time, ramping, then at the target (a step of seconds in which the
        power reverses would otherwise be counted at its final power throughout)."""
        ramp_dt = self._advance(dt)
        target = min(self.max_mw, max(self.min_mw, self.target_mw))
        if (self.soc <= 0.0 and target > 0.0) or (self.soc >= 1.0 and target < 0.0):
            target = 0.0  # empty: no discharge; full: no charge
        start = self.power_mw
        rate = self._rate()
        self.power_mw = ramp_towards(start, target, rate * ramp_dt)
        ramping = min(ramp_dt, abs(self.power_mw - start) / rate) if rate > 0.0 else 0.0
        energy = (
            self._stored_mwh(start, start, dt - ramp_dt)
            + self._stored_mwh(start, self.power_mw, ramping)
            + self._stored_mwh(self.power_mw, self.power_mw, ramp_dt - ramping)
        )
        soc = self.soc + energy / self.capacity_mwh
        if soc <= 0.0 or soc >= 1.0:
            self.power_mw = 0.0
            soc = 0.0 if soc <= 0.0 else 1.0
        self.soc = soc

    def _stored_mwh(self, p0: float, p1: float, seconds: float) -> float:
        """Change of stored energy [MWh] while the power moves linearly from `p0` to `p1`
        [MW, + discharge] over `seconds`: -P/eta_discharge while discharging, -P*eta_charge
        while charging (split where the power crosses 0)."""
        if seconds <= 0.0:
            return 0.0
        if p0 * p1 < 0.0:  # crosses 0: each side at its own efficiency
            at = seconds * p0 / (p0 - p1)
            return self._stored_mwh(p0, 0.0, at) + self._stored_mwh(0.0, p1, seconds - at)
        mean = 0.5 * (p0 + p1)
        hours = seconds / 3600.0
        if mean > 0.0:
            return -mean * hours / self.eta_discharge
        return -mean * hours * self.eta_charge


def clear_sky(t: float) -> float:
    """Default PV profile: available fraction [0..1] over a day, t [s] from midnight.

    Half a sine between 06:00 and 18:00, zero at night.
    """
    day = (t % 86400.0 - 21600.0) / 43200.0
    return math.sin(math.pi * day) if 0.0 < day < 1.0 else 0.0


class Pv(_Follower):
    """PV plant: rated [MW], available power = rated * profile(t), curtailment limit [MW].

    `t` [s] is the plant's own time, advanced by step(); the setpoint is an upper limit on
    power (the inverter follows min(available, limit)).
    """

    __slots__ = ("profile", "rated_mw", "t")

    def __init__(
        self,
        rated_mw: float,
        profile: Callable[[float], float] = clear_sky,
        t: float = 43200.0,
        ramp_mw_per_s: float = 10.0,
        dead_time_s: float = 0.1,
    ) -> None:
        super().__init__(ramp_mw_per_s, dead_time_s)
        self.rated_mw = rated_mw
        self.profile = profile
        self.t = t
        self.target_mw = rated_mw  # no curtailment until told
        self.power_mw = self.available_mw

    @property
    def available_mw(self) -> float:
        """What the sun allows now [MW]."""
        return self.rated_mw * self.profile(self.t)

    def step(self, dt: float) -> None:
        """Advance dt [s]."""
        self.t += dt
        ramp_dt = self._advance(dt)
        target = max(0.0, min(self.available_mw, self.target_mw))
        # Clouds act at once (downwards); commanded increases ramp.
        if target < self.power_mw and self.available_mw < self.power_mw:
            self.power_mw = target
        else:
            self.power_mw = ramp_towards(self.power_mw, target, self._rate() * ramp_dt)


class Chp(_Follower):
    """CHP unit: on/off, minimum stable load and maximum [MW], ramp [MW/s].

    A setpoint <= 0 switches it off (ramps down to 0); a positive one switches it on, clamped
    to [min_load_mw, max_mw]. Starting from 0 it ramps up through the unstable range.
    """

    __slots__ = ("max_mw", "min_load_mw", "on")

    def __init__(
        self,
        max_mw: float,
        min_load_mw: float,
        ramp_mw_per_s: float = 0.01,
        dead_time_s: float = 0.5,
    ) -> None:
        super().__init__(ramp_mw_per_s, dead_time_s)
        self.max_mw = max_mw
        self.min_load_mw = min_load_mw
        self.on = False

    def step(self, dt: float) -> None:
        """Advance dt [s]."""
        ramp_dt = self._advance(dt)
        self.on = self.target_mw > 0.0
        target = min(self.max_mw, max(self.min_load_mw, self.target_mw)) if self.on else 0.0
        self.power_mw = ramp_towards(self.power_mw, target, self._rate() * ramp_dt)
