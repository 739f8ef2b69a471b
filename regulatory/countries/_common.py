"""Facts shared by several countries, each with its source."""

from datetime import date

from regulatory.assets.base import AssetKind, BalancingProduct
from regulatory.rules import (
    LEGACY_REVIEW_BY,
    Confidence,
    DatedNegativePriceRule,
    NegativePriceRule,
    PoolingScope,
    ProductRule,
    SupportBand,
    SupportScheme,
)

AUDIT_DAY = date(2026, 12, 6)
"""Knowledge time of the records of the rule audit of 2026-12-06 (issue 17)."""

AUDIT_REVIEW_BY = date(2027, 1, 31)
"""By when the audit's uncertain facts are checked again."""

AUDIT_VERSION: dict[str, object] = {
    "recorded_at": AUDIT_DAY,
    "recorded_by": "i17-rules (rule-audit session of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch i17-rules)",
}
"""Keyword arguments of `CountryRules.amend` for a version the audit added; the approver is
the merge review that admits it (docs/compliance.md)."""

AUDIT_2_VERSION: dict[str, object] = {
    "recorded_at": AUDIT_DAY,
    "recorded_by": "h17audit (rule-audit session 2 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-h17audit)",
}
"""Keyword arguments of `CountryRules.amend` for a version the second audit session of
2026-12-06 added (the NL, BE, FR and AT treatments)."""

AUDIT_3_VERSION: dict[str, object] = {
    "recorded_at": AUDIT_DAY,
    "recorded_by": "compliance (rule-audit session 3 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-compliance)",
}
"""Keyword arguments of `CountryRules.amend` for a version the third audit session of
2026-12-06 re-recorded (every German version, the Belgian baselines)."""

AUDIT_4_VERSION: dict[str, object] = {
    "recorded_at": AUDIT_DAY,
    "recorded_by": "regfacts (rule-audit session 4 of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch wt-regfacts)",
}
"""Knowledge time, author and approver of the versions the fourth audit session of
2026-12-06 re-recorded (every version believed today, all five countries;
`regulatory.countries.revision`)."""

WITHDRAWING: tuple[AssetKind, ...] = ("battery", "ev_fleet", "flexible_load", "heat_pump")
"""Asset kinds that draw energy from the grid and so may pay charges on withdrawal."""

FCR_COOPERATION = (
    "FCR Cooperation (regelleistung.net, ENTSO-E): members AT BE CH CZ DE DK1 FR NL SI"
)


def fcr(
    *,
    pooling: PoolingScope,
    reservoir_h: float | None,
    reservoir_source: str | None = None,
    confidence: Confidence = Confidence.CONFIRMED,
    review_by: date | None = None,
) -> ProductRule:
    """FCR as bought by the FCR Cooperation: symmetric, 1 MW minimum [C]."""
    source = FCR_COOPERATION + "; min bid 1 MW (regelleistung.net)"
    if reservoir_source:
        source += f"; reservoir: {reservoir_source}"
    return ProductRule(
        product=BalancingProduct.FCR,
        min_offer_mw=1.0,
        pooling=pooling,
        energy_reservoir_h=reservoir_h,
        source=source,
        confidence=confidence,
        review_by=review_by,
    )


def afrr(
    *,
    pooling: PoolingScope,
    source: str,
    confidence: Confidence,
    reservoir_h: float | None = None,
    note: str | None = None,
    review_by: date | None = None,
) -> tuple[ProductRule, ProductRule]:
    """aFRR upward and downward, bought as separate products with a 1 MW minimum offer."""
    return tuple(  # type: ignore[return-value]
        ProductRule(
            product=product,
            min_offer_mw=1.0,
            pooling=pooling,
            energy_reservoir_h=reservoir_h,
            source=source,
            confidence=confidence,
            note=note,
            review_by=review_by,
        )
        for product in (BalancingProduct.AFRR_POS, BalancingProduct.AFRR_NEG)
    )


def premium_lost_every_negative_period(
    name: str, source: str, note: str | None = None
) -> SupportScheme:
    """An unresearched premium scheme for pv and wind, assumed lost in each negative period.

    Marked uncertain throughout: the reference only says the scheme limits support at
    negative prices.
    """
    uncertain = Confidence.UNCERTAIN
    rule = NegativePriceRule(
        kind="every_period",
        source=source,
        confidence=uncertain,
        note=note,
        review_by=LEGACY_REVIEW_BY,
    )
    return SupportScheme(
        name=name,
        kinds=("pv", "wind"),
        bands=(
            SupportBand(
                rules=(DatedNegativePriceRule(rule=rule),),
                source=source,
                confidence=uncertain,
                review_by=LEGACY_REVIEW_BY,
            ),
        ),
        source=source,
        confidence=uncertain,
        review_by=LEGACY_REVIEW_BY,
    )
