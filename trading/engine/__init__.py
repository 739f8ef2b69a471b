"""The live engine's loop: positions, schedules, metering, settlement, a virtual trader.

See docs/engine.md. `trading.engine.loop.run_day` runs one delivery day on a simulated
clock; the parts are usable on their own: `positions.PositionBook`, `schedules.ScheduleBuilder`,
`metering.IspMeter`, `settlement.settle`, `trader.VirtualTrader`, `desk.Desk`.
"""
