"""Pure control logic of the real-time dispatcher: no I/O, no asyncio, no clock of its own.

Every function and method here takes the time as an argument, `t`: **monotonic seconds**
(a float from `time.monotonic()` or a test's fake clock), never wall-clock time, so that
tests run faster than real time and a wall-clock jump cannot fire a deadline. Units follow
`dispatch.device`: power in MW, positive = injection into the grid (a charging battery is
negative), ramps in MW/s, energy in MWh, durations in s.

- `pi`: PI correction of the pool's tracking error, with anti-windup and a rate limit.
- `allocation`: split a pool setpoint over the assets that can take it (vectorised).
- `confirmation`: the two-phase (acked, then executed) life of one command to one asset.
- `asset_state`: an asset's availability, with its table of allowed transitions.
- `budget`: retry token buckets per pool and protocol; a circuit breaker per asset.
"""
