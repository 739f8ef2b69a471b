"""Facts shared by several countries, each with its source."""

from regulatory.assets.base import BalancingProduct
from regulatory.rules import Confidence, PoolingScope, ProductRule

FCR_COOPERATION = (
    "FCR Cooperation (regelleistung.net, ENTSO-E): members AT BE CH CZ DE DK1 FR NL SI"
)


def fcr(
    *,
    pooling: PoolingScope,
    reservoir_h: float | None,
    reservoir_source: str | None = None,
    confidence: Confidence = Confidence.CONFIRMED,
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
    )
