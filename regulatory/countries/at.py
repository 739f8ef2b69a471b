"""Austria (APG): regulatory treatment rule sets.

aFRR: the first bid at least 1 MW, each further one at least 5 MW (APG). Storage grid-fee
exemptions and the draft ElWG (July 2025, not in force) are uncertain. Versions:

- 2022.1 (2022-01-01): base set.
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
