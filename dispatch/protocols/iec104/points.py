"""The points map of the aFRR link: which information object carries what, in one place.

One station (common address) per pool. Units MW; positive = injection (more injection is
upward aFRR). Directions: "TSO->VPP" is a command the TSO sends, "VPP->TSO" a value the VPP
reports, cyclically (every `report_s`) and spontaneously on change.

| IOA | type id | direction | meaning |
|---|---|---|---|
| 100 | C_SE_NC_1 (set-point, short float) | TSO->VPP | aFRR setpoint [MW], + up, - down |
| 200 | M_ME_TF_1 (short float, CP56Time2a tag) | VPP->TSO | measured pool power [MW] |
| 201 | M_ME_NC_1 (short float) | VPP->TSO | scheduled pool power (operating point) [MW] |
| 202 | M_ME_NC_1 | VPP->TSO | setpoint in force: the last one, clamped to the band [MW] |
| 203 | M_ME_NC_1 | VPP->TSO | activation requested of the pool now (ramped) [MW] |
| 210 | M_ME_NC_1 | VPP->TSO | band sold up (aFRR+) [MW], >= 0 |
| 211 | M_ME_NC_1 | VPP->TSO | band sold down (aFRR-) [MW], >= 0 |
| 212 | M_ME_NC_1 | VPP->TSO | available up: headroom of the fresh assets [MW], >= 0 |
| 213 | M_ME_NC_1 | VPP->TSO | available down [MW], >= 0 |
| 300 | M_SP_NA_1 (single point) | VPP->TSO | aFRR available (a band is sold and assets answer) |
| 301 | M_SP_NA_1 | VPP->TSO | aFRR active (the activation requested is not 0) |

The measured pool power is time-tagged (M_ME_TF_1) with the instant of the dispatcher's
tick whose fresh telemetry it sums, in the dispatcher's clock: a TSO can align it with its
own setpoints whatever the link's delay. A TSO that wants M_ME_NC_1 there changes `types`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

Direction = Literal["TSO->VPP", "VPP->TSO"]
MAX_IOA = 16_777_215
"""Information object addresses are three octets in IEC 104."""


@dataclass(frozen=True)
class PointSpec:
    """One information object: address, type id (c104 `Type` name), direction, meaning."""

    name: str
    ioa: int
    type_id: str
    direction: Direction
    meaning: str


@dataclass(frozen=True)
class PointsMap:
    """The addresses of one pool's station (see the module docstring for the table)."""

    common_address: int = 1
    setpoint: int = 100
    measured: int = 200
    scheduled: int = 201
    setpoint_in_force: int = 202
    activation_requested: int = 203
    band_up: int = 210
    band_down: int = 211
    available_up: int = 212
    available_down: int = 213
    afrr_available: int = 300
    afrr_active: int = 301
    types: dict[str, str] = field(
        default_factory=lambda: {
            "setpoint": "C_SE_NC_1",
            "measured": "M_ME_TF_1",
            "afrr_available": "M_SP_NA_1",
            "afrr_active": "M_SP_NA_1",
        }
    )
    """Type id per point name where it is not M_ME_NC_1."""

    def __post_init__(self) -> None:
        if not 1 <= self.common_address <= 65_534:
            raise ValueError(
                f"common_address={self.common_address} must be in 1..65534 (IEC 104 station)"
            )
        seen: dict[int, str] = {}
        for spec in self.specs():
            if not 1 <= spec.ioa <= MAX_IOA:
                raise ValueError(f"{spec.name}={spec.ioa} must be an IOA in 1..{MAX_IOA}")
            if spec.ioa in seen:
                raise ValueError(
                    f"{spec.name}={spec.ioa}: IOA already used by {seen[spec.ioa]} "
                    "(one point per IOA and station)"
                )
            seen[spec.ioa] = spec.name

    def specs(self) -> tuple[PointSpec, ...]:
        """Every point, the setpoint first."""
        meaning = {
            "setpoint": "aFRR setpoint [MW], + up, - down",
            "measured": "measured pool power [MW], + injection, tagged with its tick's time",
            "scheduled": "scheduled pool power [MW]",
            "setpoint_in_force": "setpoint in force, clamped to the band sold [MW]",
            "activation_requested": "activation requested of the pool now, ramped [MW]",
            "band_up": "band sold up [MW]",
            "band_down": "band sold down [MW]",
            "available_up": "available up [MW]",
            "available_down": "available down [MW]",
            "afrr_available": "aFRR available",
            "afrr_active": "aFRR active",
        }
        return tuple(
            PointSpec(
                f.name,
                getattr(self, f.name),
                self.types.get(f.name, "M_ME_NC_1"),
                "TSO->VPP" if f.name == "setpoint" else "VPP->TSO",
                meaning[f.name],
            )
            for f in fields(self)
            if f.name in meaning
        )

    def monitored(self) -> tuple[PointSpec, ...]:
        """The points the VPP reports."""
        return tuple(s for s in self.specs() if s.direction == "VPP->TSO")
