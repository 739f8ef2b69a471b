"""The faults a simulated device can be given, each with its physical meaning.

One list for both simulators (in process, `dispatch.inproc`, and Modbus TCP,
`dispatch.devices.modbus_sim`), so a fault specification means the same thing in both.
"What happens" is the device's physics (what the grid sees); "what it says" is what the
dispatcher can observe over its connection.
"""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    """A fault a simulated device can be given, from the moment it is injected."""

    TRIP = "trip"
    """Protection trips: power drops to 0 MW at once and the device stops answering."""
    SILENCE = "silence"
    """Communication lost: the device stops answering and keeps running at its last
    setpoint (its physics goes on)."""
    ACK_NO_EXEC = "ack_no_exec"
    """Writes are acknowledged (and read back), but the power never follows them."""
    PARTIAL = "partial"
    """The device goes only to a share (0.6) of each new setpoint."""
    SLOW_RAMP = "slow_ramp"
    """The device ramps at a tenth of its rated ramp rate."""
    STUCK = "stuck"
    """Power frozen where it is: setpoints acknowledged, power and telemetry unchanged."""
    FAKE_METER = "fake_meter"
    """The device reports its setpoint as its measured power, whatever it injects; its
    real power stays where it was."""
    FIRMWARE = "firmware"
    """A new firmware version with another register layout (after a reboot): the old map
    no longer fits. The reboot loses the setpoint: the device runs idle (battery and CHP
    0 MW, PV uncurtailed) until written again."""
    FIRMWARE_INPLACE = "firmware_inplace"
    """New firmware under the same version string, no reboot: the identity looks unchanged,
    but the layout (a scale factor) changed, so values read through the old map are wrong;
    the device runs on at its setpoint."""


OUTAGE_ALIAS = "outage"
"""Older name of `Fault.SILENCE` in fault specifications, still accepted."""

__all__ = ["OUTAGE_ALIAS", "Fault"]
