"""Germany (DE-LU bidding zone): regulatory treatment rule sets.

The versions of 2015-2021 (2015.1 to 2021.1, recorded 2026-12-06 for issue 15) are in
`regulatory.countries.de_history`; those below follow them.

Facts from market-rules-reference.md sections 4, 5 and 7; each carries its source and a
confidence mark. Versions:

- 2022.1 (2022-01-01): EEG 2021 bands, KWKG, storage grid-fee waiver to 2026-08-04.
- 2022.2 (2022-07-01): EEG levy at zero.
- 2023.1 (2023-01-01): EEG 2023 negative-price bands for new plants; 2023 levies.
- 2025.1 (2025-02-25): Solarspitzengesetz, premium lost in every negative period.
- 2025.2 (2025-04-01): KWKG 2025, no CHP bonus at prices <= 0 for all sizes.
- 2025.3 (2025-12-01, start date uncertain): storage waiver extended to 2029-08-04.
- 2026.1 (2026-01-01, recorded 2026-12-06 in the rule audit of issue 17): the levies of
  2026 as the four TSOs published them on 2025-10-24. Until then the 2025 rates were
  believed to apply in 2026 (``vpp markets treatments DE --on 2026-02-01 --known-on
  2026-12-05``). The levy that replaced the § 19 StromNEV levy is called "Aufschlag für
  besondere Netznutzung" since 2025; the versions of 2025 keep the old name.

Every version is re-recorded twice on 2026-12-06: ``V-rev1`` with the sources of the
audit's session 3 (`de_audit`), then ``V-rev2`` with those of session 4 (`de_audit_4`:
the BSP-schedule baseline, § 60(3) EEG 2014, the storage relief of the § 19 StromNEV and
offshore levies, which in 2015 and 2016 is withdrawn).
"""

from datetime import date, timedelta

