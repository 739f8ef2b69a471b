"""The arithmetic of clearing one bid against a given market price: pure functions.

The simulated exchange is a price taker: the market price is given (historical or forecast),
and a bid is judged against it as the auction would judge it at that price.

Energy (EUR/MWh; volume positive = sell/injection, negative = buy/withdrawal):

- a sale is in the money when the price is at or above its limit, a purchase when the price
  is at or below its limit (ties clear);
- a step curve's volume at a price: each step is a limit order at its point's price, so the
  selling part is the largest point volume offered at or below the price and the buying
  part the volume of the first point at or above it (see `curve_volume_mw`);
- a block is judged on the volume-weighted average of its MTUs' prices.

Balancing capacity (EUR/MW/h): a bid is accepted when its price is at or below the marginal
price; it is paid its own price under pay-as-bid, the marginal price under pay-as-cleared.

Continuous intraday (EUR/MWh), against the intraday price **proxy** of the contract's
delivery: a limit order is filled in full at its own limit (pay-as-bid: the order rests in
the book and is lifted at its price) when the proxy crosses it (sale: proxy >= limit,
purchase: proxy <= limit, ties fill), else it expires unfilled at its gate closure
(`in_the_money` decides both).

Balancing energy (aFRR, EUR/MWh, the sign convention of the price series: positive
direction, paid to the provider; negative direction, a positive price paid by the provider
to the TSO): the TSO activates the merit order from the bid cheapest for it, so a bid is
activated when it is within the quarter hour's activation (marginal) price: positive
direction at or below it, negative direction at or above it (ties activate). An activated
bid is activated in full for the quarter hour and paid the marginal price (pay-as-cleared).
"""

from __future__ import annotations

from collections.abc import Sequence

from markets.bids import CurvePoint
from markets.products import Direction, Pricing


def in_the_money(volume_mw: float, limit_eur_per_mwh: float, price_eur_per_mwh: float) -> bool:
    """Whether an energy order of `volume_mw` [MW, signed] at its limit clears at the price.

    A sale (> 0) clears at a price >= its limit [EUR/MWh], a purchase (< 0) at a price <= its
    limit; a zero volume never clears.
    """
    if volume_mw > 0:
        return price_eur_per_mwh >= limit_eur_per_mwh
    if volume_mw < 0:
        return price_eur_per_mwh <= limit_eur_per_mwh
    return False


def single_volume_mw(volume_mw: float, limit_eur_per_mwh: float, price_eur_per_mwh: float) -> float:
    """Cleared volume of a single order [MW, signed]: all of `volume_mw` or nothing."""
    return volume_mw if in_the_money(volume_mw, limit_eur_per_mwh, price_eur_per_mwh) else 0.0


def curve_volume_mw(points: Sequence[CurvePoint], price_eur_per_mwh: float) -> float:
    """Net volume of a step curve at `price_eur_per_mwh` [MW, signed], never interpolated.

    `points` ascend in price with a volume that does not fall (`markets.bids.CurveBid`).
    Between two points the curve is a step, and each step keeps its own limit: volume sold
    at a point's price is sold at any higher price too (sale part: the last point at or
    below the price, counted if positive), and volume bought at a point's price is bought at
    any lower price too (purchase part: the first point at or above the price, counted if
    negative). At a point's own price the curve gives that point's volume; beyond the
    curve's ends it sells its last point's sale volume or buys its first point's purchase
    volume. Example: points (20, -4), (80, +4) buy 4 MW at <= 20, sell 4 MW at >= 80 and
    trade nothing in between.
    """
    sold = 0.0
    bought = 0.0
    for point in points:
        if point.price_eur_per_mwh <= price_eur_per_mwh:
            sold = max(point.volume_mw, 0.0)
    for point in reversed(points):
        if point.price_eur_per_mwh >= price_eur_per_mwh:
            bought = min(point.volume_mw, 0.0)
    return sold + bought


def block_average_price_eur_per_mwh(
    volumes_mw: Sequence[float], hours: Sequence[float], prices_eur_per_mwh: Sequence[float]
) -> float:
    """Volume-weighted average price of a block's MTUs [EUR/MWh].

    Each MTU weighs its energy, |volume| [MW] x length [h]; a block with no volume at all
    (refused by validation) falls back to the plain time-weighted mean.
    """
    weights = [abs(v) * h for v, h in zip(volumes_mw, hours, strict=True)]
    if sum(weights) == 0:
        weights = list(hours)
    total = sum(w * p for w, p in zip(weights, prices_eur_per_mwh, strict=True))
    return total / sum(weights)


PRICE_NOISE = 1e-9
"""Relative difference below which two prices are the same price written two ways (6.746
and 6.7459999999999996 came from one price through different arithmetic)."""


def capacity_accepted(bid_eur_per_mw_h: float, marginal_eur_per_mw_h: float) -> bool:
    """Whether a capacity bid at `bid_eur_per_mw_h` is within the marginal price [EUR/MW/h];
    a bid at the marginal price is, however its float was reached."""
    slack = PRICE_NOISE * max(1.0, abs(marginal_eur_per_mw_h))
    return bid_eur_per_mw_h <= marginal_eur_per_mw_h + slack


def capacity_remuneration_eur_per_mw_h(
    pricing: Pricing, bid_eur_per_mw_h: float, marginal_eur_per_mw_h: float
) -> float:
    """What an accepted capacity bid is paid [EUR/MW/h]: its own price or the marginal one."""
    return bid_eur_per_mw_h if pricing is Pricing.PAY_AS_BID else marginal_eur_per_mw_h


def balancing_energy_activated(
    direction: Direction, bid_eur_per_mwh: float, marginal_eur_per_mwh: float
) -> bool:
    """Whether an aFRR energy bid at `bid_eur_per_mwh` is within the activation price.

    Positive direction: bid <= marginal [EUR/MWh, paid to the provider]. Negative
    direction: bid >= marginal [EUR/MWh, a positive price paid by the provider to the TSO].
    """
    if direction is Direction.POS:
        return bid_eur_per_mwh <= marginal_eur_per_mwh
    return bid_eur_per_mwh >= marginal_eur_per_mwh
