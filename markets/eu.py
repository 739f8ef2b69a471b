"""Building blocks for the pan-European markets that most countries share.

SDAC (day-ahead), SIDC (continuous intraday and its auctions), PICASSO (aFRR energy) and the
FCR Cooperation run under common rules, so their facts live here once; a country plugin
calls these with its own zone and time zone and overrides what differs locally (its local
intraday gate closure, say). Plugin packages outside vpp-engine use them the same way.

Facts come from ``market-rules-reference.md`` (December 2025), which tags each one
confirmed, general or uncertain; the tags carry over into each `Rule`.

Each block states its gates in the `timezone` it is given and cuts that zone's calendar
days. SDAC and SIDC define delivery days and gate times in CET/CEST for every zone, so
this is right for the five built-in countries; a plugin for a zone on another clock must
pass a CET/CEST zone (``Europe/Brussels``) as its market time zone. Histories start on
`HISTORY_START`: a value in force before then is dated `HISTORY_START` with a note saying so.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, TypeVar

from markets.countries._audit import (
    AUDIT,
    AUDIT_4,
    AUDIT_5,
    AUDIT_6,
    AUDIT_REVIEW_BY,
    Reading,
    sourced,
)
from markets.gates import DailyGate, OffsetGate
from markets.kinds import (
    Auction,
    AuctionSession,
    BalancingCapacity,
    BalancingEnergy,
    Continuous,
    ContinuousContract,
    Market,
)
from markets.products import Direction, MarketId, OrderType, Pricing, Reserve
from markets.rules import Confidence, Rule, rule, rule_id
from regulatory.rules import LEGACY_REVIEW_BY as LEGACY_REVIEW_BY

HISTORY_START = date(2022, 1, 1)
"""First delivery day the built-in market histories cover."""

BEFORE = "in force before 2022-01-01, where this history starts"

M = TypeVar("M", bound=Market)

C = Confidence.CONFIRMED
G = Confidence.GENERAL
U = Confidence.UNCERTAIN

# --- sources read in the audit of 2026-12-06 (session 2); each URL opens the page read ---
NORD_POOL_SDAC = "Nord Pool support: 'About SDAC 15-minute member test'"
NORD_POOL_SDAC_URL = (
    "https://support.nordpoolgroup.com/support/solutions/articles/"
    "8000121859-about-sdac-15-minute-member-test"
)
OKTE_15MTU_URL = (
    "https://okte.sk/en/information/news/2025-10-09-successful-implementation-of-the-15mtu-project"
)
ACER_HMMCP_2017 = (
    "ACER decisions of 2017-11-14 on the harmonised maximum and minimum clearing prices "
    "for SDAC and SIDC (Mondo Visione report)"
)
ACER_HMMCP_2017_URL = (
    "https://mondovisione.com/news/acer-decides-on-harmonized-maximum-and-minimum-clearing-"
    "prices-used-for-market-c-20171120; https://www.test.ote-cr.cz/en/short-term-markets/"
    "23-11-2017-acer-decision-on-the-nominated-electricity-market-operators2019-proposal-for-"
    "harmonized-maximum-and-minimum-clearing-prices-for-single-day-ahead-and-intraday-coupling"
)
SEMOPX_HMMCP = (
    "SEMOpx market message 'Harmonized Minimum and Maximum Clearing Price - SDAC Process Trigger'"
)
SEMOPX_HMMCP_URL = "https://www.sem-o.com/market-messages/message/index.xml?message=5852"
EURELECTRIC_HMMCP_URL = (
    "https://www.eurelectric.org/publications/response-to-nemos-consultation-on-"
    "harmonization-of-minimum-and-maximum-clearing-prices-for-sdac-and-for-sidc"
)
NEMO_IDA = "NEMO Committee: Intraday Auctions; ENTSO-E: Intraday Auctions on SIDC"
NEMO_IDA_URL = (
    "https://www.nemo-committee.eu/ida; https://www.entsoe.eu/network_codes/cacm/implementation/ida"
)
ACER_IDCZGT = (
    "ACER Decision 04/2018 on intraday cross-zonal gate opening and closure times "
    "(netztransparenz.de)"
)
ACER_IDCZGT_URL = (
    "https://www.netztransparenz.de/EU-Network-Codes/CACM-Verordnung/"
    "Intraday-Cross-Zonal-Gate-Opening-And-Closure-Times-IDCZGTs"
)
PICASSO_ACCESSION = "TransnetBW: PICASSO; ENTSO-E: go-live of PICASSO (2022-06-01)"
PICASSO_ACCESSION_URL = (
    "https://www.transnetbw.com/en/energy-market/ancillary-services/picasso; "
    "https://www.entsoe.eu/news/2022/06/01/go-live-of-picasso-the-pan-european-platform-"
    "for-the-international-coordination-of-automatic-frequency-restoration-reserves-and-"
    "stable-system-operation/"
)
REGELLEISTUNG_PROCUREMENT = (
    "regelleistung.net: Beschaffung von Regelleistung & Regelarbeit; "
    "Ausschreibungs- und Gebotsverfahren"
)
REGELLEISTUNG_PROCUREMENT_URL = (
    "https://www.regelleistung.net/de-de/Infos-für-Anbieter/Beschaffung-Regelleistung-"
    "Regelarbeit; https://regelleistung.net/de-de/Anbieter-werden/"
    "Ausschreibungs-und-Gebotsverfahren"
)
APG_FCR = "APG: Tenders for Frequency Containment Reserve in the APG Control Area"
APG_FCR_URL = "https://www.apg.at/en/markt/balancing/primary-control/tenders"
SWISSGRID_FCR = "Swissgrid news of 2019-07-09 on the FCR Cooperation's daily auctions"
SWISSGRID_FCR_URL = "https://swissgrid.ch/de/home/newsroom/newsfeed/20190709-01.html"
ELIA_AFRR_TC_2024 = "Elia: consultation on the amendment to the T&C BSP aFRR (2024-02-28)"
ELIA_AFRR_TC_2024_URL = (
    "https://elia.be/en/public-consultation/20240228_public-consultation-on-the-proposal-"
    "for-amendment-to-the-tc-bsp-afrr"
)
WATTSNEXT_PICASSO = (
    "wattsnext (secondary, citing ENTSO-E): PICASSO : la plateforme européenne pour la "
    "réserve secondaire poursuit son expansion"
)
WATTSNEXT_PICASSO_URL = "https://wattsnext.fr/point-de-vues/picasso-reserve-secondaire"
ACER_PICASSO_2022 = (
    "NERC Lithuania: ACER has decided on the amendment of the common pricing methodology "
    "(2022); ACER news of 2024-02-28 on the pricing methodology amendments"
)
ACER_PICASSO_2022_URL = (
    "https://www.vert.lt/en/Pages/Updates/2022/acer-has-decided-on-the-amendment-of-the-"
    "common-pricing-methodology-for-european-electricity-balancing-markets.aspx; "
    "https://www.acer.europa.eu/news-and-events/news/acer-will-evaluate-amendments-"
    "pricing-methodology-and-framework-related-electricity-balancing-platforms"
)
E_AND_M_IDCZGCT_URL = (
    "https://www.energie-und-management.de/nachrichten/recht/detail//gate-closure-time-im-"
    "intraday-stromhandel-wird-verkuerzt-346006"
)
ACER_IDCZGCT_2025_NEWS_URL = (
    "https://mondovisione.com/media-and-resources/news/wellstat-appoints-jeffrey-britell-as-"
    "chief-operating-officer-amidst-period-of-st-2025729/ (ACER news of 2025-07-29)"
)


NORD_POOL_IDA = "Nord Pool support: 'About the SIDC Intraday Auctions (IDAs)'"
NORD_POOL_IDA_URL = (
    "https://support.nordpoolgroup.com/support/solutions/articles/8000111575-about-the-sidc-"
    "intraday-auctions-idas-"
)
NORD_POOL_IDA_READ = "Nord Pool support article (undated, late 2024), read 2026-12-06"


def ida_mtu_reading(country_note: str, minutes: int) -> Reading:
    """What Nord Pool's IDA article says of one zone's IDA MTU (audit session 5): it lists
    the MTU per bidding zone, which the sources read before did not."""
    return Reading(
        "mtu_minutes",
        "2024-06-14",
        NORD_POOL_IDA,
        NORD_POOL_IDA_URL,
        NORD_POOL_IDA_READ,
        C,
        f"the IDAs, live since 2024-06-13, offer {minutes}-min MTU products in {country_note} "
        "(Nord Pool's list of MTU per bidding zone); one resolution of simple orders per zone "
        "(NEMO Committee). Revises the record of the same day, which had not found the "
        "per-zone list",
    )


AMPRION_XB_PRODUCTS = (
    "Amprion press release: 'SIDC: New 15 and 30 minutes cross-border intraday products on "
    "bidding zone borders between Belgium, Germany, France and The Netherlands'"
)
AMPRION_XB_PRODUCTS_URL = "https://amprion.net/Presse/Presse-Detailseite_27840.html"


def contracts_reading(
    borders: str,
    openings: str = "every contract opening at the cross-zonal gate opening 15:00 D-1 (ACER "
    "Decision 04/2018) [general: the opening of each local contract was not read]",
) -> Reading:
    """What Amprion's release of December 2020 says of a zone's continuous contracts
    (audit session 5): 15- and 30-min cross-border products from 2020-12-10 beside the
    60-min ones, in the NEMOs' shared order books."""
    return Reading(
        "contracts",
        HISTORY_START,
        AMPRION_XB_PRODUCTS + "; " + ACER_IDCZGT,
        AMPRION_XB_PRODUCTS_URL + "; " + ACER_IDCZGT_URL,
        "Amprion release of December 2020 (launch 2020-12-10); ACER Decision 04/2018; read "
        "2026-12-06",
        G,
        f"60-, 30- and 15-min contracts in continuous trading: from 2020-12-10 {borders}, "
        f"beside the 60-min products, all in the NEMOs' shared order books [confirmed]; "
        f"{openings}",
    )


