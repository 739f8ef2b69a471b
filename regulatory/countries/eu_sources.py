"""References shared by several countries' regulatory facts (rule audit session 4 of issue 17,
2026-12-06): the FCR Cooperation's product and the open question of the reservoir rule."""

from __future__ import annotations

from regulatory.countries.de_sources import Provenance
from regulatory.rules import Confidence

FCR_LER = Provenance(
    source="FCR Cooperation: symmetric FCR bought daily in 4-hour products, minimum bid "
    "+/-1 MW (APG's FCR tender page); the minimum activation period of limited energy "
    "reservoirs under SO GL Art. 156(11) is not yet set for Continental Europe: the "
    "regulators asked the TSOs for amendments on 2022-12-07 and the TSOs consulted a new "
    "proposal after the 2024 cost-benefit analysis (ENTSO-E)",
    reference="https://www.apg.at/en/markt/balancing/primary-control/tenders; "
    "https://consultations.entsoe.eu/system-operations/ce-tsos-proposal-for-tminler-2024/",
    document_version="APG FCR tender page (volume of 2020); ENTSO-E consultation of "
    "2024-09-30 to 2024-10-31, read 2026-12-06",
    confidence=Confidence.UNCERTAIN,
    note="the 15-minute reservoir is the lower bound SO GL Art. 156 allows (15-30 min); the "
    "TSO's own rule for its reserve providers was not read; the 1 MW minimum bid is "
    "confirmed",
)
