"""Germany (bidding zone DE-LU, four TSO control areas): markets and their dated rules."""

from __future__ import annotations

from datetime import time

from markets.eu import (
    BEFORE,
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

COUNTRY, ZONE, TZ = "DE", "DE_LU", "Europe/Berlin"
TSOS = "German TSOs on regelleistung.net"

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Germany",
    timezone=TZ,
    markets=(
        *coupled_markets(
            COUNTRY,
            ZONE,
            TZ,
            contracts=(
                since_start(
                    (contract(60, 15), contract(30, 15), contract(15, 16)),
                    "Nord Pool; EPEX SPOT; Amprion (cross-border 30-min products since 2020-12)",
                    G,
                    "hours open 15:00 D-1 and quarter hours 16:00 D-1 [confirmed]; the opening "
                    "of half hours is assumed to be 15:00 D-1",
                ),
            ),
            local_gate_closure=(
                since_start(
                    OffsetGate(minutes_before=5),
                    "Next Kraftwerke",
                    C,
                    "5 min within one control area; trades across German control areas may "
                    "close 30 min before [general, unchecked]",
                ),
            ),
        ),
        afrr_capacity(
            COUNTRY,
            ZONE,
            TZ,
            operator=TSOS,
            in_operation=(
                since_start(True, "regelleistung.net", note="daily auction since November 2020"),
            ),
            block_hours=(since_start(4, "regelleistung.net", note="6 blocks: 00-04 ... 20-24"),),
            directions=(since_start((Direction.POS, Direction.NEG), "regelleistung.net"),),
            gate_closure=(
                since_start(DailyGate(days_before=1, local_time=time(9)), "regelleistung.net"),
            ),
            volume_min_mw=(since_start(1.0, "regelleistung.net, batterydata.info"),),
            price_per_block=(
                since_start(
                    True,
                    "SMARD aFRR export (procurement price in EUR/MW per 4-hour product)",
                    U,
                    "SMARD publishes the capacity price per MW and product; regelleistung.net "
                    "result files have also been seen quoting (EUR/MW)/h: which unit the RLM "
                    "bid format takes is to be checked with the TSOs' bid documentation",
                    review_by=LEGACY_REVIEW_BY,
                ),
            ),
            pricing=(since_start(Pricing.PAY_AS_BID, "regelleistung.net", note=BEFORE),),
            energy_price_attachable=(
                since_start(
                    True,
                    "regelleistung.net",
                    note="an energy price may be attached and is carried into the energy market",
                ),
            ),
        ),
        picasso_afrr_energy(
            COUNTRY,
            ZONE,
            TZ,
            operator=TSOS,
            accession=rule(
                True, "2022-06-22", "ENTSO-E, netztransparenz", C, "DE TSOs join PICASSO"
            ),
        ),
        fcr_cooperation(COUNTRY, ZONE, TZ),
    ),
)