REGELLEISTUNG_AFRR = (
    "regelleistung.net: Secondary control reserve (overview of current business rules for aFRR)"
)
REGELLEISTUNG_AFRR_URL = "https://www.regelleistung.net/ext/static/srl/?lang=en"
AFRRIF = (
    "ACER Decision 02/2020 of 2020-01-24 on the aFRR implementation framework (aFRRIF), Annex I, "
    "and the All TSOs' aFRRIF proposal of 2018-12-18: Article 8, 'Balancing energy gate opening "
    "and gate closure times for the standard aFRR balancing energy product bids'"
)
AFRRIF_URL = (
    "https://9pdf.org/document/zkw801ke-annex-decision-afrrif-pursuant-article-regulation-"
    "decided-agency.html; https://9pdf.org/document/y963wgpl-proposal-implementation-"
    "framework-european-platform-exchange-balancing-energy.html (copies of the decision and "
    "of the proposal)"
)


def picasso_gate_reading(country: str, operator: str, accession: date | str) -> Reading:
    """What the sixth audit session read of the aFRR energy bid gate closure (25 minutes
    before the quarter hour) for `country`'s PICASSO market from its `accession`.

    The German TSOs state it for their energy market [confirmed for DE]; for another
    member it rests on the aFRRIF setting one gate for the standard product bids of every
    member, whose article title, not text, was read [general].
    """
    german = country == "DE"
    note = (
        "the German TSOs' overview gives the aFRR energy market as: gate opening d-1 (about "
        "12:00), gate closure t-25, product length 15 minutes, minimum offer 1 MW: bids close "
        "25 minutes before their quarter hour [confirmed]"
    )
    if not german:
        note = (
            "25 minutes before the quarter hour: the German TSOs state it (t-25) for the German "
            "aFRR energy market on PICASSO [confirmed for DE]; the aFRRIF sets one balancing "
            "energy gate closure for the standard aFRR product bids of every member TSO "
            "(Article 8; its title was read in the tables of contents of ACER's decision and "
            "the TSOs' proposal, not its text), so the same 25 minutes is taken for "
            f"{operator}'s BSPs [general]; {operator}'s own terms were not read"
        )
    return Reading(
        "gate_closure",
        accession,
        REGELLEISTUNG_AFRR if german else REGELLEISTUNG_AFRR + "; " + AFRRIF,
        REGELLEISTUNG_AFRR_URL if german else REGELLEISTUNG_AFRR_URL + "; " + AFRRIF_URL,
        "regelleistung.net page (undated, PICASSO era: t-25)"
        + ("" if german else "; ACER Decision 02/2020 of 2020-01-24")
        + ", read 2026-12-06",
        Confidence.CONFIRMED if german else Confidence.GENERAL,
        note,
    )


