"""German market rules from 2015-01-01 to where the built-in histories start (2022-01-01).

The records of this module were read for issue 15 (backtests on German years since 2015)
and carry their own provenance block (`HISTORY`). Each is dated; ``valid_to`` closes it on
the day the next record of its history takes over, so no two records of a history overlap.
Values checked against a primary source are ``confirmed``; a value read only in a
secondary source is ``general``; a value found nowhere (or in conflicting sources) is
``uncertain`` with a `HISTORY_REVIEW_BY` date, and its note says what was not found.

What the engine cannot represent is recorded as not offered, with the reason in the note
(never approximated): aFRR capacity before 2018-07-12 was procured in weekly peak (HT:
Monday-Friday 08:00-20:00) and off-peak (NT: the rest of the week) products, and FCR before
2019-07-01 in weekly symmetric products; the engine's capacity markets are cut into blocks of
one delivery day.

Bidding zone: Germany traded in the joint zone DE-AT-LU until delivery day 2018-09-30 and in
DE-LU from 2018-10-01 (`BIDDING_ZONE_HISTORY`). A portfolio's German sites name ``DE_LU``;
price files of the joint zone are mapped to it at the reader edge
(`trading.prices.readers.ZONE_ERAS`) with a note in the run.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from markets.gates import DailyGate, OffsetGate
from markets.kinds import AuctionSession, ContinuousContract, Market
from markets.products import Direction, MarketId, OrderType, Pricing
from markets.rules import Confidence, Rule, rule, with_ids

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

DE_HISTORY_START = date(2015, 1, 1)
"""First delivery day the German market and regulatory histories cover."""

BUILT_IN_START = date(2022, 1, 1)
"""Where the histories of `markets.eu` (and the German plugin) started before this module."""

ZONE_SPLIT = date(2018, 10, 1)
"""First delivery day of the DE-LU zone; DE-AT-LU delivered until the day before."""

HISTORY_DAY = date(2026, 12, 6)
"""Knowledge time of these records: the day they were recorded."""

HISTORY_REVIEW_BY = date(2027, 3, 31)
"""By when the uncertain records of this history are checked again."""

HISTORY: dict[str, Any] = {
    "recorded_at": HISTORY_DAY,
    "retrieved_on": HISTORY_DAY,
    "recorded_by": "h15hist (rule history session of issue 15)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-h15hist)",
}
"""Keyword arguments of `markets.rules.rule` for a record of this history."""

# Sources read (the search tool's stored pages, 2026-12-06).
EPEX_DA_SHEET = (
    "EPEX SPOT product sheet 'Day-Ahead Auction' (NL/BE page of the same era: order book "
    "closes daily at 12:00, -500.00/3000.00 EUR/MWh, prices with one decimal, MW with one "
    "decimal, 2-256 price/quantity pairs); EPEX SPOT UK sheet: 'Power Exchanges in PCR "
    "have harmonised minimum and maximum price limits of -500 and +3000 EUR/MWh'"
)
EPEX_DA_REF = (
    "http://www.epexspot.com/de/produkte/auktionshandel/Belgien; "
    "https://www.epexspot.com/fr/produits/fixing/royaume_uni"
)
SPLIT_SOURCE = (
    "TransnetBW press release of 2018-09-10 'Go Live of congestion management on the "
    "German-Austrian Bidding Zone Border on 1st of October 2018' (first trading day "
    "2018-09-30, first delivery day 2018-10-01); APG 'End of the German-Austrian "
    "electricity price zone' (split took effect on 1 October 2018)"
)
SPLIT_REF = (
    "https://www.transnetbw.de/en/newsroom/press-releases/go-live-of-congestion-management-"
    "on-the-german-austrian-bidding-zone-border-de-at-bzb-on-1st-of-october-2018; "
    "https://www.apg.at/en/Energiezukunft/Strompreiszone"
)
BK6_15_158 = (
    "BNetzA Beschlusskammer 6, decision BK6-15-158 of 2017-06-13 (aFRR tender conditions): "
    "calendar-daily tender for delivery day D, opens D-7 10:00, closes D-1 08:00"
)
BK6_15_158_REF = (
    "https://pdfdokument.com/beschluss-bk6-15-158-bundesnetzagentur_"
    "59f30db51723ddbe077689c8.html (copy of the BNetzA decision BK6-15-158)"
)
WEEKLY_AFRR = (
    "DSM Baden-Wuerttemberg 'Schritt 8: Ausschreibungen' (TSOs tender aFRR weekly, in two "
    "time slices: HT Monday-Friday 08:00-20:00, NT the rest)"
)
WEEKLY_AFRR_REF = (
    "http://www.dsm-bw.de/demand-side-management/interaktive-erklaergrafik-dsm/"
    "schritt-8-ausschreibungen/?L=0"
)
FCR_DAILY = (
    "Swissgrid news of 2019-07-09: daily D-2 FCR auctions started on 27 June 2019, product "
    "length shortened from one week to one day, marginal pricing; 4-hour products expected "
    "in July 2020. regelleistung.net 'Ausschreibungs- und Gebotsverfahren': today 4-hour "
    "FCR products, bids until D-1 08:00, pay-as-cleared"
)
FCR_DAILY_REF = (
    "https://swissgrid.ch/de/home/newsroom/newsfeed/20190709-01.html; "
    "https://regelleistung.net/de-de/Anbieter-werden/Ausschreibungs-und-Gebotsverfahren"
)
FCR_WEEKLY = (
    "regelleistung.net 'Gemeinsame Ausschreibung Primärregelleistung': the tender period "
    "is one week since 2011-06-27; symmetric product"
)
FCR_WEEKLY_REF = "https://www.regelleistung.net/ext/static/prl"
RLM_TODAY = (
    "regelleistung.net 'Ausschreibungs- und Gebotsverfahren': the aFRR capacity market "
    "(RLM) closes at 09:00 D-1; 4-hour products; pay-as-bid; an energy price may be "
    "attached and is carried into the energy market (RAM)"
)
RLM_TODAY_REF = "https://regelleistung.net/de-de/Anbieter-werden/Ausschreibungs-und-Gebotsverfahren"

AFRR_DAILY = date(2018, 7, 12)
"""First delivery day of calendar-daily aFRR capacity tenders in 4-hour blocks."""

RAM_START = date(2020, 11, 3)
"""First delivery day of the separate German aFRR energy market (Regelarbeitsmarkt)."""

FCR_DAILY_START = date(2019, 7, 1)
"""First delivery day of daily FCR products (taken: see the record's note)."""

FCR_4H = date(2020, 7, 1)
"""First delivery day of 4-hour FCR products."""


def hist(
    value: Any,
    valid_from: date | str,
    valid_to: date | str,
    source: str,
    reference: str,
    confidence: Confidence = C,
    note: str | None = None,
) -> Rule[Any]:
    """A record of this history, closed on `valid_to`; uncertain ones get a review date."""
    review = HISTORY_REVIEW_BY if confidence is U else None
    return rule(
        value,
        valid_from,
        source,
        confidence,
        note,
        valid_to=valid_to,
        reference=reference,
        review_by=review,
        **HISTORY,
    )


BIDDING_ZONE_HISTORY: tuple[Rule[str], ...] = with_ids(
    "DE",
    "bidding_zone",
    "zone",
    (
        hist(
            "DE_AT_LU",
            DE_HISTORY_START,
            ZONE_SPLIT,
            SPLIT_SOURCE,
            SPLIT_REF,
            note="the joint German-Austrian-Luxembourg zone (since 2002, before this history)",
        ),
        rule(
            "DE_LU",
            ZONE_SPLIT,
            SPLIT_SOURCE,
            C,
            "the German-Luxembourg zone after the split from Austria",
            reference=SPLIT_REF,
            **HISTORY,
        ),
    ),
)
"""The bidding zone the German market areas traded in, by delivery day; ids
``DE:bidding_zone:zone:VALID_FROM:RECORDED_AT``."""


def zone_on(day: date) -> str:
    """The German bidding zone of delivery day `day` (from 2015-01-01)."""
    for entry in BIDDING_ZONE_HISTORY:
        if entry.covers(day):
            return entry.value
    raise LookupError(f"no German bidding zone is recorded for {day} (history from 2015-01-01)")


def _carried_back(history: tuple[Rule[Any], ...], start: date) -> Rule[Any]:
    """The first record's value carried back to `start`, marked uncertain: a parameter of
    a market this history offers whose value before 2022 was not found in a source."""
    believed = [e for e in history if e.superseded_at is None]
    first = min(believed, key=lambda e: (e.valid_from, e.recorded_at))
    return hist(
        first.value,
        start,
        first.valid_from,
        f"carried back from the record valid from {first.valid_from} ({first.source})",
        first.reference or "no reference: the value of the record it is carried back from",
        U,
        f"no source for the value before {first.valid_from} was found in the issue-15 "
        "history; the value in force from then is assumed to have applied since "
        f"{start}",
    )


def with_history(
    market: Market, offered_from: date | None, **records: tuple[Rule[Any], ...]
) -> Market:
    """`market` with this history's `records` put before its own.

    Every parameter of a market offered before 2022 (from `offered_from`) needs a value:
    those not given in `records` are carried back (`_carried_back`, uncertain). A
    parameter's given records must end where its own first record starts.
    """
    updates: dict[str, tuple[Rule[Any], ...]] = {}
    for name, history in market.histories():
        first_start = min(e.valid_from for e in history)
        given = records.pop(name, ())
        if given:
            last = max(given, key=lambda e: e.valid_from)
            if last.valid_to != first_start:
                raise ValueError(
                    f"{market.country} {market.market}.{name}: the history's last record "
                    f"ends {last.valid_to}, the built-in one starts {first_start}"
                )
            updates[name] = (*given, *history)
        elif offered_from is not None and first_start > offered_from:
            updates[name] = (_carried_back(history, offered_from), *history)
    if records:
        raise ValueError(f"{market.market}: no parameter(s) {', '.join(sorted(records))}")
    return market.with_rules(**updates)


def _end(
    value: Any, source: str, reference: str, confidence: Confidence = C, note: str = ""
) -> Rule[Any]:
    """A record from 2015-01-01 to the built-in start (2022-01-01)."""
    return hist(
        value, DE_HISTORY_START, BUILT_IN_START, source, reference, confidence, note or None
    )


def day_ahead(market: Market) -> Market:
    """EPEX SPOT day-ahead auction, hourly, 12:00 D-1, -500/+3000 EUR/MWh, 2015-2021."""
    return with_history(
        market,
        DE_HISTORY_START,
        in_operation=(
            _end(
                True,
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                note="EPEX SPOT's day-ahead auction for DE-AT-LU, then DE-LU (market coupling)",
            ),
        ),
        mtu_minutes=(_end(60, EPEX_DA_SHEET, EPEX_DA_REF, note="hourly contracts 1-24"),),
        sessions=(
            _end(
                (_session_at_noon(),),
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                note="order book closes daily at 12:00 (CET/CEST) for the next day 00-24",
            ),
        ),
        price_min=(_end(-500.0, EPEX_DA_SHEET, EPEX_DA_REF, note="PCR harmonised minimum"),),
        price_max=(
            _end(
                3000.0,
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                note="PCR harmonised maximum; raised to 4,000 from delivery day 2022-05-11 "
                "(built-in record)",
            ),
        ),
        price_tick=(
            _end(
                0.1,
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                G,
                "'in euro per MWh with one decimal digit' on the sheet of the coupled NL/BE "
                "auction; the German sheet of that era was not read",
            ),
        ),
        volume_min_mw=(
            _end(0.1, EPEX_DA_SHEET, EPEX_DA_REF, G, "one volume step ('MW with one decimal')"),
        ),
        volume_step_mw=(
            _end(0.1, EPEX_DA_SHEET, EPEX_DA_REF, G, "'in MW with one decimal digit' (NL/BE)"),
        ),
        pricing=(
            _end(
                Pricing.PAY_AS_CLEARED,
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                G,
                "a uniform clearing price per hour and zone (market coupling)",
            ),
        ),
        order_types=(
            _end(
                (OrderType.CURVE, OrderType.SINGLE, OrderType.BLOCK),
                EPEX_DA_SHEET,
                EPEX_DA_REF,
                note="single-contract (curve) orders and block orders",
            ),
        ),
        curve_points_min=(_end(2, EPEX_DA_SHEET, EPEX_DA_REF, G, "2-256 pairs (NL/BE sheet)"),),
        curve_points_max=(_end(256, EPEX_DA_SHEET, EPEX_DA_REF, G, "2-256 pairs (NL/BE sheet)"),),
    )


def _session_at_noon() -> AuctionSession:
    return AuctionSession(name="SDAC", gate_closure=DailyGate(days_before=1, local_time=time(12)))


def intraday_auction(market: Market) -> Market:
    """No pan-European intraday auction before 2024: not offered 2015-2021."""
    return with_history(
        market,
        None,
        in_operation=(
            _end(
                False,
                "NEMO Committee (the SIDC intraday auctions started on 2024-06-13)",
                "https://www.nemo-committee.eu (SIDC intraday auctions go-live 2024-06-13)",
                G,
                "EPEX SPOT ran a local German 15-minute intraday call auction at 15:00 D-1 "
                "in this era; it is not modelled (this market is the SIDC auctions IDA1-3)",
            ),
        ),
    )


INTRADAY_SOURCE = (
    "EPEX SPOT German continuous intraday (15-minute and hourly contracts; trading until "
    "30 minutes before delivery, within a control area until 5 minutes before), as "
    "summarised in a course on the German spot market"
)
INTRADAY_REF = "https://freezingblue.com/flashcards/350226/preview/et-exercises"


def intraday_continuous(market: Market) -> Market:
    """EPEX SPOT continuous intraday, 60- and 15-minute contracts; lead times uncertain."""
    return with_history(
        market,
        DE_HISTORY_START,
        in_operation=(
            _end(
                True,
                INTRADAY_SOURCE,
                INTRADAY_REF,
                G,
                "continuous intraday trading in Germany throughout; cross-border via XBID "
                "(SIDC) from 2018-06-13",
            ),
        ),
        contracts=(
            _end(
                (
                    ContinuousContract(
                        minutes=60, gate_opening=DailyGate(days_before=1, local_time=time(15))
                    ),
                    ContinuousContract(
                        minutes=15, gate_opening=DailyGate(days_before=1, local_time=time(16))
                    ),
                ),
                INTRADAY_SOURCE,
                INTRADAY_REF,
                U,
                "hours from 15:00 D-1 and quarter hours from 16:00 D-1 as in 2022; 30-minute "
                "contracts of this era and the opening times were not confirmed",
            ),
        ),
        local_gate_closure=(
            _end(
                OffsetGate(minutes_before=30),
                INTRADAY_SOURCE,
                INTRADAY_REF,
                U,
                "30 min before delivery across control areas (5 min only within one, not "
                "modelled); the date the lead time fell from 45 to 30 min (believed 2015) "
                "was not found in a primary source",
            ),
        ),
        pricing=(
            _end(
                Pricing.PAY_AS_BID,
                INTRADAY_SOURCE,
                INTRADAY_REF,
                G,
                "continuous trading: a trade is at the resting order's price",
            ),
        ),
        order_types=(_end((OrderType.SINGLE,), INTRADAY_SOURCE, INTRADAY_REF, G, "limit orders"),),
        cross_border_gate_closure=(
            _end(
                OffsetGate(minutes_before=60),
                "ACER Decision 04/2018 (SIDC cross-zonal gate closure 60 min)",
                "https://www.acer.europa.eu (ACER Decision 04/2018 on the SIDC gate times)",
                U,
                "60 min since XBID (2018-06-13); cross-border closure before then was not "
                "read: 60 min is kept as the safe bound",
            ),
        ),
    )


def afrr_capacity(market: Market) -> Market:
    """aFRR capacity: weekly HT/NT (not offered) until 2018-07-11, then daily 4-hour blocks."""
    daily = AFRR_DAILY

    def era(
        value: Any, confidence: Confidence, note: str, until: date = BUILT_IN_START
    ) -> Rule[Any]:
        return hist(value, daily, until, BK6_15_158, BK6_15_158_REF, confidence, note)

    return with_history(
        market,
        daily,
        in_operation=(
            hist(
                False,
                DE_HISTORY_START,
                daily,
                WEEKLY_AFRR,
                WEEKLY_AFRR_REF,
                C,
                "weekly peak (HT Mon-Fri 08:00-20:00) and off-peak (NT) products: a week-long "
                "product is not a block of one delivery day, so aFRR capacity is not offered "
                "in this era (not modelled, never approximated)",
            ),
            era(
                True,
                U,
                "calendar-daily tenders under BK6-15-158 [confirmed], opening D-7 10:00 (the "
                "built-in market records no opening, so neither does this era); the first "
                "delivery day 2018-07-12 (issue 15) was not found in a source read",
            ),
        ),
        block_hours=(era(4, G, "6 blocks 00-04 ... 20-24 (product length as today, RLM page)"),),
        directions=(era((Direction.POS, Direction.NEG), C, "positive and negative separately"),),
        order_types=(era((OrderType.BALANCING_CAPACITY,), G, "capacity bids per block"),),
        price_min=(era(0.0, G, "capacity prices are not negative"),),
        gate_closure=(
            era(
                DailyGate(days_before=1, local_time=time(8)),
                C,
                "tender closes D-1 08:00; 09:00 D-1 with the energy market from 2020-11-03",
                until=RAM_START,
            ),
            hist(
                DailyGate(days_before=1, local_time=time(9)),
                RAM_START,
                BUILT_IN_START,
                RLM_TODAY,
                RLM_TODAY_REF,
                U,
                "the RLM closes at 09:00 D-1 today; that it did from the start of the "
                "energy market (2020-11-03) was not confirmed",
            ),
        ),
        pricing=(
            era(
                Pricing.PAY_AS_BID,
                G,
                "capacity paid as bid; the mixed-price award (capacity and energy price "
                "weighted, 2018-10-16 to 2019-07) changed the award, not the payment, and is "
                "not modelled",
            ),
        ),
        energy_price_attachable=(
            era(
                True,
                G,
                "an energy price is part of every capacity bid until 2020-11-02; from "
                "2020-11-03 it may be attached and carried into the energy market",
            ),
        ),
    )


def afrr_energy(market: Market) -> Market:
    """The separate German aFRR energy market (2020-11-03) and PICASSO (2022-06-22)."""
    return with_history(
        market,
        None,
        in_operation=(
            hist(
                False,
                DE_HISTORY_START,
                RAM_START,
                RLM_TODAY,
                RLM_TODAY_REF,
                C,
                "aFRR energy was priced inside the capacity bids; no separate energy market",
            ),
            hist(
                False,
                RAM_START,
                BUILT_IN_START,
                RLM_TODAY,
                RLM_TODAY_REF,
                G,
                "the German aFRR energy market (RAM, quarter-hourly energy bids) ran from "
                "2020-11-03 until PICASSO accession on 2022-06-22; it is not modelled",
            ),
        ),
    )


def fcr_capacity(market: Market) -> Market:
    """FCR: weekly (not offered) until 2019-06-30, daily 2019-07-01, 4-hour 2020-07-01."""

    def daily(value: Any, confidence: Confidence, note: str, until: date = FCR_4H) -> Rule[Any]:
        return hist(value, FCR_DAILY_START, until, FCR_DAILY, FCR_DAILY_REF, confidence, note)

    return with_history(
        market,
        FCR_DAILY_START,
        in_operation=(
            hist(
                False,
                DE_HISTORY_START,
                FCR_DAILY_START,
                FCR_WEEKLY,
                FCR_WEEKLY_REF,
                C,
                "weekly symmetric products: not a block of one delivery day, so FCR is not "
                "offered in this era (not modelled)",
            ),
            daily(
                True,
                U,
                "daily products from the D-2 auction of 2019-06-27 [confirmed]; the first "
                "delivery day is taken as 2019-07-01, not found",
                until=BUILT_IN_START,
            ),
        ),
        block_hours=(
            daily(24, C, "one product per day, 2019-07 to 2020-06"),
            hist(
                4,
                FCR_4H,
                BUILT_IN_START,
                FCR_DAILY,
                FCR_DAILY_REF,
                G,
                "6 x 4 h; 'expected in July 2020' (Swissgrid), 2020-07-01 per the built-in note",
            ),
        ),
        gate_closure=(
            daily(
                DailyGate(days_before=2, local_time=time(15)),
                U,
                "D-2 auctions [confirmed]; the closing time 15:00 was not found",
            ),
            hist(
                DailyGate(days_before=1, local_time=time(8)),
                FCR_4H,
                BUILT_IN_START,
                FCR_DAILY,
                FCR_DAILY_REF,
                G,
                "D-1 08:00 as today; 'gate closure closer to real time' from July 2020",
            ),
        ),
        gate_opening=(
            daily(
                DailyGate(days_before=14, local_time=time(11)),
                U,
                "as the built-in record of 2022 (D-14 11:00); not found for this era",
                until=BUILT_IN_START,
            ),
        ),
        pricing=(
            daily(Pricing.PAY_AS_CLEARED, C, "marginal pricing since 2019-06-27", BUILT_IN_START),
        ),
        directions=(
            hist(
                (Direction.SYMMETRIC,),
                FCR_DAILY_START,
                BUILT_IN_START,
                FCR_WEEKLY,
                FCR_WEEKLY_REF,
                C,
                "FCR is tendered symmetrically (no separate positive and negative product)",
            ),
        ),
        order_types=(daily((OrderType.BALANCING_CAPACITY,), G, "capacity bids", BUILT_IN_START),),
        price_min=(daily(0.0, G, "capacity prices are not negative", BUILT_IN_START),),
    )


BY_MARKET = {
    MarketId.DAY_AHEAD: day_ahead,
    MarketId.INTRADAY_AUCTION: intraday_auction,
    MarketId.INTRADAY_CONTINUOUS: intraday_continuous,
    MarketId.AFRR_CAPACITY: afrr_capacity,
    MarketId.AFRR_ENERGY: afrr_energy,
    MarketId.FCR_CAPACITY: fcr_capacity,
}
"""The history of each German market, applied to its built-in definition."""


def with_german_history(markets: tuple[Market, ...]) -> tuple[Market, ...]:
    """The German markets with their rules from 2015-01-01 put before the built-in ones."""
    return tuple(BY_MARKET[m.market](m) for m in markets)
