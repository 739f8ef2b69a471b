"""Whether a submission may be held: keys, market rules and linked blocks, all or nothing.

Each bid is checked by its country's market plugin (found from the country code its product
id starts with) at the submission instant: gates, bounds, ticks, steps, order types and the
rules across bids. A bid's key is its `bid_id`, or a fresh one from `new_key`; a key already
in use is refused, and so are linked blocks whose parents lead back to themselves. Every
problem of every bid is collected before `SubmissionRefusedError` is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime

from markets.bids import Bid, BlockBid, product_ids_of
from markets.plugin import PRODUCT_ID, MarketPlugin
from markets.products import Product
from markets.registry import MarketPluginError, MarketRegistry, UnknownMarketCountryError
from trading.exchange.errors import Refusal, SubmissionRefusedError


@dataclass(frozen=True)
class Admitted:
    """A bid that may be held, under `key`, with its products in `product_ids` order."""

    key: str
    bid: Bid
    products: tuple[Product, ...]


def admit(
    bids: Sequence[Bid],
    *,
    now: datetime,
    registry: MarketRegistry,
    held: Container[str],
    cleared: Container[str],
    new_key: Callable[[], str],
) -> list[Admitted]:
    """Every bid of `bids` with its key and products, or `SubmissionRefusedError`.

    `held` and `cleared` are the keys the exchange already uses; `new_key` makes a key for a
    bid without a `bid_id` (called until it returns one not in use).
    """
    keys = _keys_for(bids, held, cleared, new_key)
    problems: list[list[str]] = [[] for _ in bids]
    _check_keys(keys, held, cleared, problems)
    products = _validate(bids, now, registry, problems)
    _check_link_cycles(bids, problems)
    refusals = [Refusal(i, keys[i], tuple(found)) for i, found in enumerate(problems) if found]
    if refusals:
        raise SubmissionRefusedError(refusals)
    return [Admitted(*entry) for entry in zip(keys, bids, products, strict=True)]


def _keys_for(
    bids: Sequence[Bid], held: Container[str], cleared: Container[str], new_key: Callable[[], str]
) -> list[str]:
    named = {b.bid_id for b in bids if b.bid_id}
    keys: list[str] = []
    for bid in bids:
        if bid.bid_id:
            keys.append(bid.bid_id)
            continue
        key = new_key()
        while key in named or key in held or key in cleared:
            key = new_key()
        keys.append(key)
    return keys


def _check_keys(
    keys: Sequence[str], held: Container[str], cleared: Container[str], problems: list[list[str]]
) -> None:
    first_at: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in held:
            problems[index].append(f"bid_id {key!r} is already held by the exchange")
        elif key in cleared:
            problems[index].append(f"bid_id {key!r} was already cleared by the exchange")
        elif key in first_at:
            problems[index].append(
                f"bid_id {key!r} is also the bid_id of bid #{first_at[key]} of this submission"
            )
        first_at.setdefault(key, index)


def _validate(
    bids: Sequence[Bid], now: datetime, registry: MarketRegistry, problems: list[list[str]]
) -> list[tuple[Product, ...]]:
    """Each valid bid's products; market rule violations are added to `problems`."""
    by_country: dict[str, tuple[MarketPlugin, list[int]]] = {}
    for index, bid in enumerate(bids):
        plugin = _plugin_of(bid, registry, problems[index])
        if plugin is not None:
            by_country.setdefault(plugin.country, (plugin, []))[1].append(index)
    products: list[tuple[Product, ...]] = [() for _ in bids]
    for plugin, indices in by_country.values():
        found = plugin.validate_all([bids[i] for i in indices], now=now, positions=indices)
        for index, violations in zip(indices, found, strict=True):
            problems[index].extend(str(v) for v in violations)
            if not violations:
                resolved = [plugin.product(pid) for pid in product_ids_of(bids[index])]
                products[index] = tuple(p for p in resolved if p is not None)
    return products


def _plugin_of(bid: Bid, registry: MarketRegistry, problems: list[str]) -> MarketPlugin | None:
    product_id = product_ids_of(bid)[0]
    match = PRODUCT_ID.fullmatch(product_id)
    if match is None:
        problems.append(
            f"product id {product_id!r} is not <country>:<market>:<family>"
            "[:<direction>]:<UTC start>; see `vpp markets products`"
        )
        return None
    try:
        return registry.get(match["country"])
    except (UnknownMarketCountryError, MarketPluginError) as exc:
        problems.append(str(exc))
        return None


def _check_link_cycles(bids: Sequence[Bid], problems: list[list[str]]) -> None:
    """Refuse linked blocks whose parents lead back to themselves."""
    parent_of = {
        b.bid_id: b.linked_to for b in bids if isinstance(b, BlockBid) and b.bid_id and b.linked_to
    }
    for index, bid in enumerate(bids):
        if not (isinstance(bid, BlockBid) and bid.bid_id and bid.bid_id in parent_of):
            continue
        chain: list[str] = [bid.bid_id]
        current = parent_of.get(bid.bid_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = parent_of.get(current)
        if current is not None:
            problems[index].append("linked blocks form a cycle: " + " -> ".join([*chain, current]))
