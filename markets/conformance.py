"""The conformance kit every market plugin must pass, for vpp-engine and for plugin authors.

Checks, per delivery day (DST days included):

- ``products``: the rules in force resolve into products without error;
- ``tiling``: each family of products (a session, a contract length, a block grid, per
  direction) covers exactly the window its rules name, without gap or overlap, in units of
  one length (a DST day has 92 or 100 quarter hours);
- ``gates``: gate opening < gate closure <= delivery start (cross-border closure no later
  than the local one);
- ``bounds``: a bid at each price and volume bound passes, and one tick or one step outside
  fails with a violation that names the rule;
- ``gate_closure``: a bid one second after gate closure (and one before gate opening) fails
  with a violation naming the gate;

and once per plugin:

- ``rules``: every record has an id, a source and a valid-from date, the records of each
  history recorded together are in date order, and no two records believed at the same
  time start on the same day (a correction names what it supersedes);
- ``provenance``: every record names its source; every uncertain record believed today
  has a ``review_by`` date; a record recorded on or after `PROVENANCE_REQUIRED_FROM`
  also names a reference (URL or document), its retrieval date, its author and an
  approver registered in the reviewers list (`markets.reviewers`) who is not the author.
  With ``strict=True`` the reference is required of every record believed today, those
  recorded before that day too (a superseded record is history: its correction names
  the source).

Use it from the command line (``vpp markets check CC``) or in a plugin's own tests::

    from markets.conformance import assert_conformant
    def test_my_plugin_conforms():
        assert_conformant(PLUGIN)
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from markets.bids import (
    BalancingCapacityBid,
    BalancingEnergyBid,
    Bid,
    CurveBid,
    CurvePoint,
    SingleBid,
)
from markets.calendar import day_hours, iso_z
from markets.plugin import MarketPlugin
from markets.products import OrderType, Product, ProductKind
from markets.reviewers import Reviewer, approval_problems, load_reviewers
from markets.rules import LEGACY_RECORDER, Rule, edition
from regulatory.rules import CountryRules

ONE_SECOND = timedelta(seconds=1)

PROVENANCE_REQUIRED_FROM = date(2026, 12, 6)
"""Records recorded on or after this day must carry full provenance (reference, retrieval
date, author, approver); older records were entered before provenance was kept."""


@dataclass(frozen=True)
class Check:
    """The outcome of one check; `detail` says what was found."""

    name: str
    passed: bool
    detail: str
    day: date | None = None
    market: str | None = None

    def __str__(self) -> str:
        where = " ".join(str(x) for x in (self.day, self.market) if x is not None)
        mark = "ok  " if self.passed else "FAIL"
        return f"{mark} {self.name:<13} {where}: {self.detail}"


@dataclass
class ConformanceReport:
    """All checks of one plugin over some delivery days."""

    country: str
    days: tuple[date, ...]
    checks: list[Check] = field(default_factory=list)
    uncertain_rules: list[str] = field(default_factory=list)
    legacy_without_reference: int = 0
    """Records believed today, recorded before `PROVENANCE_REQUIRED_FROM`, that name no
    reference (a superseded record is history: the record correcting it names its own)."""

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line: passed or how many failed."""
        days = ", ".join(d.isoformat() for d in self.days)
        if self.passed:
            return f"{self.country}: all {len(self.checks)} checks passed on {days}"
        return f"{self.country}: {len(self.failures)} of {len(self.checks)} checks failed on {days}"


def dst_days(timezone_days: Iterable[date], timezone: str) -> list[date]:
    """Those of `timezone_days` that are not 24 hours long in `timezone`."""
    return [d for d in timezone_days if day_hours(d, timezone) != 24]


def default_days(plugin: MarketPlugin, year: int) -> tuple[date, ...]:
    """Both DST days of `year` in the plugin's time zone (if any) and 15 June.

    `year` must be between 1900 and 9998 (`ValueError` otherwise).
    """
    if not 1900 <= year <= 9998:
        raise ValueError(f"year={year} is outside 1900..9998")
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
    special = dst_days((d for d in days if d.year == year), plugin.timezone)
    return tuple(sorted({*special, date(year, 6, 15)}))