REGELLEISTUNG_FAQ = "regelleistung.net: FAQ (English)"
REGELLEISTUNG_FAQ_URL = "https://www.regelleistung.net/Help/FAQ"
AT_DE_AFRR = "netztransparenz.de: aFRR-AT-DE-Kooperation (archive of the German TSOs)"
AT_DE_AFRR_URL = (
    "https://netztransparenz.de/de-de/Regelenergie/Altdaten-Archiv/aFRR-AT-DE-Kooperation"
)
REGELLEISTUNG_BIDDING = "regelleistung.net: Ausschreibungs- und Gebotsverfahren"
REGELLEISTUNG_BIDDING_URL = (
    "https://regelleistung.net/de-de/Anbieter-werden/Ausschreibungs-und-Gebotsverfahren"
)
RTE_AFRR_ACTIVATION = (
    "RTE news of 2023-11-28: 'Automatic frequency restoration reserve activation market in France'"
)
RTE_AFRR_ACTIVATION_URL = (
    "https://services-rte.com/en/news/automatic-frequency-restoration-reserve-activation-"
    "market-in-france.html"
)
RTE_PICASSO_URL = "https://services-rte.com/en/learn-more-about-our-services/picasso.html"
NOT_MODELLED_BEFORE_PICASSO = (
    "that local market is not modelled: no aFRR energy product is offered before the "
    "accession [modelling choice]"
)


def since_start(
    value: Any, source: str, confidence: Confidence = C, note: str = BEFORE, **provenance: Any
) -> Rule:
    """A rule already in force when the history starts; `provenance` as for `rule`."""
    return rule(value, HISTORY_START, source, confidence, note, **provenance)


