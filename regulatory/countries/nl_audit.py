"""The Netherlands' rule sets re-recorded with sources (rule audit session 4 of issue 17,
2026-12-06).

Corrected, because the sources read say otherwise:

- SDE+/SDE++: the subsidy is not lost in every negative period but for production while the
  day-ahead price is negative for six consecutive hours or more, for plants of >= 0.5 MW
  whose application was filed after 2015-12-01 (RVO, as reported by zonadvies and
  E-kwadraat). Smaller plants and plants commissioned before 2016 (a proxy for the
  application date) are not affected.
- Energy tax: since 2022-01-01 electricity supplied to an energy storage facility is, under
  conditions, not a taxable supply (Belastingplan 2022), so a battery's withdrawal is
  exempt; the condition that the battery sits behind a large-consumer connection is not
  modelled.
"""

from __future__ import annotations

from datetime import date

from regulatory.countries._common import AUDIT_REVIEW_BY
from regulatory.countries.de_sources import Provenance
from regulatory.countries.eu_sources import FCR_LER
from regulatory.countries.revision import Entry, sourced
from regulatory.rules import (
    Confidence,
    DatedNegativePriceRule,
    Exemption,
    Fact,
    NegativePriceRule,
    RuleSet,
    SupportBand,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

SESSION = "the rule audit of 2026-12-06 (session 4)"

SDE_FROM = date(2016, 1, 1)
"""Plants commissioned from this day stand for applications filed after 2015-12-01."""

SDE_MIN_MW = 0.5
"""SDE+: plants of at least this size (wind: 3 MW) lose the subsidy at negative prices [MW]."""

SDE_NEGATIVE_HOURS = 6.0
"""SDE+: the subsidy lapses once the price is negative this many consecutive hours [h]."""

TENNET_AFRR = Provenance(
    source="TenneT aFRR pilot end report (2021-07-06): TenneT opened the aFRR market to "
    "independent aggregators and to decentral and renewable assets; TenneT 'Ondersteunende "
    "diensten (Nederland)'",
    reference="https://www.readkong.com/page/afrr-pilot-end-report-tennet-8577493; "
    "https://www.tennet.eu/nl/de-elektriciteitsmarkt/ondersteunende-diensten-nederland",
    document_version="aFRR pilot end report of 2021-07-06 (readkong copy); TenneT page, read "
    "2026-12-06",
    confidence=U,
    note="the minimum offer (1 MW), the pooling scope and any reservoir rule were not read "
    "in TenneT's aFRR product information",
)
TENNET_BASELINE = Provenance(
    source="TenneT aFRR pilot end report (2021-07-06): aggregated small assets delivered "
    "aFRR in the pilot with new data-communication options",
    reference="https://www.readkong.com/page/afrr-pilot-end-report-tennet-8577493",
    document_version="aFRR pilot end report of 2021-07-06 (readkong copy), read 2026-12-06",
    confidence=U,
    note="how TenneT measures delivered flexibility (the baseline method) was not read",
)
SDE_SCHEME = Provenance(
    source="RVO 'SDE++: Produceren': the subsidy pays the base amount minus the correction "
    "amount (the market value) on production, as monthly advances settled each year",
    reference="https://www.rvo.nl/subsidies-financiering/sde/produceren",
    document_version="RVO page last checked 2023-05-23, read 2026-12-06",
    confidence=C,
)
SDE_6H = Provenance(
    source="RVO (reported by zonadvies, 2020, and E-kwadraat): no SDE+ subsidy on electricity "
    "produced while the day-ahead price is negative for 6 consecutive hours or more, for "
    "applications filed after 2015-12-01 and connections of >= 3 MW (wind) or >= 0.5 MW "
    "(other)",
    reference="https://www.zonadvies.com/zonnepanelen/rvo-nl-bevestigt-geen-sde-subsidie-"
    "voor-opwek-29-maart-door-negatieve-elektriciteitsprijs/; https://ekwadraat.com/nieuws/"
    "geen-sde-bij-negatieve-stroomprijs/",
    document_version="zonadvies news on 2020-03-29; E-kwadraat news of 2015, read 2026-12-06",
    confidence=G,
    note="two secondary sources agree; RVO's own text was not read; the lost production may "
    "be made up in a later year (E-kwadraat)",
)
SDE_6H_BAND = Provenance(
    source=SDE_6H.source,
    reference=SDE_6H.reference,
    document_version=SDE_6H.document_version,
    confidence=U,
    note="the application date is taken as before or after 2016-01-01 from the commissioning "
    "date; wind plants of 0.5-3 MW are exempt but a band cannot tell wind from pv; whether "
    "the SDE++ rounds since 2020 tightened the rule was not checked",
)
SDE_SMALL = Provenance(
    source="RVO (reported by zonadvies and E-kwadraat): plants below 0.5 MW keep the SDE+ "
    "subsidy at negative prices",
    reference=SDE_6H.reference,
    document_version=SDE_6H.document_version,
    confidence=G,
)
SDE_OLD = Provenance(
    source="RVO (reported by zonadvies and E-kwadraat): only applications filed after "
    "2015-12-01 lose the SDE+ subsidy at negative prices",
    reference=SDE_6H.reference,
    document_version=SDE_6H.document_version,
    confidence=G,
    note="plants commissioned before 2016 are taken as applied for before 2015-12-01",
)
NL_TRANSPORT = Provenance(
    source="Tarievencode elektriciteit (ACM): the transport-dependent consumer tariff (TAVT) "
    "is charged on offtake per tariff category; VEMW: the TAVT covers transport costs, the "
    "TOVT is the fixed part",
    reference="https://wetten.overheid.nl/BWBR0037951/2019-07-10; "
    "https://www.vemw.nl/Elektriciteit/Nettarieven/Transportttarief.aspx",
    document_version="Tarievencode elektriciteit valid 2019-07-10 to 2020-05-31 "
    "(wetten.overheid.nl); VEMW page, read 2026-12-06",
    confidence=G,
    note="that injection pays no transport tariff and that kW contracted and kW max carry "
    "the offtake tariff were not read in the code's text (its contents name a producers' "
    "tariff, the LUP)",
)
NL_ENERGY_TAX = Provenance(
    source="Memorie van toelichting Belastingplan 2022: from 2022-01-01 the supply of "
    "electricity to an energy storage facility is, under conditions, not a taxable supply "
    "for the energy tax; Energy Storage NL: the double tax was abolished in 2022 behind "
    "large-consumer connections and remains behind small ones",
    reference="https://rijksfinancien.nl/index%2ephp/belastingplan-memorie-van-toelichting/"
    "2022/d17e2179; https://www.energystoragenl.nl/uitvoerbaarheid-staat-dubbele-"
    "energiebelasting-voor-thuisbatterijen-in-de-weg/; "
    "https://wetten.overheid.nl/BWBR0049108/2023-12-28",
    document_version="MvT Belastingplan 2022; Energy Storage NL news; Besluit belastingen op "
    "milieugrondslag of 2023-12-28, read 2026-12-06",
    confidence=G,
    note="rate depends on the yearly consumption band; not recorded",
)

_STORAGE_TAX_EXEMPTION = Exemption(
    description="Belastingplan 2022: electricity supplied to an energy storage facility and "
    "fed back is not taxed on the way in (behind a large-consumer connection)",
    kinds=("battery",),
    source="Belastingplan 2022",
    confidence=G,
)


def _storage_tax_exemption() -> Exemption:
    return sourced(  # type: ignore[return-value]
        _STORAGE_TAX_EXEMPTION,
        NL_ENERGY_TAX,
        note="the condition on the connection (large consumer, above 3x80 A) is not modelled: "
        "a battery behind a small-consumer connection still pays the tax twice",
    )


def _rule(kind: str, provenance: Provenance, hours: float | None = None) -> DatedNegativePriceRule:
    rule = NegativePriceRule(kind=kind, hours=hours, source="SDE+", confidence=G)  # type: ignore[arg-type]
    return DatedNegativePriceRule(rule=sourced(rule, provenance))  # type: ignore[arg-type]


def sde_bands() -> tuple[SupportBand, ...]:
    """SDE+/SDE++ by commissioning date and size: >= 0.5 MW from 2016 lose the subsidy after
    six negative hours; smaller or older plants keep it."""
    large = SupportBand(
        commissioned_from=SDE_FROM,
        min_rating_mw=SDE_MIN_MW,
        rules=(_rule("consecutive_hours", SDE_6H, SDE_NEGATIVE_HOURS),),
        source="SDE+",
        confidence=U,
        review_by=AUDIT_REVIEW_BY,
    )
    small = SupportBand(
        commissioned_from=SDE_FROM,
        rules=(_rule("not_affected", SDE_SMALL),),
        source="SDE+",
        confidence=G,
    )
    old = SupportBand(
        commissioned_before=SDE_FROM,
        rules=(_rule("not_affected", SDE_OLD),),
        source="SDE+",
        confidence=G,
    )
    return (
        sourced(large, SDE_6H_BAND),  # type: ignore[return-value]
        sourced(small, SDE_SMALL),
        sourced(old, SDE_OLD),
    )


def lookup(place: str, fact: Fact, version: RuleSet) -> Entry | None:
    """The source of a Dutch fact (and its correction) by its place in a rule set."""
    if place == "products:fcr":
        return Entry(FCR_LER)
    if place in ("products:afrr_pos", "products:afrr_neg"):
        return Entry(TENNET_AFRR)
    if place == "support_schemes:SDE++ operating subsidy":
        return Entry(
            SDE_SCHEME,
            {"bands": sde_bands()},
            "SDE+/SDE++ lost after >= 6 consecutive negative hours for plants >= 0.5 MW "
            "commissioned from 2016 (RVO), not in every negative period",
        )
    if place == "charging:transport tariff on offtake (kW contracted and kW max)":
        return Entry(NL_TRANSPORT)
    if place == "charging:energy tax (energiebelasting) on net withdrawal":
        return Entry(
            NL_ENERGY_TAX,
            {"exemptions": (_storage_tax_exemption(),)},
            "batteries exempt from the energy tax on withdrawal from 2022-01-01 "
            "(Belastingplan 2022)",
        )
    if place == "baselines:metered_minus_baseline":
        return Entry(TENNET_BASELINE)
    return None
