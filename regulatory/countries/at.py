"""Austria (APG): regulatory treatment rule sets.

aFRR: the first bid at least 1 MW, each further one at least 5 MW (APG). Versions:

- 2022.1 (2022-01-01): base set; its storage grid-fee exemptions are uncertain.
- 2026.1 (2026-01-01, start uncertain; recorded 2026-12-06 in the rule audit of issue 17):
  the ElWG (Elektrizitätswirtschaftsgesetz, part of the "Günstiger-Strom-Gesetz") passed
  by the Nationalrat on 2025-12-11, approved by the Bundesrat and published in the
  Bundesgesetzblatt: system-serving storage pays no withdrawal-side grid usage and grid
  loss charges for 20 years from commissioning. Before the audit the project held the ElWG
  to be a draft (``vpp markets treatments AT --known-on 2026-12-05``).
- 2027.1 (2027-01-01): the ElWG's feed-in contribution (Versorgungsinfrastrukturbeitrag,
  capped at 0.05 ct/kWh, plants up to 20 kW exempt) starts; recorded, not modelled: the
  rule set holds charges on withdrawal only.
- 2022.1-rev1, 2026.1-rev1, 2027.1-rev1 (recorded 2026-12-06, audit session 4 of issue 17):
  the same with the sources read (`at_audit`); the EAG market premium is lost once the
  day-ahead price is negative for six consecutive hours (§ 15 EAG), not in every negative
  period. ``vpp markets treatments AT --known-on 2026-12-05`` shows the belief before.
"""

from datetime import date

from regulatory.countries import at_audit
from regulatory.countries._common import (
    AUDIT_4_VERSION,
    AUDIT_DAY,
    AUDIT_REVIEW_BY,
    AUDIT_VERSION,
    WITHDRAWING,
    afrr,
    fcr,
    premium_lost_every_negative_period,
)
from regulatory.countries.revision import revise
from regulatory.rules import (
    LEGACY_REVIEW_BY,
    BaselineRule,
    ChargingCharge,
    Confidence,
    CountryRules,
    Exemption,
    PoolingScope,
    RuleSet,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

_BASE = RuleSet(
    country="AT",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set",
    timezone="Europe/Vienna",
    bidding_zones=("AT",),
    control_areas=("APG",),
    products=(
        fcr(
            pooling=PoolingScope.COUNTRY,
            reservoir_h=0.25,
            reservoir_source="SO GL Art. 156 allows 15-30 min [U: APG's choice not found]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
        *afrr(
            pooling=PoolingScope.COUNTRY,
            source="APG: first bid >= 1 MW, further bids >= 5 MW, <= prequalified MW",
            confidence=C,
            note="pooling scope is one control area (APG), i.e. the country",
        ),
    ),
    support_schemes=(
        premium_lost_every_negative_period(
            "EAG market premium",
            "reference section 7.2: AT (EAG) limits support at negative prices "
            "[G/U: not researched]",
        ),
    ),
    charging=(
        ChargingCharge(
            name="grid usage and loss charges on withdrawal",
            kinds=WITHDRAWING,
            site_tariff=True,
            source="E-Control SNE-VO [G]; storage exemptions [U]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    baselines=(
        BaselineRule(
            method="bsp_schedule",
            description="delivered flexibility against the BSP's schedule",
            source="not researched [U]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
)

RULES = CountryRules(country="AT", name="Austria", versions=(_BASE,))

_ELWG = (
    "ElWG (Elektrizitätswirtschaftsgesetz) of the Günstiger-Strom-Gesetz, passed by the "
    "Nationalrat on 2025-12-11 (WKO: Information zum finalen ElWG; ipsg ElWG-Update)"
)
_ELWG_REFERENCE = (
    "https://www.wko.at/noe/transport-verkehr/spedition-logistik/elwg; "
    "https://ipsg.at/update-elektrizitaetswirtschaftsgesetz-elwg"
)

ELWG_STORAGE = Exemption(
    description="ElWG: system-serving storage pays no withdrawal-side grid usage and grid "
    "loss charges for 20 years from commissioning (sites declaring grid_contract "
    "'system_serving_storage')",
    kinds=("battery",),
    duration_years=20,
    grid_contracts=("system_serving_storage",),
    source=_ELWG,
    reference=_ELWG_REFERENCE,
    document_version="as passed 2025-12-11; WKO page read 2026-12-06",
    retrieved_on=AUDIT_DAY,
    confidence=U,
    note="what makes storage 'system-serving' is left to an E-Control ordinance that was "
    "not read, and whether storage commissioned before the law qualifies was not found: "
    "the exemption applies only to sites that declare it",
    review_by=AUDIT_REVIEW_BY,
)

RULES = RULES.amend(
    version="2026.1",
    valid_from=date(2026, 1, 1),
    valid_from_confidence=U,
    review_by=AUDIT_REVIEW_BY,
    change="ElWG in force (passed 2025-12-11, published in the Bundesgesetzblatt): 20-year "
    "waiver of withdrawal-side grid usage and loss charges for system-serving storage; the "
    "day its storage provisions took effect was not found, 2026-01-01 is assumed",
    charging=(
        ChargingCharge(
            name="grid usage and loss charges on withdrawal",
            kinds=WITHDRAWING,
            site_tariff=True,
            source="E-Control SNE-VO [G]; " + _ELWG,
            reference=_ELWG_REFERENCE,
            retrieved_on=AUDIT_DAY,
            confidence=G,
            exemptions=(ELWG_STORAGE,),
        ),
    ),
    **AUDIT_VERSION,
)
RULES = RULES.amend(
    version="2027.1",
    valid_from=date(2027, 1, 1),
    change="ElWG feed-in contribution (Versorgungsinfrastrukturbeitrag) capped at 0.05 "
    "ct/kWh, plants up to 20 kW exempt (ipsg ElWG-Update of 2025-12-12): recorded, not "
    "modelled (the rule set holds charges on withdrawal only)",
    **AUDIT_VERSION,
)

RULES = revise(RULES, lookup=at_audit.lookup, session=at_audit.SESSION, recorded=AUDIT_4_VERSION)
