"""Belgium (bidding zone BE, TSO Elia): markets and their dated rules."""

from __future__ import annotations

from datetime import time

from markets.eu import (
    LEGACY_REVIEW_BY,
    C,
    G,
    U,
    afrr_capacity,
    contract,
    coupled_markets,
    fcr_cooperation,
    picasso_afrr_energy,
    since_start,
)
from markets.gates import DailyGate, OffsetGate
from markets.plugin import MarketPlugin
from markets.products import Direction, Pricing
from markets.rules import rule

COUNTRY, ZONE, TZ = "BE", "BE", "Europe/Brussels"

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Belgium",
    timezone=TZ,
    markets=(
        *coupled_markets(
            COUNTRY,
            ZONE,
            TZ,
            contracts=(
                since_start(
                    (contract(60, 15), contract(30, 15), contract(15, 15)),
                    "ACER Decision 04/2018; Amprion (BE-DE, BE-NL, BE-FR 15/30-min products)",
                    G,
                    "cross-zonal gate opening 15:00 D-1 [confirmed] applied to every contract",
                ),
            ),
            local_gate_closure=(since_start(OffsetGate(minutes_before=5), "EPEX SPOT (BE)", C),),
        ),
        afrr_capacity(
            COUNTRY,
            ZONE,
            TZ,
            operator="Elia",
            in_operation=(
                since_start(True, "Elia consultations", note="up and down in one daily auction"),
            ),
            block_hours=(
                since_start(
                    4,
                    "general knowledge",
                    U,
                    "4 h blocks not confirmed",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            directions=(
                since_start(
                    (Direction.POS, Direction.NEG),
                    "Elia consultations (CREG exemption B2299)",
                    C,
                    "up and down are bought together in one auction under the exemption; "
                    "a combined up-and-down bid is not modelled: bid each direction",
                ),
                rule(
                    (Direction.POS, Direction.NEG),
                    "2024-12-15",
                    "Elia consultations (CREG exemption B2299, extension consulted Sep 2024)",
                    U,
                    "the exemption for joint up/down procurement ran to 2024-12-15; whether it "
                    "was extended, and the product set after it, were not found",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            gate_closure=(
                since_start(
                    DailyGate(days_before=2, local_time=time(9)),
                    "Elia consultations",
                    U,
                    "D-2 until the 2024/25 T&C [confirmed]; the 09:00 time is assumed",
                    review_by=LEGACY_REVIEW_BY,
                ),
                rule(
                    DailyGate(days_before=1, local_time=time(9)),
                    "2025-01-01",
                    "Elia consultations (2024/25 T&C)",
                    U,
                    "moved to D-1 by the 2024/25 T&C [confirmed]; the switch date and the "
                    "09:00 time were not found",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            volume_min_mw=(
                since_start(
                    1.0, "assumption", U, "Elia minimum bid not found", review_by=LEGACY_REVIEW_BY
                ),
            ),
            volume_step_mw=(
                since_start(
                    1.0, "assumption", U, "Elia bid step not found", review_by=LEGACY_REVIEW_BY
                ),
            ),
            pricing=(
                since_start(
                    Pricing.PAY_AS_BID,
                    "Elia consultations",
                    C,
                    "pay-as-cleared was studied in 2020",
                ),
            ),
        ),
        picasso_afrr_energy(
            COUNTRY,
            ZONE,
            TZ,
            operator="Elia",
            accession=rule(
                True,
                "2025-02-01",
                "ENTSO-E; Elia",
                U,
                "Elia joined PICASSO in February 2025 [confirmed]; the day was not found; "
                "FAT moved 7.5 -> 5 min and the local +/-1,000 cap was dropped on joining",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        fcr_cooperation(COUNTRY, ZONE, TZ),
    ),
)
