"""Belgium (Elia): regulatory treatment rule sets.

Storage grid fees and support at negative prices were not researched (reference section
9, open point 6): they are left out rather than guessed, and said so in `change`.
Versions:

- 2022.1 (2022-01-01): base set.
- 2024.1 (2024-01-01, start date uncertain): Elia adds a real-time baseline option.
- 2022.1-rev1, 2024.1-rev1 (recorded 2026-12-06, audit session 3 of issue 17): the same
  with the baselines' sources, Elia's "Testing and control" page and its T&C BSP aFRR
  consultation of 2024-02-28 (``vpp markets treatments BE --known-on 2026-12-05`` shows
  the versions before).
- 2022.1-rev2, 2024.1-rev2 (recorded 2026-12-06, audit session 4 of issue 17): the same
  with the sources read for the grid fee and the balancing products (`be_audit`); no value
  corrected.
"""

from datetime import date

from regulatory.countries import be_audit
from regulatory.countries._common import (
    AUDIT_3_VERSION,
    AUDIT_4_VERSION,
    AUDIT_DAY,
    AUDIT_REVIEW_BY,
    WITHDRAWING,
    afrr,
    fcr,
)
from regulatory.countries.revision import revise
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


GRID_FEE = ChargingCharge(
    name="grid fee on withdrawal",
    kinds=WITHDRAWING,
    site_tariff=True,
    source="CREG/Elia tariff methodology and regional DSO tariffs [U: storage not researched]",
    confidence=U,
    review_by=LEGACY_REVIEW_BY,
)

_BASELINE_SOURCE = "Elia: supplied power = measured - baseline per delivery point and 4 s step"

_BASE = RuleSet(
    country="BE",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set; storage fee exemptions and support schemes not researched [U]",
    timezone="Europe/Brussels",
    bidding_zones=("BE",),
    control_areas=("Elia",),
    products=(
        fcr(
            pooling=PoolingScope.COUNTRY,
            reservoir_h=0.25,
            reservoir_source="SO GL Art. 156 allows 15-30 min [U: Elia's choice not found]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
        *afrr(
            pooling=PoolingScope.COUNTRY,
            source="Elia aFRR: up and down bought together (CREG exemption B2299) [C]; "
            "min offer and blocks [U]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    charging=(GRID_FEE,),
    baselines=(
        BaselineRule(
            method="measured_minus_baseline",
            description="supplied power = measured power minus a baseline, per 4 s step",
            source=_BASELINE_SOURCE,
            confidence=C,
        ),
    ),
)

RULES = CountryRules(country="BE", name="Belgium", versions=(_BASE,))
RULES = RULES.amend(
    version="2024.1",
    valid_from=date(2024, 1, 1),
    valid_from_confidence=U,
    change="Elia adds a real-time baseline option (2024; exact start date not found)",
    baselines=(
        BaselineRule(
            method="measured_minus_baseline_or_realtime",
            description="measured minus baseline per 4 s step; or a real-time baseline "
            "sent by the BSP",
            source=_BASELINE_SOURCE + "; real-time option added in 2024",
            confidence=C,
        ),
    ),
    review_by=LEGACY_REVIEW_BY,
)

_ELIA_CONTROL = {
    "reference": "https://www.elia.be/en/electricity-market-and-system/system-services/"
    "keeping-the-balance/testing-and-control",
    "document_version": "Elia page 'Testing and control', read 2026-12-06",
    "retrieved_on": AUDIT_DAY,
}

RULES = RULES.amend(
    version="2022.1-rev1",
    valid_from=date(2022, 1, 1),
    base="2022.1",
    supersedes=("2022.1",),
    change="base rule set, re-recorded with the source of its baseline (Elia: Testing and control)",
    baselines=(
        BaselineRule(
            method="measured_minus_baseline",
            description="supplied power = measured power minus a baseline, per 4 s step",
            source="Elia: 'Testing and control': balancing power supplied = power physically "
            "supplied by the delivery points minus their baseline; aFRR checked per 4 s",
            confidence=C,
            **_ELIA_CONTROL,
        ),
    ),
    **AUDIT_3_VERSION,
)
RULES = RULES.amend(
    version="2024.1-rev1",
    valid_from=date(2024, 1, 1),
    valid_from_confidence=U,
    base="2024.1",
    supersedes=("2024.1",),
    change="Elia adds a real-time baseline option, re-recorded with its sources (Elia's "
    "T&C BSP aFRR consultation of 2024-02-28; the day it took effect was not found)",
    baselines=(
        BaselineRule(
            method="measured_minus_baseline_or_realtime",
            description="measured minus baseline per 4 s step; or a real-time baseline "
            "sent by the BSP",
            source="Elia: 'Testing and control' (measured minus baseline); Elia's proposal "
            "to amend the T&C BSP aFRR (consultation of 2024-02-28) adds the possibility to "
            "use a real-time baseline",
            confidence=C,
            note="the amendment was read as proposed; the day it took effect was not found",
            reference=_ELIA_CONTROL["reference"]
            + "; https://elia.be/en/public-consultation/20240228_public-consultation-on-the-"
            "proposal-for-amendment-to-the-tc-bsp-afrr",
            document_version="Elia pages, read 2026-12-06",
            retrieved_on=AUDIT_DAY,
        ),
    ),
    review_by=AUDIT_REVIEW_BY,
    **AUDIT_3_VERSION,
)

RULES = revise(RULES, lookup=be_audit.lookup, session=be_audit.SESSION, recorded=AUDIT_4_VERSION)
