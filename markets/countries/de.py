"""Germany (bidding zone DE-LU, four TSO control areas): markets and their dated rules.

From 2015-01-01 to 2021-12-31 each market's rules come from `markets.countries.de_history`
(issue 15), put before the records below: hourly day-ahead at -500/+3000 EUR/MWh, aFRR
capacity in daily 4-hour blocks from 2018-07-12 (weekly products before, not offered), FCR
daily from 2019-07-01 and in 4-hour blocks from 2020-07-01, the joint DE-AT-LU zone until
2018-09-30.

Corrected in the audit of 2026-12-06 (issue 17): continuous intraday closes 30 minutes
before delivery for trades across control areas; the 5-minute record of 2026-11-22 is kept,
superseded.
"""

from __future__ import annotations

from datetime import time

from markets.countries._audit import (
    AUDIT,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
    AUDIT_6,
    AUDIT_REVIEW_BY,
    Reading,
    sourced,
)
from markets.countries.de_history import with_german_history
from markets.eu import (
    AT_DE_AFRR,
    AT_DE_AFRR_URL,
    BEFORE,
    HISTORY_START,
    LEGACY_REVIEW_BY,
    NEMO_IDA_URL,
    NOT_MODELLED_BEFORE_PICASSO,
    PICASSO_ACCESSION,
    PICASSO_ACCESSION_URL,
    REGELLEISTUNG_BIDDING,
    REGELLEISTUNG_BIDDING_URL,
    REGELLEISTUNG_FAQ,
    REGELLEISTUNG_FAQ_URL,
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
from markets.rules import rule, rule_id

COUNTRY, ZONE, TZ = "DE", "DE_LU", "Europe/Berlin"
TSOS = "German TSOs on regelleistung.net"

RLM = (
    "regelleistung.net: 'Ausschreibungs- und Gebotsverfahren' and 'Beschaffung von "
    "Regelleistung & Regelarbeit'"
)
RLM_URL = (
    "https://regelleistung.net/de-de/Anbieter-werden/Ausschreibungs-und-Gebotsverfahren; "
    "https://www.regelleistung.net/de-de/Infos-für-Anbieter/Beschaffung-Regelleistung-"
    "Regelarbeit"
)
RLM_READ = "regelleistung.net pages, read 2026-12-06"
REGELLEISTUNG_AFRR_SETTLEMENT = (
    "regelleistung.net: Abrechnung der automatic Frequency Restoration Reserve"
)
REGELLEISTUNG_AFRR_SETTLEMENT_URL = (
    "https://regelleistung.net/de-DE/Infosf%C3%BCrAnbieter/AnbieterabrechnungderRegelenergie/"
    "automaticFrequencyRestorationReserve"
)


def _rlm(parameter: str, note: str) -> Reading:
    """A reading of the German aFRR capacity market (RLM) on regelleistung.net."""
    return Reading(parameter, "2022-01-01", RLM, RLM_URL, RLM_READ, note=note)


DAY_AHEAD, INTRADAY_AUCTIONS, CONTINUOUS = coupled_markets(
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
        since_start(
            OffsetGate(minutes_before=30),
            "EPEX SPOT German intraday continuous lead times (market-rules reference "
            "section 3.1, open point 7); Next Kraftwerke: 'Intraday-Handel'",
            U,
            "trades across the four German control areas close 30 min before delivery; "
            "only trades within one control area run until 5 min before. A bid does "
            "not say where its counterparty is, so 30 min applies to every bid (the "
            "5-min trading within one control area is not modelled). Corrects the "
            "5-min record of 2026-11-22, which let every German trade run to 5 min. "
            "The 30-min rule was not found in a primary source read in this audit",
            reference="https://www.epexspot.com/en/tradingproducts (German intraday "
            "continuous product sheet); https://next-kraftwerke.de/wissen/strommarkt/"
            "intraday-handel",
            review_by=AUDIT_REVIEW_BY,
            supersedes=(
                rule_id(COUNTRY, "intraday_continuous", "local_gate_closure", "2022-01-01"),
            ),
            **AUDIT,
        ),
    ),
)
CONTINUOUS = sourced(
    CONTINUOUS,
    contracts_reading(
        "15- and 30-min cross-border products on the DE-BE and DE-NL borders, where Germany "
        "already had 15-min and 30-min products",
        "hours open 15:00 D-1 and quarter hours 16:00 D-1 (Nord Pool, EPEX SPOT) [general: "
        "not in the release]; half hours assumed to open 15:00 D-1",
    ),
    session=AUDIT_5,
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    Reading(
        "mtu_minutes",
        "2024-06-14",
        "NEMO Committee: Intraday Auctions; BSP SouthPool: IDA trading in 15-minute MTU products",
        NEMO_IDA_URL + "; https://bsp-southpool.com/intraday-auction-market",
        "NEMO Committee IDA page and BSP SouthPool page, read 2026-12-06",
        G,
        "15 min, the German imbalance settlement period; the per-zone resolution is not "
        "listed in the sources read",
    ),
    session=AUDIT_3,
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    ida_mtu_reading(
        "the German-Luxembourg zone (listed as its four TSO areas TBW, AMP, TTG and 50Hz)", 15
    ),
    session=AUDIT_5,
)

