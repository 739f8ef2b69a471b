"""German regulatory rule sets from 2015-01-01 to 2021-12-31 (issue 15).

Versions, each valid until the next (2022.1 in `regulatory.countries.de` follows 2021.1):

- 2015.1 (2015-01-01): EEG 2014, KWKG 2012; levies of 2015; zone DE-AT-LU.
- 2016.1 (2016-01-01): KWKG 2016 (no CHP bonus at negative prices); levies of 2016; the
  EEG's 6-hour rule for plants commissioned from 2016.
- 2017.1 (2017-01-01): EEG 2017 (§ 61k storage relief); levies of 2017.
- 2018.1 (2018-01-01): levies of 2018.
- 2018.2 (2018-07-12): aFRR tendered calendar-daily with a 1 MW minimum offer.
- 2018.3 (2018-10-01): the German-Luxembourg bidding zone DE-LU after the split.
- 2019.1, 2020.1 (1 January): levies of the year (the offshore grid levy replaces the
  offshore liability levy from 2019).
- 2021.1 (2021-01-01): EEG 2021 (4-hour rule for new plants); levies of 2021.

Each levy rate is the rate for non-privileged consumption (group A', the first GWh of an
offtake point) as the TSOs or the Bundesnetzagentur publish it; the source, its address and
the confidence are on every fact. A battery's treatment resolves on every day: grid fee
waived under § 118(6) EnWG for storage commissioned by 2026-08-04, the EEG levy relieved for
stored energy fed back (§ 60(3) EEG 2014, § 61k EEG 2017), the other levies and the
electricity tax relieved with confidence uncertain (their storage treatment before the EnFG
of 2023 was not found in a primary source).

Negative rates (the offshore liability levy of 2015 and 2017 for group A': -0.051 and
-0.028 ct/kWh) cannot be recorded as a charge (a charge is >= 0): those years carry no
offshore levy, which the version's ``change`` says.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from regulatory.assets.base import BalancingProduct
from regulatory.countries._common import WITHDRAWING, fcr
from regulatory.rules import (
    BaselineRule,
    ChargingCharge,
    Confidence,
    DatedNegativePriceRule,
    Exemption,
    NegativePriceRule,
    PoolingScope,
    ProductRule,
    RuleSet,
    SupportBand,
    SupportScheme,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

HISTORY_DAY = date(2026, 12, 6)
"""Knowledge time of these versions: the day they were recorded."""

HISTORY_REVIEW_BY = date(2027, 3, 31)
"""By when the uncertain facts of these versions are checked again."""

HISTORY_VERSION: dict[str, Any] = {
    "recorded_at": HISTORY_DAY,
    "recorded_by": "h15hist (rule history session of issue 15)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-h15hist)",
}
"""Knowledge time, author and approver of each version of this history."""

CONTROL_AREAS = ("50Hertz", "Amprion", "TenneT DE", "TransnetBW")

EEG_LEVY_SOURCE = "netztransparenz.de 'EEG-Umlagen-Übersicht' (the four TSOs)"
EEG_LEVY_REF = "https://www.netztransparenz.de/EEG/EEG-Umlagen-Uebersicht"
KWKG_SOURCE = "Bundesnetzagentur glossary 'KWKG-Umlage' (development of the levy, ct/kWh)"
KWKG_REF = "https://bundesnetzagentur.de/SharedDocs/A_Z_Glossar/K/KWKG_Umlage.html"
OFFSHORE_SOURCE = "Amprion 'Übersicht über die Offshore-Netzumlage seit 2013' (group A' until 2018)"
OFFSHORE_REF = (
    "https://amprion.net/Strommarkt/Abgaben-und-Umlagen/Offshore-Netzumlage/"
    "Offshore-Netzumlage-seit-2013.html"
)
S19_SOURCE = "Bundesnetzagentur glossary '§ 19 StromNEV-Umlage' (2018-2023)"
S19_REF = "https://www.bundesnetzagentur.de/SharedDocs/A_Z_Glossar/P/Par19_StromNEV_Umlage.html"
S19_OLD_SOURCE = "renob.de '§ 19 StromNEV-Umlage, Preishistorie' (category A)"
S19_OLD_REF = "https://www.renob.de/infothek/energiewirtschaft/sta_p19.php"

LEVIES_CT_PER_KWH: dict[int, dict[str, tuple[float, Confidence, str, str, str | None]]] = {
    2015: {
        "EEG levy": (6.17, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.254, C, KWKG_SOURCE, KWKG_REF, None),
        "§ 19 StromNEV levy": (
            0.237,
            U,
            "nexus-energie.de customer service (0.237); renob.de price history (0.227)",
            "http://kundenservice.nexus-energie.de/support/solutions/articles/6000003102; "
            + S19_OLD_REF,
            "two secondary sources disagree (0.237 and 0.227 ct/kWh); the higher is kept",
        ),
    },
    2016: {
        "EEG levy": (6.354, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.445, C, KWKG_SOURCE, KWKG_REF, None),
        "offshore liability levy": (0.040, C, OFFSHORE_SOURCE, OFFSHORE_REF, None),
        "§ 19 StromNEV levy": (0.378, G, S19_OLD_SOURCE, S19_OLD_REF, "one secondary source"),
    },
    2017: {
        "EEG levy": (6.88, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.438, C, KWKG_SOURCE, KWKG_REF, None),
        "§ 19 StromNEV levy": (0.388, G, S19_OLD_SOURCE, S19_OLD_REF, "one secondary source"),
    },
    2018: {
        "EEG levy": (6.792, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.345, C, KWKG_SOURCE, KWKG_REF, None),
        "offshore liability levy": (0.037, C, OFFSHORE_SOURCE, OFFSHORE_REF, None),
        "§ 19 StromNEV levy": (0.370, C, S19_SOURCE, S19_REF, None),
    },
    2019: {
        "EEG levy": (6.405, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.280, C, KWKG_SOURCE, KWKG_REF, None),
        "offshore grid levy": (0.416, C, OFFSHORE_SOURCE, OFFSHORE_REF, None),
        "§ 19 StromNEV levy": (0.305, C, S19_SOURCE, S19_REF, None),
    },
    2020: {
        "EEG levy": (6.756, C, EEG_LEVY_SOURCE, EEG_LEVY_REF, None),
        "KWKG levy": (0.226, C, KWKG_SOURCE, KWKG_REF, None),
        "offshore grid levy": (0.416, C, OFFSHORE_SOURCE, OFFSHORE_REF, None),
        "§ 19 StromNEV levy": (0.358, C, S19_SOURCE, S19_REF, None),
    },
    2021: {
        "EEG levy": (
            6.5,
            C,
            EEG_LEVY_SOURCE,
            EEG_LEVY_REF,
            "capped by a federal grant (9.651 ct/kWh without it)",
        ),
        "KWKG levy": (0.254, C, KWKG_SOURCE, KWKG_REF, None),
        "offshore grid levy": (0.395, C, OFFSHORE_SOURCE, OFFSHORE_REF, None),
        "§ 19 StromNEV levy": (0.432, C, S19_SOURCE, S19_REF, None),
    },
}
"""Levy per year [ct/kWh] on non-privileged withdrawal, with confidence, source, address and
a note. EUR/MWh = 10 x ct/kWh."""


def _eeg_relief(year: int) -> Exemption:
    if year < 2017:
        text, law = (
            "§ 60(3) EEG 2014: no EEG levy on electricity stored and withdrawn only to be "
            "fed back to the grid",
            "§ 60(3) EEG 2014 [G]",
        )
    elif year < 2021:
        text, law = (
            "§ 61k EEG 2017: no EEG levy on stored electricity as far as it is fed back",
            "§ 61k EEG 2017 [G]",
        )
    else:
        text, law = (
            "§ 61l EEG 2021: no EEG levy on stored electricity as far as it is fed back",
            "§ 61l EEG 2021 [G]",
        )
    return Exemption(description=text, kinds=("battery",), source=law, confidence=G)


STORAGE_LEVY_RELIEF = Exemption(
    description="storage withdrawal fed back to the grid is taken as relieved of this grid "
    "surcharge, as of the EEG levy (§ 118(6) EnWG waives the grid fee it is added to)",
    kinds=("battery",),
    source="assumption of the issue-15 history; the EnFG (2023) relief is the built-in rule",
    confidence=U,
    note="the storage treatment of KWKG, offshore and § 19 StromNEV surcharges before 2023 "
    "was not found in a primary source",
    review_by=HISTORY_REVIEW_BY,
)


def _levies(year: int) -> tuple[ChargingCharge, ...]:
    """The levies of `year` on withdrawal [EUR/MWh] with the storage relief of the era."""
    out = []
    for name, (ct, confidence, source, reference, note) in LEVIES_CT_PER_KWH[year].items():
        relief = _eeg_relief(year) if name == "EEG levy" else STORAGE_LEVY_RELIEF
        out.append(
            ChargingCharge(
                name=name,
                kinds=WITHDRAWING,
                eur_per_mwh=round(ct * 10, 4),
                source=f"{source}: {ct:g} ct/kWh in {year}",
                reference=reference,
                retrieved_on=HISTORY_DAY,
                confidence=confidence,
                note=note,
                review_by=HISTORY_REVIEW_BY if confidence is U else None,
                exemptions=(relief,),
            )
        )
    return tuple(out)


GRID_FEE = ChargingCharge(
    name="grid fee on withdrawal (Netzentgelt)",
    kinds=WITHDRAWING,
    site_tariff=True,
    source="site DSO/TSO tariff",
    confidence=C,
    exemptions=(
        Exemption(
            description="§ 118(6) EnWG (2011): storage commissioned by 2026-08-04 pays no "
            "grid fee for 20 years",
            kinds=("battery",),
            commissioned_before=date(2026, 8, 5),
            duration_years=20,
            source="§ 118(6) EnWG as amended in 2011 (erneuerbareenergien.de, Roedl & Partner)",
            confidence=G,
        ),
    ),
)

ELECTRICITY_TAX = ChargingCharge(
    name="electricity tax (Stromsteuer)",
    kinds=WITHDRAWING,
    eur_per_mwh=20.50,
    source="StromStG general rate 2.05 ct/kWh, unchanged since 2003 [G]",
    confidence=G,
    exemptions=(
        Exemption(
            description="storage withdrawal for re-injection taken as untaxed",
            kinds=("battery",),
            source="StromStG (§ 5(4) in its later wording) [U]",
            confidence=U,
            note="when stationary batteries were first relieved of the electricity tax "
            "(believed 2019 or earlier) was not found",
            review_by=HISTORY_REVIEW_BY,
        ),
    ),
)


def _hours(hours: float, source: str) -> NegativePriceRule:
    return NegativePriceRule(kind="consecutive_hours", hours=hours, source=source, confidence=C)


NOT_AFFECTED = NegativePriceRule(kind="not_affected", source="Dr. Kauch", confidence=C)


def _eeg(year: int) -> SupportScheme:
    bands = [
        SupportBand(
            commissioned_before=date(2016, 1, 1),
            rules=(DatedNegativePriceRule(rule=NOT_AFFECTED),),
            source="§ 51 EEG, plants commissioned before 2016 (Dr. Kauch)",
            confidence=C,
        ),
        SupportBand(
            commissioned_from=date(2016, 1, 1),
            commissioned_before=date(2021, 1, 1),
            rules=(DatedNegativePriceRule(rule=_hours(6, "§ 24 EEG 2014 / § 51 EEG 2017")),),
            source="§ 24 EEG 2014 / § 51 EEG 2017, commissioned 2016-2020: 6 consecutive hours",
            confidence=C,
        ),
    ]
    if year >= 2021:
        bands.append(
            SupportBand(
                commissioned_from=date(2021, 1, 1),
                rules=(DatedNegativePriceRule(rule=_hours(4, "§ 51 EEG 2021")),),
                source="§ 51 EEG 2021, commissioned from 2021: 4 consecutive hours",
                confidence=C,
            )
        )
    else:
        bands.append(
            SupportBand(
                commissioned_from=date(2021, 1, 1),
                rules=(DatedNegativePriceRule(rule=_hours(6, "§ 51 EEG 2017")),),
                source="§ 51 EEG 2017 (plants commissioned later fall under EEG 2021)",
                confidence=G,
            )
        )
    law = "EEG 2014" if year < 2017 else "EEG 2017" if year < 2021 else "EEG 2021"
    return SupportScheme(
        name="EEG market premium",
        kinds=("pv", "wind"),
        bands=tuple(bands),
        source=f"{law} direct marketing, market premium = anzulegender Wert - market value [G]",
        confidence=G,
    )


def _kwkg(year: int) -> SupportScheme:
    if year < 2016:
        rule = NegativePriceRule(
            kind="not_affected",
            source="KWKG 2012 [U]",
            confidence=U,
            note="no negative-price rule is known before KWKG 2016; not checked in the law",
            review_by=HISTORY_REVIEW_BY,
        )
    else:
        rule = NegativePriceRule(
            kind="every_period",
            source="§ 7(7) KWKG 2016 [U]: no bonus for periods with a negative price",
            confidence=U,
            note="KWKG 2016 withholds the bonus when the price is negative; when 'zero or "
            "negative' (the built-in rule of 2022) took over was not found",
            review_by=HISTORY_REVIEW_BY,
        )
    return SupportScheme(
        name="KWKG CHP bonus",
        kinds=("chp",),
        bands=(
            SupportBand(
                rules=(DatedNegativePriceRule(rule=rule),),
                source=rule.source,
                confidence=rule.confidence,
                review_by=rule.review_by,
            ),
        ),
        source="KWKG 2012 / KWKG 2016 (netztransparenz)",
        confidence=G,
    )


def _afrr(min_offer_mw: float) -> tuple[ProductRule, ProductRule]:
    note = (
        "5 MW before the calendar-daily tenders of 2018-07-12, 1 MW after (BK6-15-158); "
        "neither figure was read in the decision's text"
    )
    return tuple(  # type: ignore[return-value]
        ProductRule(
            product=product,
            min_offer_mw=min_offer_mw,
            pooling=PoolingScope.CONTROL_AREA,
            source="regelleistung.net (BSP prequalification, connecting TSO); BK6-15-158",
            confidence=U,
            note=note,
            review_by=HISTORY_REVIEW_BY,
        )
        for product in (BalancingProduct.AFRR_POS, BalancingProduct.AFRR_NEG)
    )


BASELINE = BaselineRule(
    method="bsp_schedule",
    description="delivered flexibility = deviation from a schedule / operating point the BSP "
    "supplies",
    source="as the built-in rule of 2022 (reference section 4.4)",
    confidence=U,
    review_by=HISTORY_REVIEW_BY,
)


def _version(
    version: str, valid_from: date, change: str, *, year: int, zone: str, afrr_min_mw: float
) -> RuleSet:
    return RuleSet(
        country="DE",
        version=version,
        valid_from=valid_from,
        change=change,
        timezone="Europe/Berlin",
        bidding_zones=(zone,) if zone == "DE_LU" else (zone, "DE_LU"),
        control_areas=CONTROL_AREAS,
        products=(
            fcr(
                pooling=PoolingScope.CONTROL_AREA,
                reservoir_h=0.25 if valid_from >= date(2019, 5, 2) else 0.5,
                reservoir_source="15-min LER rule, BNetzA BK6-17-234 (2019-05-02), applied "
                "from version 2020.1 (the first after the decision); 30 minutes (the TSOs' "
                "criterion) before it [U]",
                confidence=U,
                review_by=HISTORY_REVIEW_BY,
            ),
            *_afrr(afrr_min_mw),
        ),
        support_schemes=(_eeg(year), _kwkg(year)),
        charging=(GRID_FEE, ELECTRICITY_TAX, *_levies(year)),
        baselines=(BASELINE,),
        **HISTORY_VERSION,
    )


_NO_OFFSHORE = " (the offshore liability levy of {y} was negative for group A' and is left out)"

VERSIONS: tuple[RuleSet, ...] = (
    _version(
        "2015.1",
        date(2015, 1, 1),
        "start of the German history (issue 15): EEG 2014, KWKG 2012, levies of 2015; "
        "joint zone DE-AT-LU" + _NO_OFFSHORE.format(y=2015),
        year=2015,
        zone="DE_AT_LU",
        afrr_min_mw=5.0,
    ),
    _version(
        "2016.1",
        date(2016, 1, 1),
        "KWKG 2016; levies of 2016; EEG 6-hour rule for plants commissioned from 2016",
        year=2016,
        zone="DE_AT_LU",
        afrr_min_mw=5.0,
    ),
    _version(
        "2017.1",
        date(2017, 1, 1),
        "EEG 2017 (§ 61k storage relief); levies of 2017" + _NO_OFFSHORE.format(y=2017),
        year=2017,
        zone="DE_AT_LU",
        afrr_min_mw=5.0,
    ),
    _version(
        "2018.1",
        date(2018, 1, 1),
        "levies of 2018",
        year=2018,
        zone="DE_AT_LU",
        afrr_min_mw=5.0,
    ),
    _version(
        "2018.2",
        date(2018, 7, 12),
        "aFRR tendered calendar-daily in 4-hour blocks, 1 MW minimum offer (BK6-15-158)",
        year=2018,
        zone="DE_AT_LU",
        afrr_min_mw=1.0,
    ),
    _version(
        "2018.3",
        date(2018, 10, 1),
        "bidding zone DE-LU after the German-Austrian split (first delivery day 2018-10-01)",
        year=2018,
        zone="DE_LU",
        afrr_min_mw=1.0,
    ),
    _version(
        "2019.1", date(2019, 1, 1), "levies of 2019", year=2019, zone="DE_LU", afrr_min_mw=1.0
    ),
    _version(
        "2020.1", date(2020, 1, 1), "levies of 2020", year=2020, zone="DE_LU", afrr_min_mw=1.0
    ),
    _version(
        "2021.1",
        date(2021, 1, 1),
        "EEG 2021 (4-hour rule for new plants); levies of 2021",
        year=2021,
        zone="DE_LU",
        afrr_min_mw=1.0,
    ),
)
"""The German rule sets of 2015-2021, oldest first; 2022.1 follows."""
