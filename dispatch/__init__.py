"""Make the fleet follow the schedule, second by second: the real-time dispatcher.

Knows schedules, assets and protocols; never the optimiser or the markets' rules. Defines the
`Schedule` contract that `trading` produces.
"""

from dispatch.schedule import EnergyMarket, Schedule, read_schedule, write_schedule

__all__ = ["EnergyMarket", "Schedule", "read_schedule", "write_schedule"]
