"""What a partition's unread assets are taken to inject: the power they last held, not
nothing.

The pool controller counts an asset without a fresh reading as unknown: 0 MW measured and
out of the allocation, so the assets it does see are driven to cover the whole target.
When a device fails that is the cautious answer. In a partition reached over a link whose
reads miss their deadline under load, most unknown assets are healthy and go on injecting
what they were last told: at 20,000 assets in 4 partitions 60-100 % of a partition's
assets were unknown at most ticks, and the pool drove the rest to cover them, its truth
1-2 GW off a 340 MW tolerance (`docs/scale.md`). This is the coordinator's rule for a lost
partition (its assets count at the power they hold) applied to single assets.

`HeldPower` is a `PoolController.metered_unseen` source: at each tick the sum over the
partition's assets without a fresh reading of the power each last held [MW, positive =
injection]: the setpoint it acknowledged after its last reading (within the limits that
reading gave), else that reading's power. The pool adds it to the measured total and
leaves it out of the allocation as uncontrollable, as it does with a site meter's view of
a silent device. Assets never read and quarantined ones (what their map decodes is no
measurement) count as nothing, as before.
"""

from __future__ import annotations

from dispatch.control.confirmation import CommandState
from dispatch.pool import PoolController


class HeldPower:
    """The held power of a pool's unread assets (see the module docstring)."""

    def __init__(self, pool: PoolController) -> None:
        self.pool = pool
        self.assets = 0
        """Unread assets counted at the last call."""
        self.mw = 0.0
        """Their held power at the last call [MW]."""
        self.unanswered = 0
        """Of them, those whose latest write, sent after their latest reading, timed out
        unanswered (it may have landed unseen, or not)."""
        self.unanswered_mw = 0.0
        """What those writes' setpoints add to their held power, had they landed [MW]."""

    def __call__(self, t: float) -> float:
        """The held power of the assets without a fresh reading at `t` [s] [MW]."""
        pool = self.pool
        board = pool.board
        max_age = pool.config.max_reading_age_s
        total, count = 0.0, 0
        unanswered, unanswered_mw = 0, 0.0
        # In a tick, only the assets it found without a fresh reading, in the same order
        # (the same sum): the others are skipped below anyway, and walking all 5,000 of a
        # partition was a fifth of its tick.
        at, unread = pool.unread
        actors = pool.actors if unread is None or at != t else [pool.actors[i] for i in unread]
        for actor in actors:
            entry = board.get(actor.asset_id)
            if entry is None or entry.telemetry is None or entry.state == "quarantined":
                continue
            if entry.fresh(t, max_age):
                continue  # measured: the pool counts it
            reading = entry.telemetry
            held = reading.power_mw
            command = actor.command_now
            if (
                command is not None
                and command.state is CommandState.ACK_TIMEOUT
                and command.sent_t is not None
                and (entry.read_t is None or command.sent_t >= entry.read_t)
            ):  # lost after the latest reading: it may have landed unseen, or not
                unanswered += 1
                unanswered_mw += command.setpoint_mw - held
            if (
                command is not None
                and command.acked_t is not None
                and entry.read_t is not None
                and command.acked_t >= entry.read_t
            ):
                held = command.setpoint_mw
                if reading.max_mw is not None:
                    held = min(held, reading.max_mw)
                if reading.min_mw is not None:
                    held = max(held, reading.min_mw)
            total += held
            count += 1
        self.assets, self.mw = count, total
        self.unanswered, self.unanswered_mw = unanswered, unanswered_mw
        return total


__all__ = ["HeldPower"]