AFRR_CAPACITY = sourced(
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
    _rlm(
        "in_operation",
        "aFRR capacity (RLM) auctioned daily for the next day, apart "
        "from the energy since November 2020",
    ),
    _rlm(
        "block_hours",
        "the RLM product is 4 hours long (six per day); energy bids are per quarter hour",
    ),
    _rlm(
        "directions",
        "unlike FCR, aFRR is not symmetric: positive and negative are separate products",
    ),
    _rlm("gate_closure", "the aFRR RLM closes at 09:00 D-1 (mFRR 10:00, FCR 08:00)"),
    _rlm("pricing", "each accepted bid is paid its own capacity price (pay-as-bid)"),
    _rlm(
        "energy_price_attachable",
        "an energy price may be given in the RLM bid; the "
        "TSO carries it into the energy market, where it can be changed per quarter "
        "hour until gate closure",
    ),
    session=AUDIT_3,
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "order_types",
        HISTORY_START,
        REGELLEISTUNG_BIDDING,
        REGELLEISTUNG_BIDDING_URL,
        RLM_READ,
        note="a capacity bid in the RLM names a volume and a capacity price for a 4-hour "
        "product and direction (paid as bid); an energy price is optional",
    ),
    Reading(
        "price_per_block",
        HISTORY_START,
        REGELLEISTUNG_AFRR_SETTLEMENT,
        REGELLEISTUNG_AFRR_SETTLEMENT_URL,
        "regelleistung.net settlement page (undated), read 2026-12-06",
        U,
        "the capacity is settled as the awarded MW times the bid price, paid as bid "
        "(regelleistung.net) [confirmed], which fits a price per MW and 4-hour product; the "
        "data centre's aFRR result files quote capacity prices in (EUR/MW)/h (seen through "
        "third-party readers of those files, not opened here), so the unit a bid takes stays "
        "to be checked in the TSOs' bid documentation (MfRRA)",
    ),
    session=AUDIT_4,
)
FAQ_READ = "regelleistung.net FAQ (undated; names the PQ conditions of 2022-06-03), read 2026-12-06"
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "volume_min_mw",
        HISTORY_START,
        REGELLEISTUNG_FAQ,
        REGELLEISTUNG_FAQ_URL,
        FAQ_READ,
        note="the minimum bid size is 1 MW for every FCR, aFRR and mFRR product",
    ),
    Reading(
        "price_per_block",
        HISTORY_START,
        REGELLEISTUNG_AFRR_SETTLEMENT + "; " + REGELLEISTUNG_FAQ,
        REGELLEISTUNG_AFRR_SETTLEMENT_URL + "; " + REGELLEISTUNG_FAQ_URL,
        "regelleistung.net settlement page (undated) and FAQ (undated), read 2026-12-06",
        U,
        "the capacity is settled as the awarded MW times the bid price, paid as bid "
        "[confirmed]; the FAQ's worked example quotes a capacity price in (EUR/MW)/h and pays "
        "it times MW times the 4 hours of the product (an mFRR bid on the same capacity "
        "market), which points to a price per MW and hour, against the price per MW and "
        "product held here. Not changed on an mFRR example alone: the aFRR bid unit stays to "
        "be checked in the TSOs' bid documentation (MfRRA). Revises the record of the same "
        "day, which did not know the FAQ",
    ),
    session=AUDIT_5,
)

AFRR_ENERGY = sourced(
    picasso_afrr_energy(
        COUNTRY,
        ZONE,
        TZ,
        operator=TSOS,
        accession=rule(True, "2022-06-22", "ENTSO-E, netztransparenz", C, "DE TSOs join PICASSO"),
    ),
    Reading(
        "in_operation",
        "2022-06-22",
        PICASSO_ACCESSION,
        PICASSO_ACCESSION_URL,
        "TransnetBW PICASSO page and ENTSO-E news of 2022-06-01, read 2026-12-06",
        note="50Hertz, TenneT Germany, Amprion and TransnetBW acceded to PICASSO on 2022-06-22",
    ),
    session=AUDIT_3,
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
        "German aFRR energy was activated from a German-Austrian common merit order from July "
        "2016 up to and including 2022-06-21, the day before the PICASSO accession "
        "[confirmed]; " + NOT_MODELLED_BEFORE_PICASSO,
    ),
    Reading(
        "order_types",
        "2022-06-22",
        REGELLEISTUNG_BIDDING,
        REGELLEISTUNG_BIDDING_URL,
        RLM_READ,
        note="in the energy market (RAM) each quarter hour of the delivery day is bid and "
        "bought on its own, by holders of capacity and by free bids",
    ),
    session=AUDIT_4,
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    Reading(
        "volume_min_mw",
        "2022-06-22",
        REGELLEISTUNG_FAQ,
        REGELLEISTUNG_FAQ_URL,
        FAQ_READ,
        G,
        "the minimum bid size is 1 MW for every FCR, aFRR and mFRR product [confirmed]; "
        "that it holds for energy bids on PICASSO [general]: the same FAQ still calls energy "
        "pay-as-bid, so parts of it predate the accession of 2022-06-22",
    ),
    session=AUDIT_5,
)

AFRR_ENERGY = sourced(
    AFRR_ENERGY, picasso_gate_reading(COUNTRY, TSOS, "2022-06-22"), session=AUDIT_6
)

_BUILT_IN = MarketPlugin(
    country=COUNTRY,
    name="Germany",
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

PLUGIN = _BUILT_IN.model_copy(update={"markets": with_german_history(_BUILT_IN.markets)})
"""Germany's markets, each with its rules since 2015-01-01."""
