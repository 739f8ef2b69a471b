"""Belgium (bidding zone BE, TSO Elia): markets and their dated rules.

Audited on 2026-12-06 (issue 17, session 2) against Elia's consultations, CREG's decision
B2061 and EPEX SPOT's Belgian intraday page; each checked record is re-recorded with its
source (``vpp markets rules BE --diff 2026-12-05 2026-12-06``). Elia's aFRR block length,
minimum bid and step were not found and stay assumptions under review.
"""

from __future__ import annotations

from datetime import time

from markets.countries._audit import AUDIT_4, AUDIT_5, AUDIT_6, Reading, sourced
from markets.eu import (
    ELIA_AFRR_TC_2024,
    ELIA_AFRR_TC_2024_URL,
    EPEX_BE_INTRADAY,
    EPEX_BE_INTRADAY_URL,
    HISTORY_START,
    LEGACY_REVIEW_BY,
    NEMO_IDA_URL,
    NOT_MODELLED_BEFORE_PICASSO,
    WATTSNEXT_PICASSO,
    WATTSNEXT_PICASSO_URL,
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

COUNTRY, ZONE, TZ = "BE", "BE", "Europe/Brussels"

ELIA_CAPACITY = (
    "CREG decision (B)2061 (T&C BSP aFRR: daily capacity auctions from delivery "
    "2020-09-02); Elia: consultation on pay-as-bid vs pay-as-cleared for aFRR capacity (2020)"
)
ELIA_CAPACITY_URL = (
    "https://www.creg.be/nl/publicaties/beslissing-b2061; https://www.elia.be/"
    "public-consultation/20200901_public-consultation-on-the-study-on-pay-as-bid-vs-pay-as-"
    "cleared"
)
_ELIA_CAPACITY = {
    "source": ELIA_CAPACITY,
    "reference": ELIA_CAPACITY_URL,
    "document_version": "CREG (B)2061 of 2020-05-07; Elia consultation of 2020-09-01",
}
_ELIA_2024 = {
    "source": ELIA_AFRR_TC_2024,
    "reference": ELIA_AFRR_TC_2024_URL,
    "document_version": "Elia consultation of 2024-02-28, read 2026-12-06",
    "confidence": U,
}

DAY_AHEAD, INTRADAY_AUCTIONS, CONTINUOUS = coupled_markets(
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
)
CONTINUOUS = sourced(
    CONTINUOUS,
    Reading(
        "local_gate_closure",
        "2022-01-01",
        EPEX_BE_INTRADAY,
        EPEX_BE_INTRADAY_URL,
        "EPEX SPOT product page, undated (hourly era), read 2026-12-06",
        note="trading in Belgium until 5 minutes before delivery",
    ),
)
CONTINUOUS = sourced(
    CONTINUOUS,
    contracts_reading(
        "15- and 30-min cross-border products on the BE-DE and BE-NL borders and 30-min "
        "ones on BE-FR"
    ),
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
        "15 min, Belgium's imbalance settlement period; the per-zone resolution is not "
        "listed in the sources read",
    ),
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    ida_mtu_reading("Belgium (BE)", 15),
    session=AUDIT_5,
)

ELIA_BALANCING_RULES_2024_URL = (
    "https://www.elia.be/en/public-consultation/20240329_public-consultation-on-the-proposal-"
    "for-amendment-to-the-balancing-rules"
)
ELIA_EXEMPTION_2024 = (
    "Elia: consultation on the proposal of exemption from the obligation to procure upward "
    "and downward balancing capacity for aFRR separately (2024-09-05)"
)
ELIA_EXEMPTION_2024_URL = (
    "https://elia.be/en/public-consultation/20240905_public-consultation-on-the-proposal-of-"
    "exemption-from-the-obligation"
)
ELIA_AFRR_PAGE = "Elia: Automatic Frequency Restoration Process (aFRR/R2)"
ELIA_AFRR_PAGE_URL = (
    "https://www.elia.be/en/electricity-market-and-system/system-services/keeping-the-balance/afrr"
)

