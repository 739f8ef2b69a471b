"""The Netherlands (bidding zone NL, TSO TenneT NL): markets and their dated rules.

The NL aFRR capacity rules were not found (open point 1 of the market-rules reference):
every value there is a German-like working assumption, marked uncertain.
"""

from __future__ import annotations

from datetime import time

from markets.countries._audit import AUDIT_4, AUDIT_5, AUDIT_6, Reading, sourced
from markets.eu import (
    HISTORY_START,
    LEGACY_REVIEW_BY,
    NEMO_IDA_URL,
    NOT_MODELLED_BEFORE_PICASSO,
    C,
    G,
    U,
    afrr_capacity,
    contract,
    contracts_reading,
    coupled_markets,
    fcr_cooperation,
    ida_mtu_reading,
    picasso_afrr_energy,
    picasso_gate_reading,
    since_start,
)
from markets.gates import DailyGate, OffsetGate
from markets.plugin import MarketPlugin
from markets.products import Direction, Pricing
from markets.rules import rule

COUNTRY, ZONE, TZ = "NL", "NL", "Europe/Amsterdam"
NOT_FOUND = "TenneT NL rules not found; working assumption like DE"

DAY_AHEAD, INTRADAY_AUCTIONS, CONTINUOUS = coupled_markets(
    COUNTRY,
    ZONE,
    TZ,
    contracts=(
        since_start(
            (contract(60, 15), contract(30, 15), contract(15, 15)),
            "ACER Decision 04/2018; Amprion (NL-DE, BE-NL 15/30-min products)",
            G,
            "cross-zonal gate opening 15:00 D-1 [confirmed] applied to every contract",
        ),
    ),
    local_gate_closure=(
        since_start(OffsetGate(minutes_before=5), "APX/EPEX SPOT NL (older page)", C),
    ),
)
CONTINUOUS = sourced(
    CONTINUOUS,
    Reading(
        "local_gate_closure",
        "2022-01-01",
        "EPEX Netherlands (formerly APX Power NL): 'Continuous Markets: Intraday & Strips'",
        "http://www.apxgroup.com/trading-clearing/continuous-markets-intraday/",
        "APX group page, undated (hourly era), read 2026-12-06",
        note="continuous trading in the Netherlands up to 5 minutes before delivery (an "
        "older page: the current EPEX rule book was not read)",
    ),
)
CONTINUOUS = sourced(
    CONTINUOUS,
    contracts_reading("15- and 30-min cross-border products on the NL-DE and BE-NL borders"),
    session=AUDIT_5,
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    Reading(
        "mtu_minutes",
        "2024-06-14",
        "NEMO Committee: Intraday Auctions (one resolution of simple orders per zone); BSP "
        "SouthPool: IDA trading in 15-minute MTU products",
        NEMO_IDA_URL + "; https://bsp-southpool.com/intraday-auction-market",
        "NEMO Committee IDA page and BSP SouthPool page, read 2026-12-06",
        G,
        "15 min, the Dutch imbalance settlement period; the per-zone resolution is not "
        "listed in the sources read",
    ),
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    ida_mtu_reading("the Netherlands (NL)", 15),
    session=AUDIT_5,
)

