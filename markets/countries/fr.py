"""France (bidding zone FR, TSO RTE): markets and their dated rules.

Corrected in the audit of 2026-12-06 (issue 17): the intraday auctions ran at a 30-minute
MTU in France from their start until the French 15-minute products went live in January
2025, and continuous 15-minute contracts started then, not in 2022 (RTE's imbalance
settlement period was 30 minutes until 2025-01-01). The records believed before are kept
and marked superseded: ``vpp markets rules FR --known-on 2026-12-05`` shows them.

Corrected on 2026-12-07: RTE's D-1 aFRR capacity auction was suspended three weeks after
its start in November 2021 and reopened on 2024-06-19 (RTE's news of 2024), so it is not
offered on any day from 2022-01-01 to 2024-06-18 (the records of 2026-12-06 ran it until
2022-07-28).
"""

from __future__ import annotations

from datetime import date, time

from markets.countries._audit import (
    AUDIT,
    AUDIT_4,
    AUDIT_5,
    AUDIT_6,
    AUDIT_7,
    AUDIT_DAY,
    AUDIT_REVIEW_BY,
    Reading,
    sourced,
)
from markets.eu import (
    HISTORY_START,
    LEGACY_REVIEW_BY,
    NOT_MODELLED_BEFORE_PICASSO,
    RTE_AFRR_ACTIVATION,
    RTE_AFRR_ACTIVATION_URL,
    RTE_PICASSO_URL,
    WATTSNEXT_PICASSO,
    WATTSNEXT_PICASSO_URL,
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
from markets.rules import rule, rule_id

COUNTRY, ZONE, TZ = "FR", "FR", "Europe/Paris"

DAY_AHEAD, INTRADAY_AUCTIONS, CONTINUOUS = coupled_markets(
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
)

FR_15_MIN_GO_LIVE = "2025-02-01"
"""First delivery day modelled with French 15-minute intraday products: they went live
"during January 2025" (the day was not found), so February is the first month they
certainly ran; deliveries in January 2025 may be modelled with the wrong length."""

_GO_LIVE_NOTE = (
    "the French 15-min products in the intraday coupling went live during January 2025 "
    "(Alpiq, connaissancedesenergies.org); the exact day was not found, so the first "
    "delivery day is taken as 2025-02-01: review against EPEX SPOT's go-live notice"
)
_ISP = (
    "RTE: 'BR party system: transition to the 15-minute imbalance settlement' (2025-01-07): "
    "the French ISP was 30 min until 2025-01-01 under a CRE derogation"
)

INTRADAY_AUCTIONS = INTRADAY_AUCTIONS.with_rules(
    mtu_minutes=(
        *INTRADAY_AUCTIONS.mtu_minutes,
        rule(
            30,
            "2024-06-14",
            "EPEX SPOT: 15-minute MTU (introduction of 15-minute contracts in France for "
            "SIDC, IDA included); " + _ISP,
            G,
            "France's intraday auctions cleared 30-min MTUs from their start (France's ISP "
            "was 30 min); corrects the 15-min record of 2026-11-22",
            valid_to=FR_15_MIN_GO_LIVE,
            reference="https://epexspot.com/fr/node/4164; https://services-rte.com/en/news/"
            "br-party-system-transition-to-the-15-minute-imbalance-settlement.html",
            document_version="EPEX page undated (read 2026-12-06); RTE news of 2025-01-07",
            supersedes=(rule_id(COUNTRY, "intraday_auction", "mtu_minutes", "2024-06-14"),),
            **AUDIT,
        ),
        rule(
            15,
            FR_15_MIN_GO_LIVE,
            "EPEX SPOT: 15-minute MTU in France; Alpiq in Connaissance des Energies",
            U,
            _GO_LIVE_NOTE,
            reference="https://epexspot.com/fr/node/4164; https://www.connaissancedesenergies"
            ".org/tribune-actualite-energies/vers-un-systeme-electrique-plus-resilient-avec-"
            "le-passage-au-pas-15-minutes",
            review_by=AUDIT_REVIEW_BY,
            **AUDIT,
        ),
    ),
)
INTRADAY_AUCTIONS = sourced(
    INTRADAY_AUCTIONS,
    ida_mtu_reading("France (FR), the only 30-min zone of the list", 30),
    session=AUDIT_5,
)

CONTINUOUS = CONTINUOUS.with_rules(
    contracts=(
        *CONTINUOUS.contracts,
        since_start(
            (contract(60, 15), contract(30, 15)),
            "Amprion (BE-FR 30-min products); " + _ISP,
            G,
            "hourly and 30-min contracts until the French 15-min products; corrects the "
            "record of 2026-11-22, which had 15-min contracts since 2022",
            valid_to=FR_15_MIN_GO_LIVE,
            reference="https://services-rte.com/en/news/br-party-system-transition-to-the-"
            "15-minute-imbalance-settlement.html",
            document_version="RTE news of 2025-01-07",
            supersedes=(rule_id(COUNTRY, "intraday_continuous", "contracts", "2022-01-01"),),
            **AUDIT,
        ),
        rule(
            (contract(60, 15), contract(30, 15), contract(15, 15)),
            FR_15_MIN_GO_LIVE,
            "EPEX SPOT: 15-minute MTU in France; Alpiq in Connaissance des Energies",
            U,
            _GO_LIVE_NOTE + "; the 15:00 D-1 opening of the 15-min contracts is assumed",
            reference="https://epexspot.com/fr/node/4164; https://www.connaissancedesenergies"
            ".org/tribune-actualite-energies/vers-un-systeme-electrique-plus-resilient-avec-"
            "le-passage-au-pas-15-minutes",
            review_by=AUDIT_REVIEW_BY,
            **AUDIT,
        ),
    ),
)

RTE_AFRR = (
    "RTE: aFRR day-ahead call for tenders launch 2021; RTE: providing frequency ancillary services"
)
_RTE_AFRR = {
    "source": RTE_AFRR,
    "reference": "https://www.services-rte.com/en/news/automatic-frequency-restoration-"
    "reserve-day-ahead-call-for-tenders-launch-2021.html; https://services-rte.com/en/"
    "learn-more-about-our-services/providing-frequency-ancillary-services.html",
    "document_version": "RTE news of 2021 and service page, read 2026-12-06",
}

AFRR_CAPACITY = sourced(
    afrr_capacity(
        COUNTRY,
        ZONE,
        TZ,
        operator="RTE",
        in_operation=(since_start(True, "RTE", C, "daily procurement since delivery 2021-11-03"),),
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
            since_start(DailyGate(days_before=1, local_time=time(9)), "RTE", C, "results by 09:30"),
        ),
        volume_min_mw=(
            since_start(
                1.0,
                "assumption",
                U,
                "RTE minimum bid not found",
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        volume_step_mw=(
            since_start(1.0, "assumption", U, "RTE bid step not found", review_by=LEGACY_REVIEW_BY),
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
    Reading(
        "in_operation",
        "2022-01-01",
        note="aFRR capacity contracted daily on D-1 since delivery 2021-11-03; RTE's "
        "service page dates its national call for tenders from 2024-06-19 (by "
        "prescription from obliged parties before): a D-1 daily market either way",
        **_RTE_AFRR,
    ),
    Reading("gate_opening", "2022-01-01", note="opens D-8 09:00", **_RTE_AFRR),
    Reading("gate_closure", "2022-01-01", note="D-1 09:00, results by 09:30", **_RTE_AFRR),
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "order_types",
        HISTORY_START,
        "RTE news: 'Capacités de réserve secondaire : lancement de l'appel d'offres journalier "
        "2021'",
        "https://services-rte.com/fr/actualites/capacites-de-reserve-secondaire-lancement-de-l-"
        "appel-d-offres-journalier-2021.html",
        "RTE news of 2021, read 2026-12-06",
        note="RTE contracts all its aFRR capacity need through a daily call for tenders (first "
        "delivery day 2021-11-03): capacity offers per delivery day",
    ),
    session=AUDIT_4,
)

MODO_FR_AFRR = (
    "Modo Energy (secondary): 'aFRR explained: how France's automatic frequency reserve "
    "market works'"
)
MODO_FR_AFRR_URL = "https://modoenergy.com/research/france-afrr-market-explainer-bess"
MODO_FR_AFRR_READ = "Modo Energy article (undated, after the PICASSO connection of April 2025)"
CE_SSF_2022 = (
    "Conseil d'Etat, decision n° 470863 of 2024-11-26 (EDF v. CRE): on point 2.6 of CRE "
    "deliberation n° 2022-226 of 2022-07-28 approving RTE's 'regles services systeme frequence'"
)
CE_SSF_2022_URL = "https://juricaf.org/arret/FRANCE-CONSEILDETAT-20241126-470863"
AFRR_TENDER_SUSPENDED = "2022-07-28"
"""First delivery day modelled without the French aFRR capacity auction: RTE suspended it
for about two years before reopening it on 2024-06-19; the first day of the suspension was
not found, so the day CRE approved the rules that allow it (deliberation 2022-226) is
taken."""
AFRR_TENDER_REOPENED = "2024-06-19"
"""RTE's national D-1 call for tenders for aFRR capacity runs again from this day (RTE)."""

_SUSPENSION = (
    "RTE reopened the aFRR capacity auction in June 2024 after a two-year suspension during "
    "the energy crisis (Modo Energy, secondary); RTE contracts aFRR capacity through a "
    "national D-1 call for tenders 'since June 19th 2024' (RTE); CRE's deliberation 2022-226 "
    "of 2022-07-28 approved rules under which RTE suspends the call for tenders on an IT "
    "problem or a market failure signalled by CRE and pays a flat capacity price instead "
    "(Conseil d'Etat 2024-11-26, on EDF's appeal against that point)"
)
AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "in_operation",
        HISTORY_START,
        RTE_AFRR + "; " + MODO_FR_AFRR,
        _RTE_AFRR["reference"] + "; " + MODO_FR_AFRR_URL,
        "RTE news of 2021 and service page; " + MODO_FR_AFRR_READ + "; read 2026-12-06",
        U,
        "RTE's daily D-1 call for tenders ran from delivery 2021-11-03 [confirmed], until "
        "its suspension of about two years before 2024-06-19 [secondary]; the suspension's "
        "first day was not found, so this record ends on " + AFRR_TENDER_SUSPENDED + ". "
        "Revises the record of the same day, whose note took the years before 2024-06-19 "
        "for a D-1 market either way",
        valid_to=date.fromisoformat(AFRR_TENDER_SUSPENDED),
    ),
    session=AUDIT_6,
)
AFRR_CAPACITY = AFRR_CAPACITY.with_rules(
    in_operation=(
        *AFRR_CAPACITY.in_operation,
        rule(
            False,
            AFRR_TENDER_SUSPENDED,
            MODO_FR_AFRR + "; " + RTE_AFRR + "; " + CE_SSF_2022,
            U,
            _SUSPENSION
            + ". No aFRR capacity auction is offered from "
            + AFRR_TENDER_SUSPENDED
            + " (the day the suspension became possible, taken for its unknown first day) "
            "to 2024-06-18; corrects the records believed before, which offered it every day "
            "since 2022",
            valid_to=AFRR_TENDER_REOPENED,
            reference=MODO_FR_AFRR_URL + "; " + _RTE_AFRR["reference"] + "; " + CE_SSF_2022_URL,
            document_version=MODO_FR_AFRR_READ + "; RTE service page (undated); Conseil d'Etat "
            "decision of 2024-11-26",
            review_by=AUDIT_REVIEW_BY,
            **AUDIT_6,
        ),
        rule(
            True,
            AFRR_TENDER_REOPENED,
            RTE_AFRR + "; " + MODO_FR_AFRR,
            C,
            "RTE contracts aFRR capacity through a national D-1 call for tenders since "
            "2024-06-19 (RTE) [confirmed]; the auction reopened then after its suspension "
            "(Modo Energy, secondary)",
            reference=_RTE_AFRR["reference"] + "; " + MODO_FR_AFRR_URL,
            document_version="RTE service page (undated); " + MODO_FR_AFRR_READ,
            **AUDIT_6,
        ),
    ),
)
RTE_AFRR_2024 = (
    "RTE news: 'Automatic frequency restoration reserve: Day-ahead call for tenders launch 2024'"
)
RTE_AFRR_2024_URL = (
    "https://services-rte.com/en/news/automatic-frequency-restoration-reserve-day-ahead-"
    "call-for-tenders-launch-2024.html"
)
_SIXTH_SESSION = (
    rule_id(COUNTRY, "afrr_capacity", "in_operation", HISTORY_START, AUDIT_DAY, 2),
    rule_id(COUNTRY, "afrr_capacity", "in_operation", AFRR_TENDER_SUSPENDED, AUDIT_DAY),
)
"""The sixth session's records of the suspension (tender until 2022-07-28, none after):
RTE's own account withdraws both."""

AFRR_CAPACITY = AFRR_CAPACITY.with_rules(
    in_operation=(
        *AFRR_CAPACITY.in_operation,
        rule(
            False,
            HISTORY_START,
            RTE_AFRR_2024,
            C,
            "RTE: the D-1 call for tenders of November 2021 ran for 3 weeks, then CRE, noting "
            "a market failure, suspended it and RTE reverted to the previous system (aFRR "
            "capacity prescribed to obligated parties on D-1); CRE's deliberation 2024-18 of "
            "2024-01-25 reopened it, first delivery day 2024-06-19. So no aFRR capacity "
            "auction is offered on any day of this history before 2024-06-19. Corrects the "
            "records of 2026-12-06, which ran the tender until 2022-07-28 (a guess at the "
            "suspension's first day, now known to lie in late 2021, before this history)",
            valid_to=AFRR_TENDER_REOPENED,
            reference=RTE_AFRR_2024_URL,
            document_version="RTE news of 2024 (before the first gate closure of 2024-06-18), "
            "read 2026-12-07",
            supersedes=_SIXTH_SESSION,
            **AUDIT_7,
        ),
    ),
)

AFRR_CAPACITY = sourced(
    AFRR_CAPACITY,
    Reading(
        "block_hours",
        HISTORY_START,
        MODO_FR_AFRR,
        MODO_FR_AFRR_URL,
        MODO_FR_AFRR_READ + ", read 2026-12-06",
        U,
        "RTE sizes its aFRR need per 4-hour block of the day (the summer 16:00-20:00 block "
        "reaches 1,500 MW), read in a secondary account of RTE's market rules for the auction "
        "reopened in June 2024 [secondary]; the product length of the 2021-2022 tender and "
        "RTE's rules themselves were not read",
    ),
    session=AUDIT_6,
)

AFRR_ENERGY = sourced(
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
            "RTE joined PICASSO in April 2025 [confirmed]; the day was not found; RTE "
            "has paid the marginal price since 2023-11-21",
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    Reading(
        "in_operation",
        "2025-04-01",
        WATTSNEXT_PICASSO + "; RTE: 'PICASSO' (first connection planned in Q1 2025; "
        "pro-rata activation every 4 s since 2023-07-20)",
        WATTSNEXT_PICASSO_URL
        + "; https://services-rte.com/en/learn-more-about-our-services/picasso.html",
        "wattsnext article (2025); RTE PICASSO page; read 2026-12-06",
        U,
        "RTE joined PICASSO in April 2025 (planned for Q1 2025); the day was not "
        "found, so April's first day is taken: review against RTE's go-live notice",
    ),
)
AFRR_ENERGY = sourced(
    AFRR_ENERGY,
    Reading(
        "in_operation",
        HISTORY_START,
        RTE_AFRR_ACTIVATION + "; RTE: PICASSO",
        RTE_AFRR_ACTIVATION_URL + "; " + RTE_PICASSO_URL,
        "RTE news of 2023-11-28 and RTE PICASSO page (undated), read 2026-12-06",
        G,
        "RTE activated aFRR pro rata every 4 s from 2023-07-20 and ran a local aFRR activation "
        "market (merit order, marginal price) from 2023-11-21, before its PICASSO connection "
        "[confirmed]; " + NOT_MODELLED_BEFORE_PICASSO,
    ),
    Reading(
        "order_types",
        "2025-04-01",
        RTE_AFRR_ACTIVATION,
        RTE_AFRR_ACTIVATION_URL,
        "RTE news of 2023-11-28, read 2026-12-06",
        note="aFRR is activated in the merit order of the participants' energy bids, paid the "
        "marginal price (from 2023-11-21, before PICASSO)",
    ),
    session=AUDIT_4,
)

AFRR_ENERGY = sourced(
    AFRR_ENERGY, picasso_gate_reading(COUNTRY, "RTE", "2025-04-01"), session=AUDIT_6
)

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="France",
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