AFRR_CAPACITY = sourced(
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
                1.0,
                "assumption",
                U,
                "Elia minimum bid not found",
                review_by=LEGACY_REVIEW_BY,
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
    Reading(
        "in_operation",
        "2022-01-01",
        note="daily capacity auctions since delivery 2020-09-02; up and down in one auction",
        **_ELIA_CAPACITY,
    ),
    Reading(
        "pricing",
        "2022-01-01",
        note="capacity paid as bid; pay-as-cleared was studied in 2020",
        **_ELIA_CAPACITY,
    ),
    Reading(
        "gate_closure",
        "2022-01-01",
        note="the auction ran at D-2 until Elia's amended T&C [confirmed]; the 09:00 "
        "time is assumed",
        **_ELIA_2024,
    ),
    Reading(
        "gate_closure",
        "2025-01-01",
        note="Elia proposed in 2024-02 to move the capacity auction from D-2 to D-1 "
        "with its PICASSO connection [confirmed]; the day it took effect and the "
        "09:00 time were not found",
        **_ELIA_2024,
    ),
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "order_types",
        HISTORY_START,
        ELIA_AFRR_TC_2024,
        ELIA_AFRR_TC_2024_URL,
        "Elia consultation page of 2024-02-28, read 2026-12-06",
        note="Elia buys aFRR capacity in an auction (moved from D-2 to D-1 by the amended "
        "T&C BSP aFRR); a BSP then offers energy bids at least for its reserved volume",
    ),
    Reading(
        "directions",
        HISTORY_START,
        ELIA_EXEMPTION_2024,
        ELIA_EXEMPTION_2024_URL,
        "Elia consultation page of 2024-09-05, read 2026-12-06",
        note="under the T&C BSP aFRR Elia buys upward and downward aFRR capacity daily in "
        "one capacity auction, exempted from separate procurement by CREG decision B2299 of "
        "2021-12-09, valid until 2024-12-15; a combined up-and-down bid is not modelled: bid "
        "each direction",
    ),
    Reading(
        "directions",
        "2024-12-15",
        ELIA_EXEMPTION_2024,
        ELIA_EXEMPTION_2024_URL,
        "Elia consultation page of 2024-09-05, read 2026-12-06",
        U,
        "B2299 ran until 2024-12-15; Elia consulted from 2024-09-05 to 2024-10-05 on a new "
        "exemption 'in the continuity' of it [confirmed]; CREG's decision on it, and so the "
        "product set after 2024-12-15, were not found: up and down stay as before",
    ),
    session=AUDIT_4,
)

AFRR_ENERGY = sourced(
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
    Reading(
        "in_operation",
        "2025-02-01",
        WATTSNEXT_PICASSO + "; " + ELIA_AFRR_TC_2024,
        WATTSNEXT_PICASSO_URL + "; " + ELIA_AFRR_TC_2024_URL,
        "wattsnext article (2025), Elia consultation of 2024-02-28; read 2026-12-06",
        U,
        "Elia joined PICASSO in February 2025 (a trade article of 2024 expected "
        "2024-11-26: the date moved); the day was not found, so February 2025 is "
        "taken from its first day: review against Elia's go-live notice",
    ),
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    Reading(
        "in_operation",
        HISTORY_START,
        ELIA_AFRR_TC_2024 + "; Elia: consultation on the Balancing Rules for the connection "
        "to the aFRR Platform (2024-03-29)",
        ELIA_AFRR_TC_2024_URL + "; " + ELIA_BALANCING_RULES_2024_URL,
        "Elia consultation pages of 2024-02-28 and 2024-03-29, read 2026-12-06",
        G,
        "in 2024 Elia's aFRR service was organised locally, with energy paid as bid and bid "
        "prices capped at +/-1,000 EUR/MWh, until the PICASSO connection [confirmed]; "
        + NOT_MODELLED_BEFORE_PICASSO,
    ),
    Reading(
        "order_types",
        "2025-02-01",
        ELIA_AFRR_PAGE,
        ELIA_AFRR_PAGE_URL,
        "Elia aFRR product page (undated, pre-PICASSO wording), read 2026-12-06",
        note="a BSP offers aFRR energy bids at least for its reserved volume and may offer "
        "non-reserved energy bids",
    ),
    session=AUDIT_4,
)

AFRR_ENERGY = sourced(
    AFRR_ENERGY, picasso_gate_reading(COUNTRY, "Elia", "2025-02-01"), session=AUDIT_6
)

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Belgium",
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