def sdac_day_ahead(country: str, zone: str, timezone: str) -> Auction:
    """Single day-ahead coupling: one auction at 12:00 D-1 for the whole delivery day."""
    market = Auction(
        market=MarketId.DAY_AHEAD,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator="SDAC (EPEX SPOT, Nord Pool and other NEMOs)",
        in_operation=(since_start(True, "Nord Pool; NEMO Committee"),),
        mtu_minutes=(
            since_start(60, "Nord Pool"),
            rule(
                15,
                "2025-10-01",
                "Nord Pool, OKTE, Argus",
                C,
                "first 15-minute auction on 2025-09-30; the 11 June 2025 go-live was postponed",
            ),
        ),
        sessions=(
            since_start(
                (
                    AuctionSession(
                        name="SDAC", gate_closure=DailyGate(days_before=1, local_time=time(12))
                    ),
                ),
                "Nord Pool",
                note="12:00 D-1, one auction for 00-24 D; long-standing",
            ),
        ),
        volume_min_mw=(
            since_start(0.1, "Nord Pool, EPEX SPOT (volume step)", G, "taken as one volume step"),
        ),
        volume_step_mw=(since_start(0.1, "Nord Pool, EPEX SPOT"),),
        price_min=(
            since_start(-500.0, "SEMOpx 2023; Nord Pool (HMMCP)"),
            rule(
                -500.0,
                "2023-01-11",
                "Nord Pool, SEMOpx (amended HMMCP)",
                U,
                "the amended HMMCP lowers the minimum by 100 after a trigger (a window opened "
                "2023-11-24); no change since was found",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        price_max=(
            since_start(3000.0, "EXAA, Eurelectric"),
            rule(
                4000.0,
                "2022-05-11",
                "EXAA, Eurelectric; SDAC notices (BSP SouthPool)",
                G,
                "raised to +4,000 in 2022 [confirmed]; applied from the trading session of "
                "2022-05-10, so first delivery day 2022-05-11 [general]; the planned +5,000 "
                "step was cancelled",
            ),
            rule(
                4000.0,
                "2023-01-11",
                "Nord Pool, SEMOpx (amended HMMCP)",
                U,
                "the amended HMMCP can raise the maximum after a trigger; its rule and any "
                "change since were not found",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        price_tick=(
            since_start(
                0.01,
                "Nord Pool",
                U,
                "0.01 at Nord Pool; an older EPEX sheet says one decimal (a NEMO parameter)",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        pricing=(since_start(Pricing.PAY_AS_CLEARED, "Euphemia marginal pricing", G),),
        order_types=(
            since_start(
                (OrderType.CURVE, OrderType.SINGLE, OrderType.BLOCK),
                "Nord Pool, ALPEX, EPEX SPOT",
                note="curve and block orders; a single bid is a one-step curve",
            ),
        ),
        curve_points_min=(
            since_start(2, "EPEX SPOT", G, "EPEX: 2-256 price/quantity pairs; a NEMO parameter"),
        ),
        curve_points_max=(
            since_start(256, "EPEX SPOT", G, "EPEX: 2-256 price/quantity pairs; a NEMO parameter"),
        ),
    )
    return sourced(sourced(market, *_SDAC_READINGS), *_SDAC_READINGS_4, session=AUDIT_4)


EPEX_DA = "EPEX SPOT: Day-Ahead Auction in the Netherlands & Belgium (product page, hourly era)"
_EPEX_DA = {
    "source": EPEX_DA,
    "reference": "http://www.epexspot.com/de/produkte/auktionshandel/Belgien",
    "document_version": "EPEX SPOT product page, undated (hourly era), read 2026-12-06",
}
_EPEX_DA_CURVE = "single-contract orders with 2 to 256 price/quantity pairs (a NEMO parameter)"
_NORD_POOL = {
    "source": NORD_POOL_SDAC,
    "reference": NORD_POOL_SDAC_URL,
    "document_version": "Nord Pool support article, read 2026-12-06",
}
_SDAC_READINGS = (
    Reading("in_operation", HISTORY_START, **_NORD_POOL),
    Reading(
        "mtu_minutes", HISTORY_START, note="60-minute MTU until the 15-minute go-live", **_NORD_POOL
    ),
    Reading(
        "mtu_minutes",
        "2025-10-01",
        NORD_POOL_SDAC + "; OKTE news of 2025-10-09 (15MTU implemented on 2025-09-30 for "
        "delivery day 2025-10-01, rollback period passed)",
        NORD_POOL_SDAC_URL + "; " + OKTE_15MTU_URL,
        "Nord Pool support article and OKTE news of 2025-10-09, read 2026-12-06",
        note="first 15-minute auction on 2025-09-30 for delivery on 2025-10-01; the "
        "11 June 2025 go-live was postponed",
    ),
    Reading("sessions", HISTORY_START, **_NORD_POOL),
    Reading("order_types", HISTORY_START, **_NORD_POOL),
    Reading(
        "price_min",
        HISTORY_START,
        ACER_HMMCP_2017 + "; " + SEMOPX_HMMCP,
        ACER_HMMCP_2017_URL + "; " + SEMOPX_HMMCP_URL,
        "ACER decision of 2017-11-14 (news of 2017-11-20); SEMOpx message of 2023-11-24",
    ),
    Reading(
        "price_min",
        "2023-01-11",
        SEMOPX_HMMCP,
        SEMOPX_HMMCP_URL,
        "SEMOpx market message of 2023-11-24",
        U,
        "the minimum was still -500 on 2023-11-24, when an observation window ran to "
        "2023-12-23 (a price <= -350 in it lowers the minimum by 100 EUR/MWh); whether it "
        "triggered, and any change since, was not found",
    ),
    Reading(
        "price_max",
        HISTORY_START,
        ACER_HMMCP_2017,
        ACER_HMMCP_2017_URL,
        "ACER decision of 2017-11-14 (news of 2017-11-20)",
        note="+3,000 EUR/MWh since the 2017 decision, raised in 2022",
    ),
    Reading(
        "price_max",
        "2022-05-11",
        "Eurelectric: response to the NEMOs' consultation on the HMMCP for SDAC and SIDC "
        "(2022): the SDAC maximum was raised by 1,000 to 4,000 EUR/MWh",
        EURELECTRIC_HMMCP_URL,
        "Eurelectric position paper of 2022, read 2026-12-06",
        G,
        "+4,000 EUR/MWh confirmed; the first delivery day 2022-05-11 is not in the source",
    ),
    Reading(
        "price_max",
        "2023-01-11",
        "Eurelectric on the NEMOs' 2022 HMMCP consultation; " + SEMOPX_HMMCP,
        EURELECTRIC_HMMCP_URL + "; " + SEMOPX_HMMCP_URL,
        "Eurelectric paper of 2022; SEMOpx message of 2023-11-24",
        U,
        "the amended HMMCP raises the maximum dynamically after a trigger (Eurelectric: a "
        "dynamic increase stays in scope); the trigger rule for the maximum and any change "
        "since +4,000 were not found",
    ),
    Reading("curve_points_min", HISTORY_START, note=_EPEX_DA_CURVE, **_EPEX_DA),
    Reading("curve_points_max", HISTORY_START, note=_EPEX_DA_CURVE, **_EPEX_DA),
    Reading("volume_step_mw", HISTORY_START, note="quantities in MW with one decimal", **_EPEX_DA),
    Reading(
        "volume_min_mw",
        HISTORY_START,
        confidence=G,
        note="quantities in MW with one decimal [confirmed]; the smallest order taken as "
        "one step [general]",
        **_EPEX_DA,
    ),
    Reading(
        "price_tick",
        HISTORY_START,
        confidence=U,
        note="EPEX's page (hourly era) gives prices with one decimal; Nord Pool's 0.01 is "
        "kept as the finer NEMO tick until a current EPEX rule book is read",
        **_EPEX_DA,
    ),
)
"""What the audit of 2026-12-06 read for the day-ahead records."""

PSE_DA_URL = "https://www.pse.pl/web/pse-eng/day-ahead-market"
TIME2MARKET_COUPLING_URL = "https://time2market.dk/blog/market-coupling-in-european-power-markets"
_SDAC_READINGS_4 = (
    Reading(
        "pricing",
        HISTORY_START,
        NEMO_IDA + " (EUPHEMIA serves IDA and SDAC); PSE: Day-ahead market (SDAC); "
        "time2market (secondary): market coupling in European power markets",
        NEMO_IDA_URL + "; " + PSE_DA_URL + "; " + TIME2MARKET_COUPLING_URL,
        "NEMO Committee and ENTSO-E IDA pages, PSE and time2market pages (undated), read "
        "2026-12-06",
        G,
        "SDAC matches orders in an implicit auction run by EUPHEMIA (PSE, a TSO); the same "
        "algorithm and principles serve the IDAs, which set a clearing price per bidding zone "
        "from the matched orders (NEMO Committee, ENTSO-E); one price per bidding zone and MTU "
        "(time2market, secondary). A primary text saying that every accepted SDAC order "
        "settles at its zone's clearing price was not read: the EUPHEMIA public description "
        "linked from the NEMO Committee's page is where to check",
    ),
)
"""What the fourth session of the audit of 2026-12-06 read for the day-ahead records."""


def _ida_session(name: str, days_before: int, closes: int, delivery_from: int) -> AuctionSession:
    return AuctionSession(
        name=name,
        gate_closure=DailyGate(days_before=days_before, local_time=time(closes)),
        delivery_from=time(delivery_from),
    )


def sidc_intraday_auctions(country: str, zone: str, timezone: str) -> Auction:
    """The three pan-European intraday auctions (IDA1-3), live since 2024-06-13.

    The MTU is a zone's own (one resolution of simple orders per zone): country plugins
    audit it, as France's 30 minutes until 2025 shows."""
    market = Auction(
        market=MarketId.INTRADAY_AUCTION,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator="SIDC intraday auctions (NEMOs, Euphemia)",
        in_operation=(
            rule(False, HISTORY_START, "NEMO Committee", C, "no pan-European IDA before 2024-06"),
            rule(
                True,
                "2024-06-14",
                "NEMO Committee, ENTSO-E, OTE",
                G,
                "live since 2024-06-13; 2024-06-14 taken as the first delivery day "
                "served by all three auctions",
            ),
        ),
        mtu_minutes=(rule(15, "2024-06-14", "NEMO Committee, BSP SouthPool"),),
        sessions=(
            rule(
                (
                    _ida_session("IDA1", 1, 15, 0),
                    _ida_session("IDA2", 1, 22, 0),
                    _ida_session("IDA3", 0, 10, 12),
                ),
                "2024-06-14",
                "NEMO Committee, ENTSO-E, OTE",
                note="IDA1 D-1 15:00 and IDA2 D-1 22:00 for 00-24 D; IDA3 D 10:00 for 12-24 D",
            ),
        ),
        volume_min_mw=(rule(0.1, "2024-06-14", "as SDAC (NEMO Committee)", G),),
        volume_step_mw=(rule(0.1, "2024-06-14", "as SDAC (NEMO Committee)", G),),
        price_min=(
            rule(
                -9999.0,
                "2024-06-14",
                "working assumption",
                U,
                "IDA limits not yet in HMMCP",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        price_max=(
            rule(
                9999.0,
                "2024-06-14",
                "working assumption",
                U,
                "IDA limits not yet in HMMCP",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        price_tick=(
            rule(
                0.01,
                "2024-06-14",
                "as SDAC (Nord Pool)",
                U,
                "as SDAC: the EPEX tick is unclear",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        pricing=(rule(Pricing.PAY_AS_CLEARED, "2024-06-14", "Euphemia marginal pricing", G),),
        order_types=(
            rule(
                (OrderType.CURVE, OrderType.SINGLE, OrderType.BLOCK),
                "2024-06-14",
                "NEMO Committee, BSP SouthPool",
                note="product set as in SDAC; one resolution of simple orders per zone",
            ),
        ),
        curve_points_min=(rule(2, "2024-06-14", "as SDAC (EPEX SPOT)", G),),
        curve_points_max=(rule(256, "2024-06-14", "as SDAC (EPEX SPOT)", G),),
    )
    return sourced(sourced(market, *_IDA_READINGS), *_IDA_READINGS_4, session=AUDIT_4)


_NEMO_IDA = {
    "source": NEMO_IDA,
    "reference": NEMO_IDA_URL,
    "document_version": "NEMO Committee IDA page and ENTSO-E IDA page, read 2026-12-06",
}
_IDA_LIMITS_NOTE = (
    "the 2017 SIDC limits (+/-9,999) were set for continuous trading; the NEMOs consulted "
    "in 2022 on adding IDA limits to the HMMCP methodology and the outcome was not found, "
    "so +/-9,999 is a working assumption"
)
_IDA_READINGS = (
    Reading("in_operation", HISTORY_START, **_NEMO_IDA),
    Reading(
        "in_operation",
        "2024-06-14",
        confidence=G,
        note="implemented on 2024-06-13 [confirmed]; 2024-06-14 is taken as the first "
        "delivery day served by all three auctions [general]",
        **_NEMO_IDA,
    ),
    Reading("sessions", "2024-06-14", **_NEMO_IDA),
    Reading("order_types", "2024-06-14", **_NEMO_IDA),
    *(
        Reading(
            bound,
            "2024-06-14",
            ACER_HMMCP_2017 + "; Eurelectric on the NEMOs' 2022 HMMCP consultation",
            ACER_HMMCP_2017_URL + "; " + EURELECTRIC_HMMCP_URL,
            "ACER decision of 2017-11-14; Eurelectric paper of 2022",
            U,
            _IDA_LIMITS_NOTE,
        )
        for bound in ("price_min", "price_max")
    ),
    *(
        Reading(
            parameter,
            "2024-06-14",
            NEMO_IDA + "; " + EPEX_DA,
            NEMO_IDA_URL + "; http://www.epexspot.com/de/produkte/auktionshandel/Belgien",
            "NEMO Committee IDA page; EPEX SPOT day-ahead product page; read 2026-12-06",
            G,
            "the IDAs support the products of SDAC (NEMO Committee) [confirmed]; the SDAC "
            "values are taken for the IDAs [general]",
        )
        for parameter in ("volume_min_mw", "volume_step_mw", "curve_points_min", "curve_points_max")
    ),
)
"""What the audit of 2026-12-06 read for the intraday-auction records."""

_IDA_READINGS_4 = (
    Reading(
        "pricing",
        "2024-06-14",
        NEMO_IDA,
        NEMO_IDA_URL + " (also read at https://preview.entsoe.eu/network_codes/cacm/"
        "implementation/ida)",
        "NEMO Committee IDA page and ENTSO-E IDA page (undated), read 2026-12-06",
        C,
        "the IDAs take all valid orders of an auction and determine clearing prices for the "
        "bidding zones from the matched orders (ENTSO-E), with EUPHEMIA, the SDAC algorithm "
        "(NEMO Committee): an accepted order settles at its zone's clearing price",
    ),
)
"""What the fourth session of the audit read for the intraday-auction records."""

OTE_PARAMETERS = "OTE (Czech NEMO): Parameters of short-term markets (electricity)"
OTE_PARAMETERS_URL = (
    "https://ote-cr.cz/en/short-term-markets/electricity/parameters-of-short-term-markets"
)
_OTE = {
    "source": OTE_PARAMETERS,
    "reference": OTE_PARAMETERS_URL,
    "document_version": "OTE page (undated; names changes of 2024-07-01), read 2026-12-06",
}
_IDA_READINGS_6 = (
    Reading(
        "price_tick",
        "2024-06-14",
        confidence=G,
        note="OTE, a NEMO in the same SIDC intraday auctions, lists for them a price tick of "
        "0.01 EUR/MWh (and 0.1 MW quantity tick, 0.1 MW minimum volume) [confirmed at OTE]; "
        "the tick is a NEMO parameter, and EPEX SPOT's and Nord Pool's for these zones were "
        "not read [general]",
        **_OTE,
    ),
    *(
        Reading(
            bound,
            "2024-06-14",
            confidence=U,
            note="OTE lists the intraday auctions' price limits as -9,999 and +9,999 EUR/MWh "
            "[confirmed at OTE]; being harmonised clearing prices of the single intraday "
            "coupling, they should be one set for every zone the auctions clear together, but "
            "the NEMOs' amended HMMCP methodology, which would say so for these zones, was not "
            "read: +/-9,999 stays uncertain, now with a NEMO's page behind it. Revises the "
            "record of the same day, which held it as a working assumption",
            **_OTE,
        )
        for bound in ("price_min", "price_max")
    ),
)
"""What the sixth session of the audit read for the intraday-auction records."""


def contract(minutes: int, opens_at: int) -> ContinuousContract:
    """A continuous contract of `minutes`, open from `opens_at`:00 D-1."""
    return ContinuousContract(
        minutes=minutes, gate_opening=DailyGate(days_before=1, local_time=time(opens_at))
    )


def sidc_continuous(
    country: str,
    zone: str,
    timezone: str,
    *,
    contracts: tuple[Rule[tuple[ContinuousContract, ...]], ...],
    local_gate_closure: tuple[Rule[OffsetGate], ...],
) -> Continuous:
    """Continuous intraday (SIDC): cross-border closure 60 min before delivery, local later."""
    market = Continuous(
        market=MarketId.INTRADAY_CONTINUOUS,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator="SIDC continuous intraday (EPEX SPOT, Nord Pool)",
        in_operation=(since_start(True, "ACER Decision 04/2018"),),
        contracts=contracts,
        cross_border_gate_closure=(
            since_start(
                OffsetGate(minutes_before=60),
                "ACER Decision 04/2018",
                note="ACER approved 30 min in December 2025, optional per border from "
                "2026-01-01 with 60 min the mandatory default; per-border 30 min is not modelled",
            ),
            rule(
                OffsetGate(minutes_before=60),
                "2026-01-01",
                "Regulation (EU) 2024/1747 amending Regulation (EU) 2019/943, Art. 8; Elia "
                "consultation on a derogation (2025-05-12); ACER on the TSOs' proposal of "
                "2025-07-02 to shorten the closure from 60 to 30 min",
                U,
                "the regulation moves the cross-zonal intraday gate closure to 30 min before "
                "real time from 2026, with derogations (Elia consulted on one); which borders "
                "of this zone apply 30 min, and since when, was not found: 60 min is kept, the "
                "earlier and so the safe bound for cross-border matching",
                reference="https://eur-lex.europa.eu/eli/reg/2024/1747; https://www.elia.be/en/"
                "public-consultation/20250512_public-consultation-on-the-request-for-"
                "derogation-from-implementation-of-the-intraday",
                document_version="OJ L 2024/1747 of 2024-06-26; Elia consultation 2025-05-12",
                review_by=AUDIT_REVIEW_BY,
                **AUDIT,
            ),
        ),
        local_gate_closure=local_gate_closure,
        volume_min_mw=(since_start(0.1, "EPEX SPOT", note="one volume step"),),
        volume_step_mw=(since_start(0.1, "EPEX SPOT"),),
        price_min=(since_start(-9999.99, "EPEX SPOT (BE, AT sheets)"),),
        price_max=(since_start(9999.99, "EPEX SPOT (BE, AT sheets)"),),
        price_tick=(
            since_start(
                0.01,
                "EPEX SPOT",
                U,
                "older EPEX sheets say 0.1; now probably 0.01",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        pricing=(
            since_start(
                Pricing.PAY_AS_BID, "Modo Energy", note="trade at the resting order's price"
            ),
        ),
        order_types=(since_start((OrderType.SINGLE,), "EPEX SPOT (AT)", note="limit orders"),),
    )
    market = sourced(
        sourced(market, *_CONTINUOUS_READINGS), *_CONTINUOUS_READINGS_4, session=AUDIT_4
    )
    return sourced(market, *_CONTINUOUS_READINGS_5, session=AUDIT_5)


EPEX_BE_INTRADAY = "EPEX SPOT: Intraday Continuous - Belgium (product page, hourly era)"
EPEX_BE_INTRADAY_URL = "http://www.epexspot.com/fr/produits/intradaycontinuous/belgique"
_EPEX_BE = {
    "source": EPEX_BE_INTRADAY,
    "reference": EPEX_BE_INTRADAY_URL,
    "document_version": "EPEX SPOT product page, undated (hourly era), read 2026-12-06",
}
_CONTINUOUS_READINGS = (
    Reading(
        "in_operation",
        HISTORY_START,
        ACER_IDCZGT,
        ACER_IDCZGT_URL,
        "ACER Decision 04/2018 of 2018-04-24 (netztransparenz.de page read 2026-12-06)",
    ),
    Reading(
        "cross_border_gate_closure",
        HISTORY_START,
        ACER_IDCZGT,
        ACER_IDCZGT_URL,
        "ACER Decision 04/2018 of 2018-04-24 (netztransparenz.de page read 2026-12-06)",
        note="60 min before the MTU on every border from 2019-01-01 (30 min only on the "
        "Estonia-Finland border); the 2026 change is its own record",
    ),
    Reading("volume_min_mw", HISTORY_START, note="one volume step (0.1 MW)", **_EPEX_BE),
    Reading("volume_step_mw", HISTORY_START, **_EPEX_BE),
    Reading("price_min", HISTORY_START, **_EPEX_BE),
    Reading("price_max", HISTORY_START, **_EPEX_BE),
    Reading(
        "price_tick",
        HISTORY_START,
        confidence=U,
        note="the EPEX sheet read (hourly era) says 0.1 EUR/MWh; 0.01 is kept as the "
        "finer tick until a current EPEX trading-rules document is read",
        **_EPEX_BE,
    ),
    Reading(
        "order_types",
        HISTORY_START,
        "EPEX SPOT: Intraday Continuous - Austria (product page)",
        "http://www.epexspot.com/en/product-info/intradaycontinuous/austria",
        "EPEX SPOT product page, undated (15-minute era), read 2026-12-06",
        note="limit orders (market sweep orders, IOC, FOK, AON and iceberg restrictions and "
        "user-defined blocks are not modelled)",
    ),
)
"""What the audit of 2026-12-06 read for the continuous intraday records shared by every
zone (contracts and the local gate closure are each country's own)."""

_CONTINUOUS_READINGS_4 = (
    Reading(
        "pricing",
        HISTORY_START,
        "Nord Pool: Intraday market; Modo Energy (secondary): 'Trading in the continuous "
        "intraday market: how does it work?' (2023-12-15)",
        "https://npspot.com/en/the-power-market/Intraday-market; https://modoenergy.com/"
        "research/continuous-intraday-trading-wholesale-epex-n2ex-volume-battery-energy-"
        "storage-prices",
        "Nord Pool page (undated) and Modo Energy article of 2023-12-15, read 2026-12-06",
        note="continuous trading, prices set first come first served with the best prices "
        "first (Nord Pool, a NEMO of all five zones); an order that crosses a resting order "
        "trades at the resting order's price, each trade priced on its own (Modo Energy, "
        "describing EPEX's order book)",
    ),
)
"""What the fourth session of the audit read for the continuous intraday records."""

_CONTINUOUS_READINGS_5 = (
    Reading(
        "cross_border_gate_closure",
        "2026-01-01",
        "Energie & Management: 'Gate-Closure-Time im Intraday-Stromhandel wird verkürzt' "
        "(2025-12-23), reporting ACER's announcement of 2025-12-22; ACER news of 2025-07-29 "
        "on the TSOs' proposal of 2025-07-02 (copy on Mondo Visione); Regulation (EU) "
        "2024/1747",
        E_AND_M_IDCZGCT_URL + "; " + ACER_IDCZGCT_2025_NEWS_URL + "; "
        "https://eur-lex.europa.eu/eli/reg/2024/1747",
        "E&M news of 2025-12-23 and ACER news of 2025-07-29, read 2026-12-06",
        G,
        "ACER approved on 2025-12-22 the TSOs' amended methodology moving the cross-zonal "
        "intraday gate closure from 60 to 30 min before delivery; until the 2024 market-design "
        "reform is transposed into national law the 30 min is optional and 60 min stays the "
        "mandatory default; first TSOs apply it from 2026-01-01, full roll-out per national "
        "regulator (E&M, secondary, quoting ACER; ACER's decision text was not read). 60 min "
        "is kept for every border of this zone, the default and the earlier bound, so no "
        "cross-border bid passes after its closure; the borders already on 30 min are not "
        "modelled. Revises the record of the same day (review by 2027-01-31), which had not "
        "found the decision",
    ),
)
"""What the fifth session of the audit read for the continuous intraday records."""


def picasso_afrr_energy(
    country: str,
    zone: str,
    timezone: str,
    *,
    operator: str,
    accession: Rule[bool],
) -> BalancingEnergy:
    """aFRR energy bids on PICASSO: per quarter hour and direction, cleared at the margin.

    `accession` is the rule that switches the market on: the day the country's TSO joined
    PICASSO. A local energy market before that is not modelled.
    """
    start = accession.valid_from
    market = BalancingEnergy(
        market=MarketId.AFRR_ENERGY,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator=operator,
        reserve=Reserve.AFRR,
        in_operation=_accession_history(accession),
        mtu_minutes=(rule(15, start, "regelleistung.net, 50Hertz, Elia"),),
        directions=(rule((Direction.POS, Direction.NEG), start, "regelleistung.net, Elia"),),
        gate_closure=(
            rule(
                OffsetGate(minutes_before=25),
                start,
                "batterydata.info (secondary); aFRR implementation framework",
                G,
                "a secondary source confirms 25 min; the primary framework was not read",
            ),
        ),
        volume_min_mw=(rule(1.0, start, "market-rules reference (balancing: 1 MW)", G),),
        volume_step_mw=(rule(1.0, start, "market-rules reference (balancing: 1 MW)", G),),
        price_min=_picasso_limits(country, start, -1),
        price_max=_picasso_limits(country, start, +1),
        price_tick=(rule(0.01, start, "general practice", G),),
        pricing=(
            rule(
                Pricing.PAY_AS_CLEARED,
                start,
                "Elia, RTE (cross-border marginal price)",
                note="priced per 4-second optimisation cycle [general]",
            ),
        ),
        order_types=(rule((OrderType.BALANCING_ENERGY,), start, "regelleistung.net"),),
    )
    return sourced(
        market,
        Reading(
            "mtu_minutes",
            start,
            REGELLEISTUNG_PROCUREMENT,
            REGELLEISTUNG_PROCUREMENT_URL,
            "regelleistung.net pages, read 2026-12-06",
            note="an energy bid per quarter hour of the delivery day",
        ),
        Reading(
            "directions",
            start,
            "regelleistung.net: What types of balancing services are there?",
            "https://regelleistung.net/en-us/General-Information/What-types-of-balancing-"
            "services-are-there",
            "regelleistung.net page, read 2026-12-06",
            note="aFRR has two sub-products, positive and negative, activated every 4 s and "
            "optimised across TSOs on PICASSO",
        ),
        Reading(
            "pricing",
            start,
            ELIA_AFRR_TC_2024,
            ELIA_AFRR_TC_2024_URL,
            "Elia consultation page of 2024-02-28, read 2026-12-06",
            note="aFRR energy on PICASSO is paid the cross-border marginal price (Elia moved "
            "from pay-as-bid on joining) [confirmed]; priced per 4-second optimisation "
            "cycle [general]",
        ),
        *(
            Reading(
                bound,
                start,
                ACER_PICASSO_2022,
                ACER_PICASSO_2022_URL,
                "NERC Lithuania news of 2022-03-03; ACER news item of 2024-02-28",
                note="transitional limit +/-15,000 EUR/MWh until July 2026 (the TSOs proposed "
                "in 2024 to lower it to 10,000; ACER's decision on that was not found); "
                "technical limit +/-99,999",
            )
            for bound in ("price_min", "price_max")
        ),
    )


def not_a_member(market: M, cooperation: str, source: str, note: str | None = None) -> M:
    """`market` of a cooperation (PICASSO, the FCR Cooperation, ...) for a country that is
    not a member: listed with its source, never offered, so that a bid for it is refused
    saying the market does not run, and ``vpp markets rules`` shows why. One line in a
    plugin::

        FCR = not_a_member(fcr_cooperation(COUNTRY, ZONE, TZ), "FCR Cooperation",
                           "regelleistung.net: FCR Cooperation members")
    """
    why = note or f"not a member of the {cooperation}"
    return market.with_rules(in_operation=(rule(False, HISTORY_START, source, C, why),))


def _accession_history(accession: Rule[bool]) -> tuple[Rule[bool], ...]:
    if accession.valid_from <= HISTORY_START:
        return (accession,)
    before = rule(
        False,
        HISTORY_START,
        "modelling choice (ENTSO-E: PICASSO accession dates)",
        G,
        "local aFRR energy markets before PICASSO accession did run; they are not modelled",
    )
    return (before, accession)


def _picasso_limits(country: str, start: date, sign: int) -> tuple[Rule[float | None], ...]:
    after = max(start, date(2026, 7, 1))
    parameter = "price_max" if sign > 0 else "price_min"
    return (
        rule(
            sign * 15000.0,
            start,
            "ACER Decision 03/2022",
            C,
            "transitional limit until July 2026; technical limit +/-99,999",
        ),
        rule(
            sign * 15000.0,
            after,
            "ACER 2024 amendment; TSO proposal of February 2024",
            U,
            "after July 2026 the TSOs proposed +/-10,000 transitional and +/-15,000 technical; "
            "final values and start dates were not found, so +/-15,000 is kept",
            review_by=LEGACY_REVIEW_BY,
        ),
        rule(
            sign * 15000.0,
            after,
            "ACER news of 2024-02-28: 'ACER will evaluate amendments to the pricing "
            "methodology and framework related to electricity balancing platforms'",
            U,
            "the TSOs' proposal of 2024-02-07 sets the technical limits to +/-15,000 EUR/MWh "
            "after July 2026 and lowers the transitional limit before then to +/-10,000; "
            "ACER was to decide by 2024-08-07 and its decision was not found, so +/-15,000 "
            "stands after July 2026 and the transitional +/-15,000 before it is unchanged. "
            "Corrects the note of the record of 2026-11-22, which put the +/-10,000 after "
            "July 2026",
            reference="https://www.acer.europa.eu/news-and-events/news/acer-will-evaluate-"
            "amendments-pricing-methodology-and-framework-related-electricity-balancing-"
            "platforms",
            document_version="ACER news item of 2024-02-28",
            review_by=AUDIT_REVIEW_BY,
            supersedes=(rule_id(country, MarketId.AFRR_ENERGY, parameter, after),),
            **AUDIT,
        ),
    )


def fcr_cooperation(country: str, zone: str, timezone: str) -> BalancingCapacity:
    """FCR Cooperation: daily auction, 6 x 4 h symmetric blocks, pay-as-cleared."""
    source = "regelleistung.net"
    market = BalancingCapacity(
        market=MarketId.FCR_CAPACITY,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator="FCR Cooperation (regelleistung.net)",
        reserve=Reserve.FCR,
        in_operation=(since_start(True, "ENTSO-E, APG", note="member since before 2022"),),
        block_hours=(since_start(4, source, note="6 x 4 h since 2020-07-01"),),
        directions=(since_start((Direction.SYMMETRIC,), source),),
        gate_opening=(
            since_start(
                DailyGate(days_before=14, local_time=time(11)),
                source,
                G,
                "D-14 before 2022-09-07; the 11:00 time is assumed the same as for D-7",
            ),
            rule(
                DailyGate(days_before=7, local_time=time(11)),
                "2022-09-14",
                source,
                G,
                "the opening moved to D-7 on 2022-09-07 [confirmed]; the first delivery day "
                "opened at D-7 is taken as 2022-09-14 (days before had opened at D-14)",
            ),
        ),
        gate_closure=(since_start(DailyGate(days_before=1, local_time=time(8)), source),),
        volume_min_mw=(since_start(1.0, "regelleistung.net, Energinet"),),
        **capacity_bid_rules(),
        pricing=(since_start(Pricing.PAY_AS_CLEARED, "RTE, Swissgrid", note="since 2019-06-27"),),
        order_types=(since_start((OrderType.BALANCING_CAPACITY,), source),),
        indivisible_allowed=(since_start(True, "regelleistung.net, Energinet"),),
        price_per_block=(
            since_start(
                True,
                "regelleistung.net FCR results (settlement capacity price in EUR/MW per product)",
                C,
                "a price per MW for the whole 4-hour product; bounds and tick in EUR/MW",
            ),
        ),
    )
    return sourced(sourced(market, *_FCR_READINGS), *_FCR_READINGS_4, session=AUDIT_4)


_REGELLEISTUNG = {
    "source": REGELLEISTUNG_PROCUREMENT,
    "reference": REGELLEISTUNG_PROCUREMENT_URL,
    "document_version": "regelleistung.net pages, read 2026-12-06",
}
_APG_FCR = {
    "source": APG_FCR,
    "reference": APG_FCR_URL,
    "document_version": "APG tender page (2020 volumes), read 2026-12-06",
}
_FCR_READINGS = (
    Reading(
        "in_operation",
        HISTORY_START,
        SWISSGRID_FCR,
        SWISSGRID_FCR_URL,
        "Swissgrid news of 2019-07-09, read 2026-12-06",
        note="AT, BE, DE, FR and NL TSOs are members since before 2022",
    ),
    Reading("block_hours", HISTORY_START, note="6 x 4 h from 00:00", **_REGELLEISTUNG),
    Reading("directions", HISTORY_START, note="one symmetric product", **_REGELLEISTUNG),
    Reading("gate_closure", HISTORY_START, note="08:00 D-1", **_REGELLEISTUNG),
    Reading(
        "gate_opening",
        HISTORY_START,
        confidence=G,
        note="the bidding period started 14 days before the delivery day at 11:00 (APG, "
        "2020) [confirmed]; it ran so until the move to D-7 [general]",
        **_APG_FCR,
    ),
    Reading(
        "gate_opening",
        "2022-09-14",
        confidence=G,
        note="the auction opens 7 days before the delivery day [confirmed, 11:00 assumed]; "
        "the day of the change from D-14 and the first delivery day opened at D-7 are not "
        "in the source read [general]",
        **_REGELLEISTUNG,
    ),
    Reading(
        "pricing",
        HISTORY_START,
        note="all awarded bids get the highest awarded price",
        **_REGELLEISTUNG,
    ),
    Reading("volume_min_mw", HISTORY_START, note="+/-1 MW", **_APG_FCR),
    Reading("volume_step_mw", HISTORY_START, note="full 1 MW increments", **_APG_FCR),
    Reading("indivisible_allowed", HISTORY_START, note="indivisible bids up to 25 MW", **_APG_FCR),
    Reading("order_types", HISTORY_START, **_REGELLEISTUNG),
)
"""What the audit of 2026-12-06 read for the FCR Cooperation records."""

_FCR_READINGS_4 = (
    Reading(
        "price_per_block",
        HISTORY_START,
        "regelleistung.net: Abrechnung der Frequency Containment Reserve",
        "https://regelleistung.net/de-DE/Infosf%C3%BCrAnbieter/AnbieterabrechnungderRegelenergie/"
        "FrequencyContainmentReserve",
        "regelleistung.net settlement page (undated), read 2026-12-06",
        G,
        "the capacity is settled as the awarded MW times the FCR Cooperation's marginal "
        "price, the highest awarded bid price (a local marginal price where a country reaches "
        "its import or export limit) [confirmed]; that this price is per MW for the whole "
        "4-hour product (the result files' settlement capacity price in EUR/MW, seen through "
        "third-party readers of those files) [general]",
    ),
)
"""What the fourth session of the audit read for the FCR Cooperation records."""


def capacity_bid_rules() -> dict[str, tuple[Rule[Any], ...]]:
    """Bid limits common to balancing capacity auctions, from general practice [G].

    1 MW volume steps, capacity prices of at least 0 EUR/MW/h with no cap and a 0.01 tick.
    A plugin overrides any of them with a sourced local rule.
    """
    return {
        "volume_step_mw": (since_start(1.0, "general practice (1 MW steps in balancing)", G),),
        "price_min": (since_start(0.0, "capacity prices are not negative", G),),
        "price_max": (since_start(None, "no cap found", G),),
        "price_tick": (since_start(0.01, "general practice", G),),
    }


def afrr_capacity(
    country: str,
    zone: str,
    timezone: str,
    *,
    operator: str,
    **rules: tuple[Rule[Any], ...],
) -> BalancingCapacity:
    """aFRR capacity of one TSO: POS and NEG blocks; every local rule is passed in `rules`.

    Rules not given for the volume step and the price bounds and tick come from
    `capacity_bid_rules`.
    """
    return BalancingCapacity(
        market=MarketId.AFRR_CAPACITY,
        country=country,
        bidding_zone=zone,
        timezone=timezone,
        operator=operator,
        reserve=Reserve.AFRR,
        order_types=(since_start((OrderType.BALANCING_CAPACITY,), operator),),
        **{**capacity_bid_rules(), **rules},
    )


def coupled_markets(
    country: str,
    zone: str,
    timezone: str,
    *,
    contracts: tuple[Rule[tuple[ContinuousContract, ...]], ...],
    local_gate_closure: tuple[Rule[OffsetGate], ...],
) -> tuple[Auction, Auction, Continuous]:
    """Day-ahead, the intraday auctions and continuous intraday of a zone in SDAC and SIDC.

    The intraday auctions carry what the sixth audit session read of their price tick and
    limits (a NEMO's published parameters); `sidc_intraday_auctions` alone keeps them as
    working assumptions, which a new plugin's author confirms for their zone.
    """
    return (
        sdac_day_ahead(country, zone, timezone),
        sourced(sidc_intraday_auctions(country, zone, timezone), *_IDA_READINGS_6, session=AUDIT_6),
        sidc_continuous(
            country, zone, timezone, contracts=contracts, local_gate_closure=local_gate_closure
        ),
    )
