"""France (RTE): regulatory treatment rule sets.

Versions:

- 2022.1 (2022-01-01): base set (TURPE 6).
- 2025.1 (2025-08-01): TURPE 7 HTB.
- 2026.1 (2026-08-01): optional location-based injection-withdrawal component for storage.
"""

from datetime import date

from regulatory.countries._common import (
    WITHDRAWING,
    afrr,
    fcr,
    premium_lost_every_negative_period,
)
from regulatory.rules import (
    LEGACY_REVIEW_BY,
    BaselineRule,
    ChargingCharge,
    Confidence,
    CountryRules,
    PoolingScope,
    RuleSet,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN


def _turpe(name: str, source: str, note: str | None = None) -> ChargingCharge:
    return ChargingCharge(
        name=name,
        kinds=WITHDRAWING,
        site_tariff=True,
        source=source,
        confidence=C,
        note=note,
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
            review_by=LEGACY_REVIEW_BY,
        ),
        *afrr(
            pooling=PoolingScope.COUNTRY,
            source="RTE aFRR capacity market since 2021-11-03 [C]; min offer and pooling [U]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    support_schemes=(
        premium_lost_every_negative_period(
            "complément de rémunération",
            "reference section 7.2: FR limits support at negative prices [U]",
            note="contract-specific; not researched",
        ),
    ),
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
