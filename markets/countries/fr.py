"""France (bidding zone FR, TSO RTE): markets and their dated rules."""

from __future__ import annotations

from datetime import time

from markets.eu import (
    LEGACY_REVIEW_BY,
    C,
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

COUNTRY, ZONE, TZ = "FR", "FR", "Europe/Paris"

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="France",
    timezone=TZ,
    markets=(
        *coupled_markets(
            COUNTRY,
            ZONE,
            TZ,
            contracts=(
                since_start(
                    (contract(60, 15), contract(30, 15), contract(15, 15)),
                    "ACER Decision 04/2018; Amprion (BE-FR 30-min products)",
                    U,
                    "hourly and BE-FR 30-min products are confirmed; local 15-min products "
                    "in FR are assumed; cross-zonal gate opening 15:00 D-1 for every contract",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            local_gate_closure=(
                since_start(
                    OffsetGate(minutes_before=30),
                    "general knowledge (historical)",
                    U,
                    "the FR local gate closure was not confirmed; 30 min historically",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
        ),
        afrr_capacity(
            COUNTRY,
            ZONE,
            TZ,
            operator="RTE",
            in_operation=(
                since_start(True, "RTE", C, "daily procurement since delivery 2021-11-03"),
            ),
            block_hours=(
                since_start(
                    4, "assumption", U, "RTE block length not found", review_by=LEGACY_REVIEW_BY
                ),
            ),
            directions=(
                since_start(
                    (Direction.POS, Direction.NEG),
                    "assumption",
                    U,
                    "RTE products not found",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            gate_opening=(
                since_start(DailyGate(days_before=8, local_time=time(9)), "RTE", C, "opens D-8"),
            ),
            gate_closure=(
                since_start(
                    DailyGate(days_before=1, local_time=time(9)), "RTE", C, "results by 09:30"
                ),
            ),
            volume_min_mw=(
                since_start(
                    1.0, "assumption", U, "RTE minimum bid not found", review_by=LEGACY_REVIEW_BY
                ),
            ),
            volume_step_mw=(
                since_start(
                    1.0, "assumption", U, "RTE bid step not found", review_by=LEGACY_REVIEW_BY
                ),
            ),
            pricing=(
                since_start(
                    Pricing.PAY_AS_BID,
                    "assumption",
                    U,
                    "RTE pricing rule not found",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
        ),
        picasso_afrr_energy(
            COUNTRY,
            ZONE,
            TZ,
            operator="RTE",
            accession=rule(
                True,
                "2025-04-01",
                "ENTSO-E; RTE",
                U,
                "RTE joined PICASSO in April 2025 [confirmed]; the day was not found; RTE has "
                "paid the marginal price since 2023-11-21",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        fcr_cooperation(COUNTRY, ZONE, TZ),
    ),
)
