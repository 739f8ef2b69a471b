"""Make the fleet follow the schedule, second by second: the real-time dispatcher.

Knows schedules, assets and protocols; never the optimiser or the markets' rules. Defines the
`Schedule` contract that `trading` produces.
"""
