"""France (RTE): regulatory treatment rule sets.

Versions:

- 2022.1 (2022-01-01): base set (TURPE 6).
- 2025.1 (2025-08-01): TURPE 7 HTB.
- 2026.1 (2026-08-01): optional location-based injection-withdrawal component for storage.
"""

from datetime import date

from regulatory.assets.base import BalancingProduct
from regulatory.countries._common import fcr
from regulatory.rules import (
    BaselineRule,
    ChargingCharge,
    Confidence,
    CountryRules,
    DatedNegativePriceRule,
    NegativePriceRule,
    PoolingScope,
    ProductRule,
    RuleSet,
    SupportBand,
    SupportScheme,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN
WITHDRAWING = ("battery", "ev_fleet", "flexible_load", "heat_pump")


def _afrr(product: BalancingProduct) -> ProductRule:
    return ProductRule(
        product=product,
        min_offer_mw=1.0,
        pooling=PoolingScope.COUNTRY,
        energy_reservoir_h=None,
        source="RTE aFRR capacity market since 2021-11-03 [C]; min offer and pooling [U]",
        confidence=U,
    )


def _turpe(name: str, source: str, note: str | None = None) -> ChargingCharge:
    return ChargingCharge(
        name=name,
        kinds=WITHDRAWING,
        site_tariff=True,
        source=source,
        confidence=C,
        note=note,
    )


COMPLEMENT = SupportScheme(
    name="complément de rémunération",
    kinds=("pv", "wind"),
    bands=(
        SupportBand(
            rules=(
                DatedNegativePriceRule(
                    rule=NegativePriceRule(
                        kind="every_period",
                        source="reference section 7.2: FR limits support at negative prices",
                        confidence=U,
                        note="contract-specific; not researched",
                    )
                ),
            ),
            source="CRE contracts [U]",
            confidence=U,
        ),
    ),
    source="complément de rémunération [U]",
    confidence=U,
)

_BASE = RuleSet(
    country="FR",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set (TURPE 6)",
    timezone="Europe/Paris",
    bidding_zones=("FR",),
    control_areas=("RTE",),
    products=(
        fcr(
            pooling=PoolingScope.COUNTRY,
            reservoir_h=0.25,
            reservoir_source="SO GL Art. 156 allows 15-30 min [U: RTE's choice not found]",
            confidence=U,
        ),
        _afrr(BalancingProduct.AFRR_POS),
        _afrr(BalancingProduct.AFRR_NEG),
    ),
    support_schemes=(COMPLEMENT,),
    charging=(
        _turpe("TURPE 6 withdrawal component", "TURPE: storage pays injection and withdrawal [G]"),
    ),
    baselines=(
        BaselineRule(
            method="nebef_baseline",
            description="NEBEF certified baseline methods (rectangle, historical, signal)",
            source="RTE NEBEF rules [G]",
            confidence=G,
        ),
    ),
)

RULES = CountryRules(country="FR", name="France", versions=(_BASE,))
RULES = RULES.amend(
    version="2025.1",
    valid_from=date(2025, 8, 1),
    change="TURPE 7 HTB in force (CRE), for about four years",
    charging=(_turpe("TURPE 7 withdrawal component", "CRE: TURPE 7 from 2025-08-01"),),
)
RULES = RULES.amend(
    version="2026.1",
    valid_from=date(2026, 8, 1),
    change="optional location-based injection-withdrawal component for HTA/HTB storage",
    charging=(
        _turpe(
            "TURPE 7 withdrawal component",
            "CRE: TURPE 7 from 2025-08-01; deliberation 2025-227 (zones), from 2026-08-01",
            note="storage may opt into a bonus/malus by time and direction for >= 12 months",
        ),
    ),
)