AFRR_ENERGY = sourced(
    picasso_afrr_energy(
        COUNTRY,
        ZONE,
        TZ,
        operator="TenneT NL",
        accession=rule(
            True,
            "2024-01-01",
            "ENTSO-E (PICASSO members)",
            U,
            "NL was connected 'by 2024'; the exact accession date was not found",
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    Reading(
        "in_operation",
        "2024-01-01",
        "Dexter Energy (secondary): 'Belgium joins PICASSO: expected impact on "
        "imbalance prices' (2024: 'the Netherlands joined PICASSO earlier this "
        "year'); time2market (secondary): the Netherlands among the platform's users",
        "https://dexterenergy.ai/news/belgium-joins-picasso-expected-impact-on-"
        "imbalance-prices/; https://time2market.dk/blog/all-you-need-to-know-about-"
        "europes-real-time-balancing-power-markets",
        "Dexter Energy news (2024), time2market blog; read 2026-12-06",
        U,
        "TenneT NL joined PICASSO during 2024 (two secondary sources); the day was "
        "not found, so 2024-01-01 stays: deliveries early in 2024 may be offered "
        "before the real accession. Review against TenneT's go-live notice",
    ),
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    Reading(
        "in_operation",
        HISTORY_START,
        "TenneT TSO B.V.: request to ACM under Art. 62 EB GL for a derogation from the "
        "deadlines to use the European aFRR and mFRR platforms (letter of 2022-01-24, ref. "
        "REG-N 22-005); Dexter Energy (secondary): the Netherlands joined PICASSO in 2024",
        "https://5dok.net/document/y6epm07g-aanvraag-basis-artikel-afwijking-"
        "implementatietermijnen-europese-platforms-afrr.html (copy of TenneT's letter); "
        "https://dexterenergy.ai/news/belgium-joins-picasso-expected-impact-on-imbalance-"
        "prices/",
        "TenneT letter of 2022-01-24; Dexter Energy news (2024); read 2026-12-06",
        G,
        "TenneT asked ACM in January 2022 to derogate from the deadline to use PICASSO and "
        "kept its national aFRR market until joining in 2024 [confirmed: the request; "
        "secondary: the 2024 accession]; " + NOT_MODELLED_BEFORE_PICASSO,
    ),
    session=AUDIT_4,
)

AFRR_CAPACITY = afrr_capacity(
    COUNTRY,
    ZONE,
    TZ,
    operator="TenneT NL",
    in_operation=(since_start(True, "TenneT NL", U, NOT_FOUND, review_by=LEGACY_REVIEW_BY),),
    block_hours=(since_start(4, "assumption", U, NOT_FOUND, review_by=LEGACY_REVIEW_BY),),
    directions=(
        since_start(
            (Direction.POS, Direction.NEG),
            "assumption",
            U,
            NOT_FOUND,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    gate_closure=(
        since_start(
            DailyGate(days_before=1, local_time=time(9)),
            "assumption",
            U,
            NOT_FOUND,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    volume_min_mw=(since_start(1.0, "assumption", U, NOT_FOUND, review_by=LEGACY_REVIEW_BY),),
    volume_step_mw=(since_start(1.0, "assumption", U, NOT_FOUND, review_by=LEGACY_REVIEW_BY),),
    pricing=(
        since_start(Pricing.PAY_AS_BID, "assumption", U, NOT_FOUND, review_by=LEGACY_REVIEW_BY),
    ),
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "in_operation",
        HISTORY_START,
        "TenneT TSO B.V.: aFRR pilot end report (2021-07-06)",
        "https://www.readkong.com/page/afrr-pilot-end-report-tennet-8577493 (copy of "
        "TenneT's report)",
        "TenneT report of 2021-07-06, read 2026-12-06",
        G,
        "TenneT contracts and activates aFRR (regulating power) offered by BSPs, and opened "
        "the aFRR market to independent aggregators after the pilot [confirmed]; how the "
        "capacity is procured (auction, frequency, products) was not read: the other records "
        "of this market stay uncertain",
    ),
    session=AUDIT_4,
)

TENNET_REGULATING = "TenneT: Offering of regulating and reserve capacity"
TENNET_REGULATING_URL = (
    "https://www.tennet.org/english/operational_management/system_data_preparation/"
    "offering_regulating_reserve_capacity/index.aspx"
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    picasso_gate_reading(COUNTRY, "TenneT NL", "2024-01-01"),
    Reading(
        "order_types",
        "2024-01-01",
        TENNET_REGULATING,
        TENNET_REGULATING_URL,
        "TenneT page (undated, before PICASSO), read 2026-12-06",
        G,
        "TenneT buys regulating capacity (aFRR, continuously controlled by the national "
        "load-frequency controller) through bids, each naming a volume in MW, a direction and "
        "a price, settled at no less than the bid price [confirmed for TenneT's national "
        "market]; that the same energy bid carries over to PICASSO from TenneT's accession "
        "[general]",
    ),
    session=AUDIT_6,
)

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Netherlands",
    timezone=TZ,
    markets=(
        DAY_AHEAD,
        INTRADAY_AUCTIONS,
        CONTINUOUS,
        AFRR_CAPACITY,
        AFRR_ENERGY,
        fcr_cooperation(COUNTRY, ZONE, TZ),
    ),
)