from regulatory.countries import de_audit_4
from regulatory.countries._common import (
    AUDIT_4_VERSION,
    AUDIT_DAY,
    AUDIT_REVIEW_BY,
    AUDIT_VERSION,
    WITHDRAWING,
    afrr,
    fcr,
)
from regulatory.countries.de_audit import re_record
from regulatory.countries.de_history import VERSIONS as HISTORY_VERSIONS
from regulatory.countries.revision import revise
from regulatory.rules import (
    LEGACY_REVIEW_BY,
    BaselineRule,
    ChargingCharge,
    Confidence,
    CountryRules,
    DatedNegativePriceRule,
    Exemption,
    NegativePriceRule,
    PoolingScope,
    RuleSet,
    SupportBand,
    SupportScheme,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN
CONTROL_AREAS = ("50Hertz", "Amprion", "TenneT DE", "TransnetBW")
REGELLEISTUNG = "regelleistung.net (BSP prequalification, connecting TSO)"


AFRR = afrr(
    pooling=PoolingScope.CONTROL_AREA,
    reservoir_h=0.25,
    source=f"{REGELLEISTUNG}; pooling per connecting TSO; min bid 1 MW [G]; "
    "reservoir 15 min per a secondary source, PQ conditions 'Arbeitsvermoegen' v1.04",
    confidence=U,
    note="the aFRR energy-reservoir rule is uncertain (reference section 4.4)",
    review_by=LEGACY_REVIEW_BY,
)


def _hours(hours: float, source: str = "Dr. Kauch; energieundrecht") -> NegativePriceRule:
    return NegativePriceRule(kind="consecutive_hours", hours=hours, source=source, confidence=C)


NOT_AFFECTED = NegativePriceRule(kind="not_affected", source="Dr. Kauch", confidence=C)

EEG_BANDS_2023 = (
    SupportBand(
        commissioned_before=date(2016, 1, 1),
        rules=(DatedNegativePriceRule(rule=NOT_AFFECTED),),
        source="§ 51 EEG, plants commissioned before 2016 (Dr. Kauch)",
        confidence=C,
    ),
    SupportBand(
        commissioned_from=date(2016, 1, 1),
        commissioned_before=date(2021, 1, 1),
        rules=(DatedNegativePriceRule(rule=_hours(6)),),
        source="§ 51 EEG 2014/2017, commissioned 2016-2020: 6 consecutive hours",
        confidence=C,
    ),
    SupportBand(
        commissioned_from=date(2021, 1, 1),
        commissioned_before=date(2023, 1, 1),
        rules=(DatedNegativePriceRule(rule=_hours(4)),),
        source="§ 51 EEG 2021, commissioned 2021-2022: 4 consecutive hours",
        confidence=C,
    ),
    SupportBand(
        commissioned_from=date(2023, 1, 1),
        min_rating_mw=0.4,
        rules=(
            DatedNegativePriceRule(applies_from=date(2023, 1, 1), rule=_hours(4)),
            DatedNegativePriceRule(applies_from=date(2024, 1, 1), rule=_hours(3)),
            DatedNegativePriceRule(applies_from=date(2026, 1, 1), rule=_hours(2)),
            DatedNegativePriceRule(applies_from=date(2027, 1, 1), rule=_hours(1)),
        ),
        source="§ 51 EEG 2023, >= 400 kW: 4 h (2023), 3 h (2024-25), 2 h (2026), 1 h (2027 on)",
        confidence=C,
    ),
    SupportBand(
        commissioned_from=date(2023, 1, 1),
        rules=(DatedNegativePriceRule(rule=NOT_AFFECTED),),
        source="§ 51 EEG 2023 threshold of 400 kW: smaller plants not covered [G]",
        confidence=G,
    ),
)

SOLARSPITZEN_BAND = SupportBand(
    commissioned_from=date(2025, 2, 25),
    min_rating_mw=0.002,
    rules=(
        DatedNegativePriceRule(
            rule=NegativePriceRule(
                kind="every_period",
                source="§ 51 EEG as amended by the Solarspitzengesetz (Grant Thornton, SFV)",
                confidence=C,
                note="lost periods are appended after the support term (§ 51a EEG)",
            )
        ),
    ),
    source="Solarspitzengesetz, commissioned from 2025-02-25, >= 2 kW",
    confidence=C,
)


def _eeg(bands: tuple[SupportBand, ...]) -> SupportScheme:
    return SupportScheme(
        name="EEG market premium",
        kinds=("pv", "wind"),
        bands=bands,
        source="EEG direct marketing, market premium = anzulegender Wert - market value [G]",
        confidence=G,
    )


def _kwkg(*, small_exempt_before: date | None) -> SupportScheme:
    """KWKG bonus: lapses at prices <= 0; plants <= 50 kW were exempt.

    `small_exempt_before`: the <= 50 kW exemption only covers plants commissioned before
    this date (KWKG 2025); None = all small plants.
    """
    non_positive = NegativePriceRule(
        kind="non_positive_period",
        source="KWKG: no bonus when the day-ahead price is zero or negative (netztransparenz)",
        confidence=C,
        note="hours without a bonus do not use up the 30,000 / 60,000 full-load-hour budget",
    )
    small = SupportBand(
        max_rating_mw=0.05,
        commissioned_before=small_exempt_before,
        rules=(DatedNegativePriceRule(rule=NOT_AFFECTED),),
        source="KWKG: plants <= 50 kW exempt"
        + (" if commissioned before 2025-04-01 (KWKG 2025)" if small_exempt_before else ""),
        confidence=C,
    )
    others = SupportBand(
        rules=(DatedNegativePriceRule(rule=non_positive),),
        source="KWKG (Steinkamp, energierechtinderpraxis)",
        confidence=C,
    )
    return SupportScheme(
        name="KWKG CHP bonus",
        kinds=("chp",),
        bands=(small, others),
        source="KWKG (netztransparenz)",
        confidence=C,
    )


def _storage_grid_fee(commissioned_by: date) -> ChargingCharge:
    """Grid fee at the site tariff; § 118(6) EnWG waives it for storage built by a deadline."""
    return ChargingCharge(
        name="grid fee on withdrawal (Netzentgelt)",
        kinds=WITHDRAWING,
        site_tariff=True,
        source="site DSO/TSO tariff",
        confidence=C,
        exemptions=(
            Exemption(
                description=f"§ 118(6) EnWG: storage commissioned by {commissioned_by.isoformat()} "
                "pays no grid fee for 20 years",
                kinds=("battery",),
                commissioned_before=commissioned_by + timedelta(days=1),
                duration_years=20,
                source="§ 118(6) EnWG (erneuerbareenergien.de, Roedl & Partner)",
                confidence=C,
            ),
        ),
    )


LEVY_RATES_EUR_PER_MWH: dict[str, dict[str, float]] = {
    "2022-H1": {
        "EEG levy": 37.23,
        "KWKG levy": 3.78,
        "offshore grid levy": 4.19,
        "§ 19 StromNEV levy": 4.37,
    },
    "2022-H2": {"KWKG levy": 3.78, "offshore grid levy": 4.19, "§ 19 StromNEV levy": 4.37},
    "2023": {"KWKG levy": 3.57, "offshore grid levy": 5.91, "§ 19 StromNEV levy": 4.17},
    "2024": {"KWKG levy": 2.75, "offshore grid levy": 6.56, "§ 19 StromNEV levy": 6.43},
    "2025": {"KWKG levy": 2.77, "offshore grid levy": 8.16, "§ 19 StromNEV levy": 15.58},
}
"""Published levy rates on grid withdrawal per period [EUR/MWh], general knowledge [G]."""


def _levies(period: str) -> tuple[ChargingCharge, ...]:
    """The levies of `period` (a key of LEVY_RATES_EUR_PER_MWH), with storage relief."""
    relief = (
        ("§ 61l EEG 2021: no levy on energy stored and fed back to the grid", "EEG 2021 [G]")
        if period.startswith("2022")
        else ("EnFG: no levy on energy stored and fed back to the grid", "EnFG [G]")
    )
    return tuple(
        ChargingCharge(
            name=name,
            kinds=WITHDRAWING,
            eur_per_mwh=rate,
            source=f"published {period} rate [G]",
            confidence=G,
            note="rates change every January; years after 2025 not researched",
            exemptions=(
                Exemption(
                    description=relief[0], kinds=("battery",), source=relief[1], confidence=G
                ),
            ),
        )
        for name, rate in LEVY_RATES_EUR_PER_MWH[period].items()
    )


def _charges(
    period: str, storage_commissioned_by: date = date(2026, 8, 4)
) -> tuple[ChargingCharge, ...]:
    """Everything charged on withdrawal: grid fee, electricity tax and `period`'s levies."""
    return (
        _storage_grid_fee(storage_commissioned_by),
        ELECTRICITY_TAX,
        *_levies(period),
    )


ELECTRICITY_TAX = ChargingCharge(
    name="electricity tax (Stromsteuer)",
    kinds=WITHDRAWING,
    eur_per_mwh=20.50,
    source="StromStG general rate 2.05 ct/kWh [G]",
    confidence=G,
    exemptions=(
        Exemption(
            description="§ 5(4) StromStG: storage withdrawal for re-injection is untaxed",
            kinds=("battery",),
            source="StromStG [G]",
            confidence=G,
        ),
    ),
)

BASELINE = BaselineRule(
    method="bsp_schedule",
    description="delivered flexibility = deviation from a schedule / operating point the BSP "
    "supplies",
    source="reference section 4.4: DE uses a schedule or operating point supplied by the BSP",
    confidence=U,
    review_by=LEGACY_REVIEW_BY,
)

_2022 = RuleSet(
    country="DE",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set: EEG 2021, KWKG, § 118(6) EnWG; levies as of 2022 [G]",
    timezone="Europe/Berlin",
    bidding_zones=("DE_LU",),
    control_areas=CONTROL_AREAS,
    products=(
        fcr(
            pooling=PoolingScope.CONTROL_AREA,
            reservoir_h=0.25,
            reservoir_source="15-min LER rule, BNetzA BK6-17-234 (2019-05-02)",
        ),
        *AFRR,
    ),
    support_schemes=(_eeg(EEG_BANDS_2023[:3]), _kwkg(small_exempt_before=None)),
    charging=_charges("2022-H1"),
    baselines=(BASELINE,),
)

RULES = CountryRules(country="DE", name="Germany", versions=(*HISTORY_VERSIONS, _2022))
RULES = RULES.amend(
    version="2022.2",
    valid_from=date(2022, 7, 1),
    change="EEG levy set to zero from 2022-07-01 [G]",
    charging=_charges("2022-H2"),
)
RULES = RULES.amend(
    version="2023.1",
    valid_from=date(2023, 1, 1),
    change="EEG 2023 negative-price bands for new plants; levies as of 2023 [G]",
    support_schemes=(_eeg(EEG_BANDS_2023), _kwkg(small_exempt_before=None)),
    charging=_charges("2023"),
)
RULES = RULES.amend(
    version="2024.1",
    valid_from=date(2024, 1, 1),
    change="levy rates for 2024 [G]",
    charging=_charges("2024"),
)
RULES = RULES.amend(
    version="2025.1",
    valid_from=date(2025, 2, 25),
    change="Solarspitzengesetz: premium lost in every negative period for new plants",
    support_schemes=(
        _eeg((SOLARSPITZEN_BAND, *EEG_BANDS_2023)),
        _kwkg(small_exempt_before=None),
    ),
    charging=_charges("2025"),
)
RULES = RULES.amend(
    version="2025.2",
    valid_from=date(2025, 4, 1),
    change="KWKG 2025 in force: the <= 50 kW exemption ends for new plants",
    support_schemes=(
        _eeg((SOLARSPITZEN_BAND, *EEG_BANDS_2023)),
        _kwkg(small_exempt_before=date(2025, 4, 1)),
    ),
)
RULES = RULES.amend(
    version="2025.3",
    valid_from=date(2025, 12, 1),
    valid_from_confidence=U,
    change="§ 118(6) EnWG storage grid-fee waiver extended to storage commissioned by "
    "2029-08-04; the date the extension took effect was not found, 2025-12-01 is assumed",
    charging=_charges("2025", storage_commissioned_by=date(2029, 8, 4)),
    review_by=LEGACY_REVIEW_BY,
)


_TSO_2026 = (
    "the four German TSOs' levies for 2026, published 2025-10-24 on netztransparenz.de "
    "(reported by GET AG, TGA Fachplaner, cp-energie)"
)
_TSO_2026_REFERENCE = (
    "https://www.tga-fachplaner.de/meldungen/energiepreise-2026-stromnetz-umlagen-und-"
    "aufschlag-steigen-geringfuegig; https://blog.get-ag.com/branchennews/netzentgeltbasierte-"
    "umlagen-steigen-2026"
)


def _levy_2026(
    name: str, rate: float, confidence: Confidence, note: str, review_by: date | None = None
) -> ChargingCharge:
    """A 2026 levy on withdrawal [EUR/MWh] with the storage relief of the EnFG."""
    return ChargingCharge(
        name=name,
        kinds=WITHDRAWING,
        eur_per_mwh=rate,
        source=_TSO_2026,
        reference=_TSO_2026_REFERENCE,
        document_version="TSO publication of 2025-10-24",
        retrieved_on=AUDIT_DAY,
        confidence=confidence,
        note=note,
        review_by=review_by,
        exemptions=(
            Exemption(
                description="EnFG: no levy on energy stored and fed back to the grid",
                kinds=("battery",),
                source="EnFG [G]",
                confidence=G,
            ),
        ),
    )


LEVIES_2026 = (
    _levy_2026("KWKG levy", 4.46, C, "0.446 ct/kWh for non-privileged consumers (2025: 0.277)"),
    _levy_2026(
        "offshore grid levy", 9.41, C, "0.941 ct/kWh for non-privileged consumers (2025: 0.816)"
    ),
    _levy_2026(
        "Aufschlag für besondere Netznutzung (formerly § 19 StromNEV levy)",
        15.59,
        U,
        "1.559 ct/kWh for the first 1 GWh per offtake point (group A'; B/C pay 0.05/0.025); "
        "published subject to the federal grant of EUR 6.5 bn to transmission costs, which "
        "had to be law by 2025-12-05 or the TSOs would raise it: whether it was final was "
        "not found",
        review_by=AUDIT_REVIEW_BY,
    ),
)

RULES = RULES.amend(
    version="2026.1",
    valid_from=date(2026, 1, 1),
    change="levies of 2026 (KWKG 0.446, offshore 0.941, Aufschlag für besondere Netznutzung "
    "1.559 ct/kWh; TSO publication of 2025-10-24); the 2025 rates had been applied to 2026",
    charging=(
        _storage_grid_fee(date(2029, 8, 4)),
        ELECTRICITY_TAX,
        *LEVIES_2026,
    ),
    **AUDIT_VERSION,
)


def _revised(rules: CountryRules) -> CountryRules:
    """`rules` with every version re-recorded by the audit's session 3 (`de_audit`).

    Versions recorded on the same day must be listed by valid time, so the tuple holds the
    versions recorded on 2026-12-06 before the audit (2015.1-2021.1, 2026.1) first, then the
    legacy ones of 2026-11-22, then the re-recorded ones (2015.1-rev1 to 2026.1-rev1).
    """
    today = [v for v in rules.versions if v.recorded_at == AUDIT_DAY]
    legacy = [v for v in rules.versions if v.recorded_at != AUDIT_DAY]
    revised = [
        re_record(v, history=v.valid_from.year < 2022)
        for v in sorted(rules.versions, key=lambda v: v.valid_from)
    ]
    return CountryRules(
        country=rules.country, name=rules.name, versions=(*today, *legacy, *revised)
    )


RULES = _revised(RULES)
RULES = revise(
    RULES, lookup=de_audit_4.lookup, session=de_audit_4.SESSION, recorded=AUDIT_4_VERSION
)