def check_plugin(
    plugin: MarketPlugin,
    days: Sequence[date],
    *,
    strict: bool = False,
    reviewers: tuple[Reviewer, ...] | None = None,
) -> ConformanceReport:
    """Run every check on `plugin` for each of `days`; `strict`: every record, however old,
    must name a reference (see the module docstring); `reviewers`: who may approve a
    record (default: vpp-engine's list, `markets.reviewers.REVIEWERS_FILE`)."""
    report = ConformanceReport(country=plugin.country, days=tuple(days))
    approvers = load_reviewers() if reviewers is None else reviewers
    report.checks.append(_check_rules(plugin, report))
    report.checks.append(_check_provenance(plugin, report, strict=strict, reviewers=approvers))
    for day in days:
        report.checks.extend(_check_day(plugin, day))
    return report


def assert_conformant(
    plugin: MarketPlugin,
    days: Sequence[date] | None = None,
    *,
    strict: bool = False,
    reviewers: tuple[Reviewer, ...] | None = None,
) -> ConformanceReport:
    """`check_plugin`, raising `AssertionError` that lists every failed check.

    Without `days`, checks the DST days and mid-June of the current and next year.
    """
    if days is None:
        this_year = date.today().year
        days = [*default_days(plugin, this_year), *default_days(plugin, this_year + 1)]
    report = check_plugin(plugin, days, strict=strict, reviewers=reviewers)
    if not report.passed:
        lines = "\n".join(str(c) for c in report.failures)
        raise AssertionError(f"{report.summary()}\n{lines}")
    return report


def _check_rules(plugin: MarketPlugin, report: ConformanceReport) -> Check:
    problems = []
    count = 0
    for spec in plugin.markets:
        for name, history in spec.histories():
            where = f"{spec.market}.{name}"
            # a same-day revision is its own batch: it repeats the valid_from it revises
            batches: dict[tuple[date, int], list[Rule]] = defaultdict(list)
            for entry in history:
                batches[(entry.recorded_at, entry.revision)].append(entry)
            for (recorded_at, revision), batch in batches.items():
                dates = [r.valid_from for r in batch]
                if dates != sorted(dates) or len(set(dates)) != len(dates):
                    which = "" if revision == 1 else f" (revision {revision})"
                    problems.append(
                        f"{where}: valid_from dates out of order or repeated among the "
                        f"records of {recorded_at}{which}"
                    )
            ids = [r.id for r in history]
            if None in ids or len(set(ids)) != len(ids):
                problems.append(f"{where}: records without an id or with the same id: {ids}")
            knowledge = {None, *(r.recorded_at for r in history)}
            knowledge |= {r.superseded_at for r in history if r.superseded_at}
            for day in sorted(knowledge, key=lambda d: d or date.max):
                held = [r.valid_from for r in edition(history, day)]
                if len(set(held)) != len(held):
                    as_of = "today" if day is None else f"on {day}"
                    problems.append(
                        f"{where}: two records believed {as_of} start on the same day; a "
                        "correction must name the record it corrects in `supersedes`"
                    )
                    break
            for entry in history:
                count += 1
                if entry.uncertain and entry.superseded_at is None:
                    review = f"review by {entry.review_by}" if entry.review_by else "no review date"
                    report.uncertain_rules.append(
                        f"{where} from {entry.valid_from}: {entry.value!r} "
                        f"({entry.source}; {entry.note or 'no note'}; {review})"
                    )
    if problems:
        return Check("rules", False, "; ".join(problems[:5]))
    return Check(
        "rules",
        True,
        f"{count} rule records, each with an id, a source and a valid-from date "
        f"({len(report.uncertain_rules)} believed today marked uncertain)",
    )


def provenance_problems(
    entry: Rule, *, strict: bool = False, reviewers: tuple[Reviewer, ...] | None = None
) -> list[str]:
    """What `entry`'s provenance lacks, in words; [] = complete (see the module docstring).

    `reviewers` default: vpp-engine's list (`markets.reviewers.REVIEWERS_FILE`)."""
    problems = []
    if not entry.source.strip():
        problems.append("no source")
    if entry.uncertain and entry.superseded_at is None and entry.review_by is None:
        problems.append("uncertain without a review_by date")
    new = entry.recorded_at >= PROVENANCE_REQUIRED_FROM
    if (new or strict) and not (entry.reference or "").strip():
        problems.append("no reference (URL or document) a reviewer can open")
    if new:
        if entry.retrieved_on is None:
            problems.append("no retrieved_on date")
        if entry.recorded_by == LEGACY_RECORDER:
            problems.append("no recorded_by")
        approvers = load_reviewers() if reviewers is None else reviewers
        problems.extend(
            approval_problems(entry.recorded_by, entry.approved_by, entry.recorded_at, approvers)
        )
    return problems


