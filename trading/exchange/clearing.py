"""Clearing one held bid at its gate closure into a `Clearing` record.

The rules are in `trading.exchange.clearing_rules`, the prices in
`trading.exchange.price_book`; this module applies them to each bid shape and words the
reason. A bid whose product has no price is rejected with the price book's reason
("no clearing price for <market> <zone> <period>"), never accepted at a guessed price.

Continuous intraday orders are filled or expire against the intraday price **proxy** (every
reason says "proxy"); aFRR energy bids are activated or not against the quarter hour's aFRR
energy price. A bid of a market with no rule here is rejected at its gate, naming the
market: whatever it is, a bid past its gate leaves with an outcome and a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markets.bids import BalancingCapacityBid, BalancingEnergyBid, BlockBid, CurveBid, SingleBid
from markets.calendar import iso_z
from markets.products import Direction, MarketId, Product
from trading.exchange.clearing_rules import (
    balancing_energy_activated,
    block_average_price_eur_per_mwh,
    capacity_accepted,
    capacity_remuneration_eur_per_mw_h,
    curve_volume_mw,
    in_the_money,
    single_volume_mw,
)
from trading.exchange.price_book import INTRADAY_PROXY, NoClearingPriceError, PriceBook
from trading.exchange.records import Clearing, ClearingStatus, PendingBid


def clear_bid(
    held: PendingBid,
    products: Sequence[Product],
    book: PriceBook,
    now: datetime,
    *,
    parent_problem: str | None = None,
) -> Clearing:
    """The outcome of `held` for `products` (one per product id, in order), cleared at `now`.

    `parent_problem`, for a linked block, says why its parent block was not accepted; the
    block is then rejected whatever its price.
    """
    try:
        match held.bid:
            case SingleBid() if held.market is MarketId.INTRADAY_CONTINUOUS:
                return _clear_continuous(held, held.bid, products[0], book, now)
            case BalancingEnergyBid():
                return _clear_balancing_energy(held, held.bid, products[0], book, now)
            case _ if held.market is MarketId.INTRADAY_CONTINUOUS:
                return _record(
                    held,
                    products,
                    now,
                    (),
                    f"rejected at its gate closure {iso_z(held.gate_closure)}: "
                    f"{held.bid.type} orders are not filled on continuous intraday here",
                )
            case SingleBid():
                return _clear_single(held, held.bid, products[0], book, now)
            case CurveBid():
                return _clear_curve(held, held.bid, products[0], book, now)
            case BlockBid():
                return _clear_block(held, held.bid, products, book, now, parent_problem)
            case BalancingCapacityBid():
                return _clear_capacity(held, held.bid, products[0], book, now)
            case _:
                return _record(
                    held, products, now, (), f"{held.bid.type} bids are not cleared here"
                )
    except NoClearingPriceError as exc:
        return _record(
            held,
            products,
            now,
            (),
            f"rejected at its gate closure {iso_z(held.gate_closure)}: {exc}",
        )


def _record(
    held: PendingBid,
    products: Sequence[Product],
    now: datetime,
    volumes_mw: tuple[float, ...],
    reason: str,
    *,
    energy_price: float | None = None,
    capacity_price: float | None = None,
    capacity_paid: float | None = None,
    energy_paid: float | None = None,
) -> Clearing:
    """A record: accepted when some volume cleared, else rejected with zero volumes.

    An accepted energy bid is settled at `energy_paid` if given, else at `energy_price`.
    """
    accepted = any(v != 0 for v in volumes_mw)
    return Clearing(
        bid_key=held.bid_key,
        bid=held.bid,
        market=held.market,
        pricing=products[0].pricing,
        status=ClearingStatus.ACCEPTED if accepted else ClearingStatus.REJECTED,
        product_ids=held.product_ids,
        cleared_volumes_mw=volumes_mw if accepted else tuple(0.0 for _ in held.product_ids),
        clearing_price_eur_per_mwh=energy_price,
        capacity_price_eur_per_mw_h=capacity_price,
        remuneration_eur_per_mwh=(energy_price if energy_paid is None else energy_paid)
        if accepted
        else None,
        remuneration_eur_per_mw_h=capacity_paid if accepted else None,
        gate_closure=held.gate_closure,
        cleared_at=now,
        reason=reason,
    )


def _side(volume_mw: float) -> str:
    return "sale" if volume_mw > 0 else "purchase"


def _against(volume_mw: float, cleared: bool) -> str:
    """How a price stands to a limit, in words."""
    if volume_mw > 0:
        return "at or above" if cleared else "below"
    return "at or below" if cleared else "above"


def _clear_single(
    held: PendingBid, bid: SingleBid, product: Product, book: PriceBook, now: datetime
) -> Clearing:
    price = book.energy_price_eur_per_mwh(product)
    volume = single_volume_mw(bid.volume_mw, bid.price_eur_per_mwh, price)
    cleared = volume != 0
    reason = (
        f"{_side(bid.volume_mw)} of {bid.volume_mw:g} MW at limit "
        f"{bid.price_eur_per_mwh:.2f} EUR/MWh {'clears' if cleared else 'does not clear'}: "
        f"clearing price {price:.2f} EUR/MWh is {_against(bid.volume_mw, cleared)} the limit"
    )
    return _record(held, [product], now, (volume,), reason, energy_price=price)


def _clear_curve(
    held: PendingBid, bid: CurveBid, product: Product, book: PriceBook, now: datetime
) -> Clearing:
    price = book.energy_price_eur_per_mwh(product)
    volume = curve_volume_mw(bid.points, price)
    trade = (
        f"{'sells' if volume > 0 else 'buys'} {abs(volume):g} MW" if volume else "trades nothing"
    )
    reason = f"the step curve {trade} at the clearing price {price:.2f} EUR/MWh"
    return _record(held, [product], now, (volume,), reason, energy_price=price)


def _clear_block(
    held: PendingBid,
    bid: BlockBid,
    products: Sequence[Product],
    book: PriceBook,
    now: datetime,
    parent_problem: str | None,
) -> Clearing:
    prices = [book.energy_price_eur_per_mwh(p) for p in products]
    hours = [p.duration_minutes / 60 for p in products]
    average = block_average_price_eur_per_mwh(bid.volumes_mw, hours, prices)
    side = next((v for v in bid.volumes_mw if v != 0), 0.0)
    cleared = in_the_money(side, bid.price_eur_per_mwh, average)
    reason = (
        f"block {_side(side)} at limit {bid.price_eur_per_mwh:.2f} EUR/MWh "
        f"{'clears' if cleared else 'does not clear'} in full: its volume-weighted average "
        f"price {average:.2f} EUR/MWh over {len(products)} MTUs is "
        f"{_against(side, cleared)} the limit"
    )
    if parent_problem is not None:
        cleared = False
        reason = f"linked block not accepted: {parent_problem}"
    volumes = tuple(bid.volumes_mw) if cleared else ()
    return _record(held, products, now, volumes, reason, energy_price=average)


def _clear_capacity(
    held: PendingBid, bid: BalancingCapacityBid, product: Product, book: PriceBook, now: datetime
) -> Clearing:
    marginal = book.capacity_price_eur_per_mw_h(product)
    offered = bid.capacity_price_eur_per_mw_h
    accepted = capacity_accepted(offered, marginal)
    paid = capacity_remuneration_eur_per_mw_h(product.pricing, offered, marginal)
    reason = (
        f"capacity price {offered:.2f} EUR/MW/h is "
        f"{'at or below' if accepted else 'above'} the marginal price {marginal:.2f} EUR/MW/h"
    )
    if accepted:
        reason += f"; paid {paid:.2f} EUR/MW/h ({product.pricing.value.replace('_', '-')})"
    volumes = (bid.capacity_mw,) if accepted else ()
    return _record(
        held, [product], now, volumes, reason, capacity_price=marginal, capacity_paid=paid
    )


def _clear_continuous(
    held: PendingBid, bid: SingleBid, product: Product, book: PriceBook, now: datetime
) -> Clearing:
    """Filled in full at its limit if the intraday proxy crosses it, else expired."""
    proxy = book.intraday_proxy_eur_per_mwh(product)
    volume = single_volume_mw(bid.volume_mw, bid.price_eur_per_mwh, proxy)
    filled = volume != 0
    order = (
        f"continuous {_side(bid.volume_mw)} of {bid.volume_mw:g} MW at limit "
        f"{bid.price_eur_per_mwh:.2f} EUR/MWh"
    )
    against = (
        f"the {INTRADAY_PROXY} {proxy:.2f} EUR/MWh (a proxy, not market data) of its "
        f"delivery is {_against(bid.volume_mw, filled)} the limit"
    )
    if filled:
        reason = (
            f"{order} filled: {abs(volume):g} MW at {bid.price_eur_per_mwh:.2f} EUR/MWh "
            f"(its limit, pay-as-bid); {against}"
        )
    else:
        reason = (
            f"{order} expired unfilled at its gate closure {iso_z(held.gate_closure)}: {against}"
        )
    return _record(
        held,
        [product],
        now,
        (volume,),
        reason,
        energy_price=proxy,
        energy_paid=bid.price_eur_per_mwh,
    )


def _clear_balancing_energy(
    held: PendingBid, bid: BalancingEnergyBid, product: Product, book: PriceBook, now: datetime
) -> Clearing:
    """Activated in full at the marginal price if within it, else not activated."""
    marginal = book.balancing_energy_price_eur_per_mwh(product)
    activated = balancing_energy_activated(bid.direction, bid.energy_price_eur_per_mwh, marginal)
    upward = bid.direction is Direction.POS
    within = "at or below" if upward else "at or above"
    outside = "above" if upward else "below"
    offer = (
        f"aFRR energy {bid.direction.value} bid of {bid.volume_mw:g} MW at "
        f"{bid.energy_price_eur_per_mwh:.2f} EUR/MWh"
    )
    if activated:
        reason = (
            f"{offer} activated in full: its price is {within} the activation price "
            f"{marginal:.2f} EUR/MWh of its quarter hour; paid {marginal:.2f} EUR/MWh "
            "(pay-as-cleared)"
        )
    else:
        reason = (
            f"{offer} not activated (rejected at its gate closure {iso_z(held.gate_closure)}): "
            f"its price is {outside} the activation price {marginal:.2f} EUR/MWh of its "
            "quarter hour"
        )
    volumes = (bid.volume_mw,) if activated else ()
    return _record(held, [product], now, volumes, reason, energy_price=marginal)
