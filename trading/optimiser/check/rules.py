"""The rule ids and names of `docs/plan-rules.md`, as the checker reports them."""

from __future__ import annotations

G1 = "G1 in service"
G2 = "G2 availability"
G3 = "G3 ramp"
G4 = "G4 headroom"
G5 = "G5 prequalification"
S1 = "S1 grid connection"

B1 = "B1 power"
B3 = "B3 SoC range"
B4 = "B4 end of day"
B5 = "B5 cycles"
B6 = "B6 reserve energy"

R1 = "R1 output"

C1 = "C1 output"
C2 = "C2 minimum up time"
C3 = "C3 minimum down time"

L1 = "L1 power"
L2 = "L2 minimum up and down times"
L3 = "L3 energy requirement"

H1 = "H1 power"
H2 = "H2 minimum up and down times"
H3 = "H3 heat"
H3_ENERGY = "H3 energy requirement"

E1 = "E1 power"
E2 = "E2 stored energy"
E3 = "E3 requirement"

M1 = "M1 whole steps"
M2 = "M2 minimum"
M3 = "M3 bids are positions"
M4 = "M4 zone balance"
M5 = "M5 capacity covered"
M6 = "M6 valid bids"
M7 = "M7 bid prices"

A1 = "A1 revenue by market"
A2 = "A2 costs by kind"
A3 = "A3 objective"
A4 = "A4 position revenue"

X1 = "X1 states differ"

ALL = (
    G1, G2, G3, G4, G5, S1,
    B1, B3, B4, B5, B6,
    R1,
    C1, C2, C3,
    L1, L2, L3,
    H1, H2, H3, H3_ENERGY,
    E1, E2, E3,
    M1, M2, M3, M4, M5, M6, M7,
    A1, A2, A3, A4,
    X1,
)  # fmt: skip
"""Every rule the checker reports, in the order of plan-rules.md.

B2 (the battery's energy balance) is how the checker computes the state of charge: a plan
whose own states break it shows as X1. A1-A4 are the accounting section, X1 the states the
plan reports against the states its injection implies."""

UP = ("fcr", "afrr_pos")
"""Reserve products that hold headroom upward (more injection)."""
DOWN = ("fcr", "afrr_neg")
"""Reserve products that hold headroom downward (less injection)."""