def _check_provenance(
    plugin: MarketPlugin,
    report: ConformanceReport,
    *,
    strict: bool,
    reviewers: tuple[Reviewer, ...],
) -> Check:
    problems = []
    count = 0
    for spec in plugin.markets:
        for _name, history in spec.histories():
            for entry in history:
                count += 1
                believed = entry.superseded_at is None
                old = entry.recorded_at < PROVENANCE_REQUIRED_FROM
                if believed and old and not entry.reference:
                    report.legacy_without_reference += 1
                lacks = provenance_problems(entry, strict=strict and believed, reviewers=reviewers)
                if lacks:
                    problems.append(f"{entry.id}: {', '.join(lacks)}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        return Check("provenance", False, "; ".join(problems[:5]) + more)
    legacy = report.legacy_without_reference
    return Check(
        "provenance",
        True,
        f"{count} rule records with their sources; every uncertain one has a review date"
        + (
            f"; {legacy} recorded before {PROVENANCE_REQUIRED_FROM} name no reference"
            if legacy
            else ""
        ),
    )


def rule_set_approval_problems(
    rules: CountryRules, reviewers: tuple[Reviewer, ...] | None = None
) -> list[str]:
    """The same four-eyes rule for a country's regulatory rule-set versions: each version
    recorded on or after `PROVENANCE_REQUIRED_FROM` names a registered reviewer other than
    its author. [] = every approval holds; each problem names the version id."""
    approvers = load_reviewers() if reviewers is None else reviewers
    problems = []
    for version in rules.versions:
        if version.recorded_at < PROVENANCE_REQUIRED_FROM:
            continue
        if version.recorded_by == LEGACY_RECORDER:
            problems.append(f"{version.id}: no recorded_by")
        for lack in approval_problems(
            version.recorded_by, version.approved_by, version.recorded_at, approvers
        ):
            problems.append(f"{version.id}: {lack}")
    return problems


@dataclass(frozen=True)
class ReferenceCount:
    """How many of a plugin's rule records a reviewer can check: the figure of an audit."""

    country: str
    records: int
    """Every record ever held, superseded ones included."""
    believed: int
    """Records believed today (not superseded)."""
    without_reference: tuple[str, ...]
    """Ids of the records believed today that name no reference (URL or document)."""
    uncertain: int
    """Records believed today marked uncertain."""

    @property
    def with_reference(self) -> int:
        """Records believed today that name a reference a reviewer can open."""
        return self.believed - len(self.without_reference)


def reference_count(plugin: MarketPlugin) -> ReferenceCount:
    """Count `plugin`'s records believed today with and without a reference (the figure
    ``vpp markets audit`` prints; measured, never typed in a note)."""
    records = 0
    believed: list[Rule] = []
    for spec in plugin.markets:
        for _name, history in spec.histories():
            records += len(history)
            believed.extend(e for e in history if e.superseded_at is None)
    missing = tuple(sorted(str(e.id) for e in believed if not (e.reference or "").strip()))
    return ReferenceCount(
        country=plugin.country,
        records=records,
        believed=len(believed),
        without_reference=missing,
        uncertain=sum(1 for e in believed if e.uncertain),
    )


def _check_day(plugin: MarketPlugin, day: date) -> list[Check]:
    if not any(spec.offered_on(day) for spec in plugin.markets):
        detail = "no market is offered on this day, so nothing could be checked"
        return [Check("products", False, detail, day)]
    checks = []
    for spec in plugin.markets:
        market = spec.market.value
        try:
            products = spec.products(day)
            expected = spec.expected_families(day)
        except Exception as exc:  # a plugin's data error must become a named failure
            checks.append(Check("products", False, f"{type(exc).__name__}: {exc}", day, market))
            continue
        if not spec.offered_on(day):
            checks.append(Check("products", True, "not offered on this day", day, market))
            continue
        checks.append(Check("products", True, f"{len(products)} products", day, market))
        checks.append(_tiling(products, expected, day, market))
        checks.append(_gates(products, day, market))
        for family_products in _families(products).values():
            try:
                checks.extend(_bounds(plugin, family_products[0], day))
                checks.append(_gate_enforced(plugin, family_products[0], day))
            except Exception as exc:  # validation must not crash on the plugin's own bids
                detail = f"validating {family_products[0].product_id}: {type(exc).__name__}: {exc}"
                checks.append(Check("bounds", False, detail, day, market))
    return checks


def _families(products: list[Product]) -> dict[tuple[str, object], list[Product]]:
    groups: dict[tuple[str, object], list[Product]] = defaultdict(list)
    for product in products:
        groups[(product.family, product.direction)].append(product)
    return {key: sorted(group, key=lambda p: p.delivery_start) for key, group in groups.items()}


def _tiling(
    products: list[Product],
    expected: dict[tuple[str, object], tuple[datetime, datetime]],
    day: date,
    market: str,
) -> Check:
    groups = _families(products)
    problems = []
    if set(groups) != set(expected):
        found, wanted = sorted(map(str, groups)), sorted(map(str, expected))
        problems.append(f"families {found} differ from the rules' {wanted}")
    counts = []
    ids = [p.product_id for p in products]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        problems.append(f"product ids repeat: {', '.join(repeated[:3])}")
    empty = [p.product_id for p in products if p.delivery_end <= p.delivery_start]
    if empty:
        problems.append(f"products without delivery time: {', '.join(empty[:3])}")
    for key, group in groups.items():
        window = expected.get(key)
        name = "/".join(str(k.value if hasattr(k, "value") else k) for k in key if k is not None)
        counts.append(f"{name}: {len(group)}")
        if window is None:
            continue
        if group[0].delivery_start != window[0]:
            problems.append(
                f"{name} starts {iso_z(group[0].delivery_start)}, not {iso_z(window[0])}"
            )
        if group[-1].delivery_end != window[1]:
            problems.append(f"{name} ends {iso_z(group[-1].delivery_end)}, not {iso_z(window[1])}")
        for earlier, later in itertools.pairwise(group):
            if later.delivery_start > earlier.delivery_end:
                problems.append(
                    f"{name} gap {iso_z(earlier.delivery_end)}-{iso_z(later.delivery_start)}"
                )
            elif later.delivery_start < earlier.delivery_end:
                problems.append(f"{name} overlap at {iso_z(later.delivery_start)}")
        if group[0].kind is not ProductKind.BALANCING_CAPACITY:
            lengths = {p.duration_minutes for p in group}
            if len(lengths) != 1:
                problems.append(f"{name} mixes lengths {sorted(lengths)} min")
        else:
            problems.extend(_block_lengths(name, group, window))
    if problems:
        return Check("tiling", False, "; ".join(problems[:5]), day, market)
    return Check("tiling", True, ", ".join(counts), day, market)


def _block_lengths(
    name: str, group: list[Product], window: tuple[datetime, datetime] | None
) -> list[str]:
    """Capacity blocks of a family ``<n>h`` last n hours; on a DST day (a window of 23 or
    25 h) one block of n > 1 hours may last an hour less or more (blocks follow the wall
    clock), while hourly blocks stay an hour each (23 or 25 of them)."""
    nominal = name.split("/")[0].removesuffix("h")
    if not nominal.isdigit() or int(nominal) < 1:
        return []
    hours = int(nominal)
    day_hours = None if window is None else (window[1] - window[0]) / timedelta(hours=1)
    shift = 0.0 if day_hours is None else day_hours - 24
    odd = [p for p in group if p.duration_minutes != hours * 60]
    allowed = hours > 1 and shift != 0 and len(odd) <= 1
    if not odd or (allowed and odd[0].duration_minutes == (hours + shift) * 60):
        return []
    shown = ", ".join(f"{iso_z(p.delivery_start)} lasts {p.duration_minutes} min" for p in odd[:3])
    return [
        f"{name}: blocks of {hours} h expected ({len(group)} on a {day_hours:g} h day): {shown}"
    ]


def _gates(products: list[Product], day: date, market: str) -> Check:
    problems = []
    for p in products:
        if p.gate_closure > p.delivery_start:
            problems.append(f"{p.product_id}: closes {iso_z(p.gate_closure)} after delivery starts")
        if p.gate_opening is not None and p.gate_opening >= p.gate_closure:
            problems.append(f"{p.product_id}: opens {iso_z(p.gate_opening)}, not before it closes")
        xb = p.cross_border_gate_closure
        if xb is not None and xb > p.gate_closure:
            problems.append(f"{p.product_id}: cross-border closure after the local one")
    if problems:
        return Check("gates", False, "; ".join(problems[:5]), day, market)
    earliest = min(p.gate_closure for p in products)
    return Check(
        "gates", True, f"all close before delivery; first at {iso_z(earliest)}", day, market
    )


def sample_bid(product: Product, *, price: float, volume: float) -> Bid:
    """A bid of the simplest shape `product` accepts, at `price` and `volume`."""
    types = product.order_types
    if OrderType.SINGLE in types:
        return SingleBid(product_id=product.product_id, volume_mw=volume, price_eur_per_mwh=price)
    if OrderType.CURVE in types:
        tick = product.price_tick
        top = product.price_max is not None and _step(price, tick, 1) > product.price_max
        prices = (_step(price, tick, -1), price) if top else (price, _step(price, tick, 1))
        points = tuple(CurvePoint(price_eur_per_mwh=p, volume_mw=volume) for p in prices)
        return CurveBid(product_id=product.product_id, points=points)
    direction = product.direction
    assert direction is not None, f"{product.product_id}: a balancing product needs a direction"
    if OrderType.BALANCING_CAPACITY in types:
        return BalancingCapacityBid(
            product_id=product.product_id,
            direction=direction,
            capacity_mw=volume,
            capacity_price_eur_per_mw_h=price,
        )
    if OrderType.BALANCING_ENERGY in types:
        return BalancingEnergyBid(
            product_id=product.product_id,
            direction=direction,
            volume_mw=volume,
            energy_price_eur_per_mwh=price,
        )
    raise ValueError(f"{product.product_id}: no order type the kit can build ({types})")


def _step(value: float, by: float, times: int) -> float:
    return float(Decimal(repr(value)) + times * Decimal(repr(by)))


def _bounds(plugin: MarketPlugin, product: Product, day: date) -> list[Check]:
    """At each bound: passes. One tick or step outside: fails, naming the rule."""
    now = product.gate_closure - ONE_SECOND
    market = product.market.value
    inside_price = _price_inside(product)
    volume = product.volume_min_mw
    passing = [("price_min", product.price_min, volume), ("price_max", product.price_max, volume)]
    passing.append(("volume_min_mw", inside_price, volume))
    if product.volume_max_mw is not None:
        passing.append(("volume_max_mw", inside_price, product.volume_max_mw))
    failing = [
        ("price_min", product.price_min, -1, volume, "price"),
        ("price_max", product.price_max, +1, volume, "price"),
        ("volume_min_mw", volume, -1, None, "volume"),
        ("volume_max_mw", product.volume_max_mw, +1, None, "volume"),
    ]
    checks = []
    label = f"{product.family}{'/' + product.direction.value if product.direction else ''}"
    for rule, price, vol in passing:
        if price is None:
            continue
        found = plugin.validate(sample_bid(product, price=price, volume=vol), now=now)
        checks.append(
            Check(
                "bounds",
                not found,
                f"{label} at {rule} (price {price:g}, {vol:g} MW) "
                + ("passes" if not found else f"fails: {'; '.join(map(str, found))}"),
                day,
                market,
            )
        )
    for rule, bound, direction, vol, what in failing:
        if bound is None:
            continue
        if what == "price":
            bid = sample_bid(product, price=_step(bound, product.price_tick, direction), volume=vol)
        else:
            bid = sample_bid(
                product, price=inside_price, volume=_step(bound, product.volume_step_mw, direction)
            )
        found = plugin.validate(bid, now=now)
        named = [v for v in found if v.rule == f"{market}.{rule}"]
        checks.append(
            Check(
                "bounds",
                bool(named),
                f"{label} one {'tick' if what == 'price' else 'step'} past {rule} "
                + (f"fails: {named[0]}" if named else f"is not refused by {rule} ({found})"),
                day,
                market,
            )
        )
    return checks


def _price_inside(product: Product) -> float:
    """A price within the product's bounds: 0, else the floor, else the cap."""
    return next(
        x for x in (0.0, product.price_min, product.price_max) if x is not None and _in(product, x)
    )


def _in(product: Product, price: float) -> bool:
    low = product.price_min if product.price_min is not None else price
    high = product.price_max if product.price_max is not None else price
    return low <= price <= high


def _gate_enforced(plugin: MarketPlugin, product: Product, day: date) -> Check:
    market = product.market.value
    price = _price_inside(product)
    bid = sample_bid(product, price=price, volume=product.volume_min_mw)
    late = plugin.validate(bid, now=product.gate_closure + ONE_SECOND)
    problems = []
    if not any(v.rule == f"{market}.gate_closure" for v in late):
        problems.append(f"a bid 1 s after gate closure {iso_z(product.gate_closure)} is accepted")
    if product.gate_opening is not None:
        early = plugin.validate(bid, now=product.gate_opening - ONE_SECOND)
        if not any(v.rule == f"{market}.gate_opening" for v in early):
            problems.append(
                f"a bid 1 s before gate opening {iso_z(product.gate_opening)} is accepted"
            )
    if problems:
        return Check("gate_closure", False, "; ".join(problems), day, market)
    return Check(
        "gate_closure",
        True,
        f"{product.family} refused 1 s after {iso_z(product.gate_closure)}",
        day,
        market,
    )
