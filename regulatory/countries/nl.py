"""The Netherlands: regulatory treatment rule sets.

Facts from market-rules-reference.md; NL aFRR capacity rules were not found there, so the
aFRR products below are marked uncertain. Versions:

- 2022.1 (2022-01-01): base set.
- 2024.1 (2024-07-16): ACM decision on alternative transport rights (ATR85 on TenneT grids,
  100 % discount on contracted kW).
- 2024.1-rev1 (2024-07-16; recorded 2026-12-06 in the rule audit of issue 17, session 2):
  2024.1 re-recorded with the ACM decision as published in the Staatscourant
  (stcrt-2024-23594) as its reference. ``vpp markets treatments NL --known-on 2026-12-05``
  shows 2024.1.
- 2022.1-rev1, 2024.1-rev2 (recorded 2026-12-06, audit session 4 of issue 17): the same with
  the sources read (`nl_audit`); corrected: the SDE+/SDE++ subsidy is lost after six
  consecutive negative hours for plants >= 0.5 MW (not in every negative period), and a
  battery's withdrawal is exempt from the energy tax from 2022-01-01 (Belastingplan 2022).
"""

from datetime import date

from regulatory.countries import nl_audit
from regulatory.countries._common import (
    AUDIT_2_VERSION,
    AUDIT_4_VERSION,
    AUDIT_DAY,
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


def _transport_tariff(with_atr85: bool, **atr85_provenance: object) -> ChargingCharge:
    """The offtake transport tariff; with ATR85 its exemption, whose source fields
    `atr85_provenance` may override (the audit's re-recording)."""
    provenance: dict[str, object] = {
        "source": "ACM decision 2024-07-16, Staatscourant 2024/23593 and 23594",
        "confidence": C,
        "note": "the date from which grid operators apply the discount was not found",
        **atr85_provenance,
    }
    exemptions = (
        (
            Exemption.model_validate(
                {
                    "description": "ACM ATR85 time-duration transport right: 100 % discount "
                    "on contracted kW (transport in >= 85 % of hours)",
                    "kinds": WITHDRAWING,
                    "grid_contracts": ("atr85",),
                    **provenance,
                }
            ),
        )
        if with_atr85
        else ()
    )
    return ChargingCharge(
        name="transport tariff on offtake (kW contracted and kW max)",
        kinds=WITHDRAWING,
        unit="EUR/kW/year",
        source="Dutch tariff structure: offtake charged per kW; injection pays none [G]",
        confidence=G,
        exemptions=exemptions,
    )


ENERGY_TAX = ChargingCharge(
    name="energy tax (energiebelasting) on net withdrawal",
    kinds=WITHDRAWING,
    eur_per_mwh=None,
    source="Wet belastingen op milieugrondslag [U: storage treatment not researched]",
    confidence=U,
    note="rate depends on the yearly consumption band; not recorded",
    review_by=LEGACY_REVIEW_BY,
)

_BASE = RuleSet(
    country="NL",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set",
    timezone="Europe/Amsterdam",
    bidding_zones=("NL",),
    control_areas=("TenneT NL",),
    products=(
        fcr(
            pooling=PoolingScope.COUNTRY,
            reservoir_h=0.25,
            reservoir_source="SO GL Art. 156 allows 15-30 min [U: TenneT's choice not found]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
        *afrr(
            pooling=PoolingScope.COUNTRY,
            source="TenneT NL aFRR: rules not found (reference section 9, open point 1)",
            confidence=U,
            note="min offer, pooling and reservoir assumed; verify against TenneT's product spec",
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    support_schemes=(
        premium_lost_every_negative_period(
            "SDE++ operating subsidy",
            "reference section 7.2: NL (SDE++) limits support at negative prices [U]",
            note="the hour count depends on the award round; not researched",
        ),
    ),
    charging=(_transport_tariff(with_atr85=False), ENERGY_TAX),
    baselines=(
        BaselineRule(
            method="metered_minus_baseline",
            description="aggregator pilot (TenneT 2021): measured power against a baseline",
            source="TenneT independent-aggregator pilot 2021 [U: method not researched]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
)

RULES = CountryRules(country="NL", name="Netherlands", versions=(_BASE,))
RULES = RULES.amend(
    version="2024.1",
    valid_from=date(2024, 7, 16),
    change="ACM decision of 2024-07-16: alternative transport rights (ATR85, time-block)",
    charging=(_transport_tariff(with_atr85=True), ENERGY_TAX),
)
RULES = RULES.amend(
    version="2024.1-rev1",
    valid_from=date(2024, 7, 16),
    base="2024.1",
    supersedes=("2024.1",),
    change="ACM decision of 2024-07-16 (ACM/UIT/619367) on alternative transport rights, "
    "re-recorded with its Staatscourant publication as the reference",
    charging=(
        _transport_tariff(
            with_atr85=True,
            source="ACM: Besluit van 16 juli 2024, kenmerk ACM/UIT/619367, alternatieve "
            "transportrechten (Staatscourant 2024, 23594); Energy Storage NL: ACM approves "
            "ATR85; GOPACS: Alternative Transport Rights",
            reference="https://officielebekendmakingen.nl/stcrt-2024-23594.html; "
            "https://energystoragenl.nl/en/acm-keurt-atr85-goed; "
            "https://www.gopacs.eu/en/begrippenlijst/alternative-transport-rights-atr",
            document_version="Staatscourant 2024, 23594 (decision of 2024-07-16)",
            retrieved_on=AUDIT_DAY,
            note="the decision adds a time-duration transport right to the Netcode "
            "[confirmed]; the 100 % discount on contracted kW (a zero tariff, curtailment "
            "called D-1 by 08:30) is from Energy Storage NL and GOPACS; the date from which "
            "grid operators apply the discount was not found",
        ),
        ENERGY_TAX,
    ),
    **AUDIT_2_VERSION,
)

RULES = revise(RULES, lookup=nl_audit.lookup, session=nl_audit.SESSION, recorded=AUDIT_4_VERSION)
