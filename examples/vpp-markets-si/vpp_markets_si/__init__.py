"""Market rules of Slovenia for vpp-engine.

Country SI, bidding zone SI, time zone Europe/Ljubljana.

Written by `vpp markets new SI`, then edited following docs/adding-a-country.md. The shared
rules of SDAC, SIDC and the FCR Cooperation come from `markets.eu`; each local value carries
its source and confidence, and every value not read in a source is marked uncertain (U) with
a note that says what to confirm.

Facts used (market-rules reference, ../shared/docs/market-rules-reference.md):
- FCR Cooperation: SI is a member from January 2021 (section 5) [C: ENTSO-E, APG].
- Intraday auctions: BSP SouthPool, the Slovenian NEMO, is cited for the IDA rules
  (section 3.2), but SI's own participation date is not stated there.
- Day-ahead: the reference covers SDAC for DE-LU, NL, BE, FR and AT only (section 2); SI's
  SDAC membership (NEMO: BSP SouthPool) is general knowledge, not read there.
aFRR (capacity and energy) is left out: the reference has no Slovenian (ELES) aFRR capacity
rules and no ELES PICASSO accession date.
"""

from __future__ import annotations

from datetime import date

from markets.eu import (
    HISTORY_START,
    C,
    G,
    U,
    contract,
    fcr_cooperation,
    sdac_day_ahead,
    sidc_continuous,
    sidc_intraday_auctions,
    since_start,
)
from markets.gates import OffsetGate
from markets.plugin import MarketPlugin
from markets.rules import rule

COUNTRY, ZONE, TZ = "SI", "SI", "Europe/Ljubljana"
REVIEW_BY = date(2027, 3, 1)
"""The uncertain values below are checked against BSP SouthPool's rules by this day."""
NOT_READ = "BSP SouthPool local intraday rules not read yet; skeleton placeholder kept"

DAY_AHEAD = sdac_day_ahead(COUNTRY, ZONE, TZ).with_rules(
    in_operation=(
        since_start(
            True,
            "SDAC membership of SI via BSP SouthPool (general knowledge; not in the "
            "market-rules reference, whose section 2 covers DE-LU, NL, BE, FR and AT only)",
            G,
            "SI was coupled before 2022 (IT-SI coupling 2011, SI in MRC/SDAC by 2015, "
            "[G]); confirm the coupling date in a BSP SouthPool or NEMO Committee source",
        ),
    ),
)

INTRADAY_AUCTIONS = sidc_intraday_auctions(COUNTRY, ZONE, TZ).with_rules(
    in_operation=(
        rule(False, HISTORY_START, "NEMO Committee", C, "no pan-European IDA before 2024-06"),
        rule(
            True,
            "2024-06-14",
            "market-rules reference section 3.2 (IDA live since 2024-06-13; "
            "BSP SouthPool is cited for the IDA rules)",
            U,
            "the reference does not state that the SI zone took part from the first IDA "
            "(first delivery day 2024-06-14); confirm with BSP SouthPool",
            review_by=REVIEW_BY,
        ),
    ),
)

INTRADAY_CONTINUOUS = sidc_continuous(
    COUNTRY,
    ZONE,
    TZ,
    contracts=(
        since_start(
            (contract(60, 15), contract(30, 15), contract(15, 15)),
            "skeleton placeholder (vpp markets new); 15:00 D-1 cross-zonal gate opening "
            "from ACER Decision 04/2018",
            U,
            "confirm which contract lengths BSP SouthPool trades locally in SI and when "
            "each opens (the reference gives no SI product list)",
            review_by=REVIEW_BY,
        ),
    ),
    local_gate_closure=(
        since_start(
            OffsetGate(minutes_before=60),
            "skeleton placeholder (vpp markets new)",
            U,
            NOT_READ + ": the SI local gate closure is not in the reference; 60 min equals "
            "the cross-border closure, the earliest it can be (DE, NL, BE and AT close 5 "
            "min before delivery)",
            review_by=REVIEW_BY,
        ),
    ),
)

# FCR Cooperation: SI is a member from January 2021 (market-rules reference, section 5,
# [C: ENTSO-E, APG]), i.e. before the histories start on 2022-01-01, so the shared rules,
# membership included, apply unchanged.
FCR = fcr_cooperation(COUNTRY, ZONE, TZ)

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="Slovenia",
    timezone=TZ,
    markets=(
        DAY_AHEAD,
        INTRADAY_AUCTIONS,
        INTRADAY_CONTINUOUS,
        FCR,
    ),
)
"""This country's markets; vpp-engine loads them through the `vpp.markets` entry point."""
