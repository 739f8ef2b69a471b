"""Bids that carry a plan's positions to the markets, each checked by its plugin.

- Energy positions become price-taking single orders: a sale at the market's price floor,
  a purchase at its cap, so the planned volumes clear at whatever price results.
- Capacity positions become capacity offers: at the forecast price on pay-as-bid markets,
  at the floor on pay-as-cleared ones. A price goes onto the market's tick in the unit the
  exchange quotes (`Product.price_unit`, per block or per hour) and always rounds towards
  acceptance: an offer down, never above the price it was derived from.

A derived bid the plugin refuses is a bug in the derivation: `BidDerivationError`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from markets.bids import BalancingCapacityBid, Bid, SingleBid
from markets.products import Direction, Pricing, Product
from trading.optimiser.build import BuiltModel
from trading.optimiser.result import Position


class BidDerivationError(RuntimeError):
    """A bid derived from the plan breaks its market's rules: a bug in the derivation."""


def on_tick(price: Decimal, tick: float, *, down: bool) -> Decimal:
    """`price` on a whole multiple of `tick`: rounded down (an offer) or up (a purchase)."""
    step = Decimal(repr(float(tick)))
    whole = (price / step).to_integral_value(rounding=ROUND_FLOOR if down else ROUND_CEILING)
    return (whole * step).normalize()


def capacity_offer_price(product: Product, forecast_eur_per_mw_h: float) -> float:
    """The EUR/MW/h price of a capacity offer derived from a forecast [EUR/MW/h].

    Pay-as-bid: the forecast in the exchange's unit, rounded down to the tick (so a
    forecast equal to the clearing price is accepted); pay-as-cleared: the price floor.
    Never below the floor.
    """
    floor = Decimal(repr(float(product.price_min or 0.0)))
    if product.pricing is Pricing.PAY_AS_BID:
        quoted = on_tick(product.quoted_price(forecast_eur_per_mw_h), product.price_tick, down=True)
    else:
        quoted = floor
    return product.hourly_price(max(quoted, floor))


def derive_bids(built: BuiltModel, positions: list[Position]) -> list[Bid]:
    """Bids that sell or buy each planned position; each checked by its market's plugin."""
    assert built.registry is not None, "a built model carries its market registry"
    bids: list[Bid] = []
    for position in positions:
        if abs(position.mw) < 1e-9:
            continue
        plugin = built.registry.get(position.product_id.split(":", 1)[0])
        product = plugin.product(position.product_id)
        if product is None:
            raise BidDerivationError(f"{position.product_id}: the plugin has no such product")
        bid: Bid
        if position.direction is None:
            limit = product.price_min if position.mw > 0 else product.price_max
            bid = SingleBid(
                bid_id=f"{built.portfolio.id}:{position.product_id}",
                product_id=position.product_id,
                volume_mw=position.mw,
                price_eur_per_mwh=float(limit if limit is not None else 0.0),
            )
        else:
            bid = BalancingCapacityBid(
                bid_id=f"{built.portfolio.id}:{position.pool}:{position.product_id}",
                product_id=position.product_id,
                direction=Direction(position.direction),
                capacity_mw=position.mw,
                capacity_price_eur_per_mw_h=capacity_offer_price(product, position.price_forecast),
            )
        found = plugin.validate(bid, now=product.gate_closure - timedelta(seconds=1))
        if found:
            raise BidDerivationError(
                f"derived bid for {position.product_id} breaks its market's rules: "
                + "; ".join(str(v) for v in found)
            )
        bids.append(bid)
    return bids
