"""Austria (bidding zone AT, TSO APG): markets and their dated rules.

Audited on 2026-12-06 (issue 17, session 2): the aFRR capacity rules against APG's tender
page, the continuous contracts and local gate closure against EPEX SPOT's Austrian
product page, the PICASSO accession against TransnetBW's and ENTSO-E's pages; each
checked record is re-recorded with its source (``vpp markets rules AT --diff 2026-12-05
2026-12-06``).
"""

from __future__ import annotations

from datetime import time

from markets.countries._audit import AUDIT_4, AUDIT_5, AUDIT_6, AUDIT_7, Reading, sourced
from markets.eu import (
    AT_DE_AFRR,
    AT_DE_AFRR_URL,
    HISTORY_START,
    NEMO_IDA_URL,
    NOT_MODELLED_BEFORE_PICASSO,
    PICASSO_ACCESSION,
    PICASSO_ACCESSION_URL,
    C,
    G,
    U,
    afrr_capacity,
    contract,
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

COUNTRY, ZONE, TZ = "AT", "AT", "Europe/Vienna"

APG_AFRR = "APG: Tenders for aFRR in the APG Control Area"
_APG_AFRR = {
    "source": APG_AFRR,
    "reference": "https://www.apg.at/en/markt/balancing/secondary-control/tenders",
    "document_version": "APG tender page, read 2026-12-06",
}

DAY_AHEAD, INTRADAY_AUCTIONS, CONTINUOUS = coupled_markets(
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
)

EPEX_AT = "EPEX SPOT: Intraday Continuous - Austria (product page)"
_EPEX_AT = {
    "source": EPEX_AT,
    "reference": "http://www.epexspot.com/en/product-info/intradaycontinuous/austria",
    "document_version": "EPEX SPOT product page, undated (15-minute era), read 2026-12-06",
}
CONTINUOUS = sourced(
    CONTINUOUS,
    Reading(
        "contracts",
        "2022-01-01",
        note="hours open 15:00 D-1, quarter hours 16:00 D-1 (and blocks)",
        **_EPEX_AT,
    ),
    Reading(
        "local_gate_closure",
        "2022-01-01",
        note="each hour, quarter hour or block trades until 5 minutes before delivery (30 "
        "min in 2015, APG)",
        **_EPEX_AT,
    ),
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
        "15 min, Austria's imbalance settlement period; the per-zone resolution is not "
        "listed in the sources read",
    ),
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    ida_mtu_reading("Austria (AT)", 15),
    session=AUDIT_5,
)

APG_AFRR_MARKET = "APG: aFRR (automatic Frequency Restoration Reserves)"
APG_AFRR_MARKET_URL = "https://www.apg.at/en/markt/balancing/secondary-control"

AFRR_CAPACITY = sourced(
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
    Reading("in_operation", "2022-01-01", note="daily tender, Monday to Sunday", **_APG_AFRR),
    Reading("block_hours", "2022-01-01", note="6 x 4 h from 00:00", **_APG_AFRR),
    Reading("directions", "2022-01-01", **_APG_AFRR),
    Reading("gate_opening", "2022-01-01", note="D-7 10:00", **_APG_AFRR),
    Reading("gate_closure", "2022-01-01", note="D-1 09:00, results by 09:30", **_APG_AFRR),
    Reading("volume_min_mw", "2022-01-01", note="first bid per product >= 1 MW", **_APG_AFRR),
    Reading("further_bid_min_mw", "2022-01-01", note="each further bid >= 5 MW", **_APG_AFRR),
    Reading("volume_step_mw", "2022-01-01", note="full 1 MW increments", **_APG_AFRR),
    Reading(
        "pricing",
        "2022-01-01",
        confidence=G,
        note="bids are ranked by capacity price [confirmed]; that each is paid its own "
        "price (pay-as-bid) is not on the page read [general]",
        **_APG_AFRR,
    ),
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "order_types",
        HISTORY_START,
        APG_AFRR_MARKET,
        APG_AFRR_MARKET_URL,
        "APG aFRR page (undated), read 2026-12-06",
        note="a bid for aFRR capacity names the capacity offered and a capacity price; bids "
        "are ranked by that price",
    ),
    session=AUDIT_4,
)

AFRR_ENERGY = sourced(
    picasso_afrr_energy(
        COUNTRY,
        ZONE,
        TZ,
        operator="APG",
        accession=rule(True, "2022-06-22", "ENTSO-E, APG", C, "APG joins PICASSO"),
    ),
    Reading(
        "in_operation",
        "2022-06-22",
        PICASSO_ACCESSION,
        PICASSO_ACCESSION_URL,
        "TransnetBW PICASSO page and ENTSO-E news of 2022-06-01, read 2026-12-06",
        note="APG acceded to PICASSO on 2022-06-22",
    ),
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    Reading(
        "in_operation",
        HISTORY_START,
        AT_DE_AFRR,
        AT_DE_AFRR_URL,
        "netztransparenz.de archive page (undated), read 2026-12-06",
        G,
        "Austrian and German aFRR energy was activated from a common merit order from July "
        "2016 up to and including 2022-06-21, the day before APG's PICASSO accession "
        "[confirmed]; " + NOT_MODELLED_BEFORE_PICASSO,
    ),
    Reading(
        "order_types",
        "2022-06-22",
        APG_AFRR_MARKET,
        APG_AFRR_MARKET_URL,
        "APG aFRR page (undated), read 2026-12-06",
        note="in the intraday balancing energy tenders providers adjust the energy prices "
        "given with their capacity or offer other prequalified capacity; bids are ranked by "
        "energy price",
    ),
    session=AUDIT_4,
)

AFRR_ENERGY = sourced(
    AFRR_ENERGY, picasso_gate_reading(COUNTRY, "APG", "2022-06-22"), session=AUDIT_6
)

_ENERGY_BID_SIZE = (
    "APG's aFRR tender page states the capacity bid sizes (first bid per product at least "
    "1 MW, each further bid at least 5 MW, in full 1 MW increments) and its aFRR page says "
    "the energy bids of awarded capacity carry those bids' energy prices into the balancing "
    "energy tenders, where other prequalified capacity may also be offered; the size of such "
    "a free energy bid is not stated, and the 5 MW rule for further bids is not applied to "
    "energy bids here. Uncertain until APG's aFRR terms (download section of the page) are "
    "read"
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    *(
        Reading(
            parameter,
            "2022-06-22",
            APG_AFRR + "; " + APG_AFRR_MARKET,
            _APG_AFRR["reference"] + "; " + APG_AFRR_MARKET_URL,
            "APG aFRR tender page and aFRR page (undated), read 2026-12-07",
            U,
            _ENERGY_BID_SIZE,
        )
        for parameter in ("volume_min_mw", "volume_step_mw")
    ),
    session=AUDIT_7,
)

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Austria",
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
