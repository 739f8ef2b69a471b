"""Austria (bidding zone AT, TSO APG): markets and their dated rules."""

from __future__ import annotations

from datetime import time

from markets.eu import (
    C,
    G,
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

COUNTRY, ZONE, TZ = "AT", "AT", "Europe/Vienna"

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Austria",
    timezone=TZ,
    markets=(
        *coupled_markets(
            COUNTRY,
            ZONE,
            TZ,
            contracts=(
                since_start(
                    (contract(60, 15), contract(15, 16)),
                    "EPEX SPOT (AT)",
                    C,
                    "hours open 15:00 D-1, quarter hours 16:00 D-1",
                ),
            ),
            local_gate_closure=(
                since_start(
                    OffsetGate(minutes_before=5),
                    "EPEX SPOT (AT)",
                    C,
                    "30 min in 2015 (APG); 5 min since before 2022",
                ),
            ),
        ),
        afrr_capacity(
            COUNTRY,
            ZONE,
            TZ,
            operator="APG",
            in_operation=(since_start(True, "APG", note="daily auction"),),
            block_hours=(since_start(4, "APG", note="6 x 4 h; about +/-200 MW needed"),),
            directions=(since_start((Direction.POS, Direction.NEG), "APG"),),
            gate_opening=(since_start(DailyGate(days_before=7, local_time=time(10)), "APG"),),
            gate_closure=(
                since_start(
                    DailyGate(days_before=1, local_time=time(9)), "APG", note="results by 09:30"
                ),
            ),
            volume_min_mw=(since_start(1.0, "APG", note="first bid >= 1 MW"),),
            further_bid_min_mw=(since_start(5.0, "APG", note="each further bid >= 5 MW"),),
            volume_step_mw=(since_start(1.0, "APG"),),
            pricing=(
                since_start(
                    Pricing.PAY_AS_BID, "APG", G, "ranked by capacity price; pay-as-bid assumed"
                ),
            ),
        ),
        picasso_afrr_energy(
            COUNTRY,
            ZONE,
            TZ,
            operator="APG",
            accession=rule(True, "2022-06-22", "ENTSO-E, APG", C, "APG joins PICASSO"),
        ),
        fcr_cooperation(COUNTRY, ZONE, TZ),
    ),
)
