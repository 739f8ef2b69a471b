"""`vpp markets ...`: list market plugins, show products, validate bids, check conformance."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pendulum
import typer
from pydantic import ValidationError
from rich.table import Table

from markets.bids import BID_ADAPTER, Bid, product_ids_of
from markets.conformance import check_plugin, default_days
from markets.plugin import MarketPlugin
from markets.products import MarketId, OrderType, Product
from markets.registry import MarketPluginError, UnknownMarketCountryError, default_registry
from markets.violations import Violation
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json

BID_TYPES = {t.value for t in OrderType}
SHAPE_LIMITS = {
    "missing": "a value: the field is required",
    "float_type": "a JSON number",
    "float_parsing": "a JSON number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "string_type": "a JSON string",
    "extra_forbidden": "no such field in this bid type",
    "enum": "one of the listed values",
}
"""What a bid field must be, for pydantic's error types that are not self-explanatory."""

EXIT_NONCONFORMANT = 1
"""`vpp markets check`: at least one conformance check failed."""

markets_app = typer.Typer(
    help="Market rule plugins: products, bid validation and conformance.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
CountryArg = Annotated[str, typer.Argument(help="ISO country code, e.g. DE")]


def _exit(message: str, code: int = EXIT_INVALID_INPUT) -> NoReturn:
    console(stderr=True).print(message, markup=False)
    raise typer.Exit(code)


def plugin_or_exit(country: str) -> MarketPlugin:
    """The plugin of `country`, or exit 2 naming the known countries."""
    try:
        return default_registry().get(country)
    except UnknownMarketCountryError as exc:
        _exit(str(exc.args[0]))
    except MarketPluginError as exc:
        _exit(f"a market plugin is broken: {exc}")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _exit(f"{option}={value!r} is not a date of the form YYYY-MM-DD")


def parse_now(value: str | None) -> datetime:
    """``--now``: an ISO 8601 instant with an offset or ``Z``; default: the current time."""
    if value is None:
        return pendulum.now("UTC")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _exit(f"--now={value!r} is not an ISO 8601 time such as 2026-03-28T10:59:00Z")
    if moment.tzinfo is None:
        _exit(f"--now={value!r} has no time zone; add Z or an offset such as +01:00")
    try:
        moment.astimezone(pendulum.UTC)
    except (OverflowError, ValueError):
        _exit(f"--now={value!r} is outside the range of representable UTC times")
    return moment


@markets_app.command("list")
def list_plugins(as_json: JsonOpt = False) -> None:
    """List the installed market plugins (built-in and external packages)."""
    registry = default_registry()
    today = pendulum.now("UTC").date()
    rows = []
    for country in registry.countries():
        plugin = registry.get(country)
        rows.append(
            {
                "country": country,
                "name": plugin.name,
                "timezone": plugin.timezone,
                "origin": registry.origin(country),
                "markets": [m.market.value for m in plugin.markets],
                "markets_today": [m.market.value for m in plugin.markets if m.offered_on(today)],
            }
        )
    broken = [{"country": name, "error": reason} for name, reason in registry.broken.items()]
    if as_json:
        print_json(rows)
        for item in broken:
            console(stderr=True).print(f"broken plugin {item['country']}: {item['error']}")
        return
    table = Table(title="Market plugins", title_justify="left")
    for column in ("country", "name", "time zone", "origin", f"markets on {today}"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["country"],
            row["name"],
            row["timezone"],
            row["origin"],
            ", ".join(row["markets_today"]),
        )
    out = console()
    out.print(table)
    for item in broken:
        out.print(f"broken plugin {item['country']}: {item['error']}")


@markets_app.command("products")
def products(
    country: CountryArg,
    day: Annotated[str, typer.Argument(help="delivery day, YYYY-MM-DD (market-local)")],
    market: Annotated[
        MarketId | None, typer.Option("--market", help="only this market", case_sensitive=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the products of a delivery day, with gate closures and bid limits."""
    plugin = plugin_or_exit(country)
    delivery_day = _day(day, "DAY")
    try:
        found = plugin.products(delivery_day, market)
    except KeyError as exc:
        _exit(str(exc.args[0]))
    except Exception as exc:  # a plugin data error must name itself, not crash
        _exit(f"{plugin.country} cannot list products for {delivery_day}: {exc}")
    if not found:
        what = f"market {market.value}" if market is not None else "market"
        console(stderr=True).print(
            f"{plugin.country} offers no {what} products for delivery {delivery_day}: no rules "
            "are in force then, or the market is not modelled before that day "
            f"(vpp markets rules {plugin.country} shows each rule's first day)"
        )
    if as_json:
        print_json([p.as_record() for p in found])
        return
    if found:
        console().print(products_table(plugin, delivery_day, found))


def products_table(plugin: MarketPlugin, day: date, found: list[Product]) -> Table:
    """One row per product family: how many products, the first gate closure, the limits."""
    table = Table(
        title=f"{plugin.name} ({plugin.country}) products for delivery {day}",
        title_justify="left",
    )
    for column in ("market", "family", "dir", "products", "first gate closure UTC", "local time"):
        table.add_column(column, no_wrap=True)
    for column in ("volume MW min/step", "price min..max", "pricing", "uncertain rules"):
        table.add_column(column, overflow="fold")
    groups: dict[tuple[str, str, str], list[Product]] = defaultdict(list)
    for product in found:
        direction = product.direction.value if product.direction else "-"
        groups[(product.market.value, product.family, direction)].append(product)
    for (market, family, direction), group in groups.items():
        first = min(group, key=lambda p: p.gate_closure)
        record = first.as_record()
        low = "-" if first.price_min is None else f"{first.price_min:g}"
        high = "-" if first.price_max is None else f"{first.price_max:g}"
        table.add_row(
            market,
            family,
            direction,
            str(len(group)),
            record["gate_closure"],
            record["gate_closure_local"],
            f"{first.volume_min_mw:g}/{first.volume_step_mw:g}",
            f"{low}..{high} {first.price_unit}",
            first.pricing.value,
            ", ".join(first.uncertain_rules) or "-",
        )
    return table


def _load_bid_items(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _exit(f"{path}: no such file")
    except IsADirectoryError:
        _exit(f"{path}: is a directory, not a bids file")
    except UnicodeDecodeError as exc:
        _exit(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except json.JSONDecodeError as exc:
        _exit(f"{path}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        _exit(f"{path}: JSON nested too deeply to be a bids file")
    except OSError as exc:
        _exit(f"{path}: cannot be read ({exc.strerror or exc})")
    if isinstance(data, dict) and "bids" in data:
        data = data["bids"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        _exit(f"{path}: expected a JSON list of bids or an object with a 'bids' list")
    if not data:
        _exit(f"{path}: holds no bids")
    return data


def shape_violations(error: ValidationError) -> list[Violation]:
    """Pydantic's complaints about a bid's shape, as violations naming field and value."""
    found = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        if loc and loc[0] in BID_TYPES:  # pydantic puts the union tag first
            loc = loc[1:]
        missing = item["type"] == "missing"
        found.append(
            Violation(
                rule="bid.shape",
                field=".".join(loc) or "bid",
                limit=SHAPE_LIMITS.get(item["type"], item["msg"]),
                value="(missing)" if missing else json.dumps(item.get("input"), default=str)[:80],
                message=item["msg"],
            )
        )
    return found


def validate_bids(items: list[Any], now: datetime) -> list[list[Violation]]:
    """Violations of each bid in `items` (JSON-like), by position; [] means valid."""
    results: list[list[Violation]] = [[] for _ in items]
    by_country: dict[str, list[tuple[int, Bid]]] = defaultdict(list)
    registry = default_registry()
    for index, item in enumerate(items):
        try:
            bid = BID_ADAPTER.validate_python(item)
        except ValidationError as exc:
            results[index] = shape_violations(exc)
            continue
        first_id = product_ids_of(bid)[0]
        country = first_id.split(":", 1)[0]
        if country not in registry:
            results[index] = [
                Violation(
                    rule="product.exists",
                    field="product_id",
                    limit=f"a product of a known country ({', '.join(registry.countries())})",
                    value=first_id,
                    message=f"no market plugin for country {country!r}",
                    product_id=first_id,
                )
            ]
            continue
        by_country[country].append((index, bid))
    for country, indexed in by_country.items():
        plugin = registry.get(country)
        found = plugin.validate_all(
            [bid for _, bid in indexed], now=now, positions=[index for index, _ in indexed]
        )
        for (index, _), violations in zip(indexed, found, strict=True):
            results[index] = violations
    return results


@markets_app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="JSON file: a list of bids, or {'bids': [...]}")],
    now: Annotated[
        str | None,
        typer.Option("--now", help="submission time, ISO 8601 with Z or offset (default: now)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check bids against their markets' rules; exit 2 listing every violation if any fails."""
    moment = parse_now(now)
    items = _load_bid_items(path)
    results = validate_bids(items, moment)
    failed = sum(1 for found in results if found)
    if as_json:
        print_json(
            {
                "valid": failed == 0,
                "now": moment.astimezone(pendulum.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "bids": [
                    {
                        "index": i,
                        "bid_id": item.get("bid_id") if isinstance(item, dict) else None,
                        "valid": not found,
                        "violations": [v.model_dump(mode="json") for v in found],
                    }
                    for i, (item, found) in enumerate(zip(items, results, strict=True))
                ],
            }
        )
    else:
        out = console()
        for i, (item, found) in enumerate(zip(items, results, strict=True)):
            ref = _bid_ref(i, item)
            if not found:
                out.print(f"{ref}: valid", markup=False)
                continue
            out.print(f"{ref}: {len(found)} violation(s)", markup=False)
            for violation in found:
                out.print(f"  {violation}", markup=False)
        out.print(f"{len(items) - failed} of {len(items)} bid(s) valid", markup=False)
    if failed:
        raise typer.Exit(EXIT_INVALID_INPUT)


def _bid_ref(index: int, item: Any) -> str:
    if isinstance(item, dict):
        label = item.get("bid_id") or item.get("product_id") or item.get("product_ids")
        if isinstance(label, list):
            label = ", ".join(map(str, label))
        if label:
            return f"bid #{index} ({label})"
    return f"bid #{index}"


@markets_app.command("check")
def check(
    country: CountryArg,
    day: Annotated[
        list[str] | None,
        typer.Option(
            "--day", help="delivery day to check (repeatable); default: DST days + 15 June"
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            "--year", min=1900, max=9998, help="check the DST days and 15 June of this year"
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="show passing checks too")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="every record must name a reference, those before 2026-12-06 too"
        ),
    ] = False,
    reviewers: Annotated[
        Path | None,
        typer.Option(
            "--reviewers",
            help="TOML list of who may approve records (default: vpp-engine's reviewers.toml)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the conformance kit on a plugin; exit 1 if any check fails."""
    from markets.reviewers import ReviewersFileError, load_reviewers

    plugin = plugin_or_exit(country)
    if day:
        days = tuple(_day(d, "--day") for d in day)
    else:
        days = default_days(plugin, pendulum.now("UTC").year if year is None else year)
    try:
        approvers = load_reviewers(reviewers)
    except ReviewersFileError as exc:
        _exit(f"--reviewers: {exc}")
    report = check_plugin(plugin, days, strict=strict, reviewers=approvers)
    if as_json:
        print_json(
            {
                "country": report.country,
                "passed": report.passed,
                "days": [d.isoformat() for d in report.days],
                "checks": len(report.checks),
                "failures": [
                    {
                        "check": c.name,
                        "day": c.day.isoformat() if c.day else None,
                        "market": c.market,
                        "detail": c.detail,
                    }
                    for c in report.failures
                ],
                "uncertain_rules": report.uncertain_rules,
                "legacy_without_reference": report.legacy_without_reference,
            }
        )
    else:
        out = console()
        for item in report.checks if verbose else report.failures:
            out.print(str(item), markup=False)
        out.print(report.summary(), markup=False)
        if report.uncertain_rules:
            out.print(
                f"{len(report.uncertain_rules)} rule(s) marked uncertain (--verbose lists them)",
                markup=False,
            )
            if verbose:
                for line in report.uncertain_rules:
                    out.print(f"  uncertain: {line}", markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_NONCONFORMANT)


@markets_app.command("new")
def new(
    country: CountryArg,
    path: Annotated[Path, typer.Option("--path", help="directory to create the package in")],
    name: Annotated[str | None, typer.Option("--name", help="country name")] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone of delivery days")
    ] = "Europe/Berlin",
    zone: Annotated[str | None, typer.Option("--zone", help="bidding zone (default: CC)")] = None,
    replace_installed: Annotated[
        bool,
        typer.Option(
            "--replace-installed",
            help="write it even though a plugin package for the country is installed",
        ),
    ] = False,
) -> None:
    """Write the skeleton of a market plugin package for a new country."""
    from markets.skeleton import SkeletonError, write_skeleton

    registry = default_registry()
    if country in registry and not replace_installed:
        _exit(
            f"{country} is installed already, from {registry.origin(country)}: a second "
            f"package for {country} would compete with it; change that package, or pass "
            "--replace-installed to write a new one anyway"
        )
    try:
        written = write_skeleton(country, path, name=name, timezone=timezone, bidding_zone=zone)
    except SkeletonError as exc:
        _exit(str(exc))
    except OSError as exc:
        _exit(f"--path={path}: cannot write there ({exc.strerror or exc})")
    out = console()
    out.print(f"wrote the {country} market plugin package in {path}:", markup=False)
    for file in written:
        out.print(f"  {file}", markup=False)
    out.print(
        f"next: pip install -e {path} && vpp markets check {country}  "
        "(see docs/adding-a-country.md)",
        markup=False,
    )


def _known_day(value: str | None, option: str) -> date | None:
    return None if value is None else _day(value, option)


DiffOpt = Annotated[
    tuple[str, str] | None,
    typer.Option(
        "--diff",
        metavar="KNOWN_ON_A KNOWN_ON_B",
        help="what changed in the records held between two days (YYYY-MM-DD each)",
    ),
]
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help="delivery day: only the record in force that day (YYYY-MM-DD)"),
]
KnownOnOpt = Annotated[
    str | None,
    typer.Option(
        "--known-on",
        help="as the project believed it on this day (YYYY-MM-DD; default: today's belief)",
    ),
]


@markets_app.command("rules")
def rules(
    country: CountryArg,
    market: Annotated[
        MarketId | None, typer.Option("--market", help="only this market", case_sensitive=False)
    ] = None,
    on: OnOpt = None,
    known_on: KnownOnOpt = None,
    diff: DiffOpt = None,
    every_record: Annotated[
        bool,
        typer.Option("--all-records", help="every record ever held, superseded ones too"),
    ] = False,
    uncertain: Annotated[
        bool, typer.Option("--uncertain", help="only the rules marked uncertain")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List a plugin's rule records with their times and sources: what an auditor reads.

    Each record has an id, a valid time (valid_from, valid_to) and a knowledge time
    (recorded_at, superseded_at). --on DAY shows the record in force on a delivery day;
    --known-on K what the project believed on K; --diff A B what changed between A and B.
    """
    from trading.cli.markets_audit import diff_rows, market_rules

    plugin = plugin_or_exit(country)
    if diff is not None:
        if on is not None or known_on is not None or every_record:
            _exit("--diff compares two editions: use it without --on, --known-on, --all-records")
        first, second = (_day(d, "--diff") for d in diff)
        before = market_rules(plugin, market=market, known_on=first)
        after = market_rules(plugin, market=market, known_on=second)
        every = market_rules(plugin, market=market, every_record=True)
        changes = diff_rows(before, after, every)
        if as_json:
            print_json({"country": plugin.country, "from": first, "to": second, "changes": changes})
            return
        _print_diff(f"{plugin.name} ({plugin.country}) market rules", first, second, changes)
        return
    day, known = _known_day(on, "--on"), _known_day(known_on, "--known-on")
    rows = [
        row
        for row in market_rules(
            plugin, market=market, on=day, known_on=known, every_record=every_record
        )
        if row["confidence"] == "uncertain" or not uncertain
    ]
    if day is not None and not rows:
        console(stderr=True).print(
            f"{plugin.country} has no rule in force on {day}"
            + (f" as known on {known}" if known else "")
            + (f" for {market.value}" if market else ""),
            markup=False,
        )
    if as_json:
        print_json(rows)
        return
    belief = f"as known on {known}" if known else "as believed today"
    title = f"{plugin.name} ({plugin.country}) market rules {belief}" + (
        f", in force on {day}" if day else ""
    )
    table = Table(title=title, title_justify="left")
    columns = ("market", "parameter", "valid", "value", "confidence", "source", "recorded")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["market"],
            row["parameter"],
            f"{row['valid_from']}..{row['valid_to'] or ''}",
            row["value"],
            row["confidence"] + (f", review by {row['review_by']}" if row["review_by"] else ""),
            row["source"] + (f" <{row['reference']}>" if row["reference"] else ""),
            f"{row['recorded_at']}"
            + (f", superseded {row['superseded_at']}" if row["superseded_at"] else "")
            + f"; {row['id']}",
        )
    console().print(table)


def _print_diff(title: str, first: date, second: date, changes: list[dict[str, Any]]) -> None:
    out = console()
    out.print(f"{title}: records held on {second} but not {first}, and back", markup=False)
    if not changes:
        out.print("no record changed", markup=False)
    for row in changes:
        sign = "+" if row["diff"] == "added" else "-"
        what = row.get("value") or ""
        where = " ".join(str(row[k]) for k in ("market", "parameter") if row.get(k))
        corrected = (
            f" (corrected by {', '.join(row['corrected_by'])})" if row["corrected_by"] else ""
        )
        out.print(
            f"{sign} {row['id']}: {where} {what} [valid {row['valid_from']}.."
            f"{row.get('valid_to') or ''}; recorded {row['recorded_at']}"
            f"{', superseded ' + row['superseded_at'] if row.get('superseded_at') else ''}; "
            f"{row.get('source') or row.get('change') or ''}]{corrected}",
            markup=False,
        )


@markets_app.command("treatments")
def treatments(
    country: CountryArg,
    on: OnOpt = None,
    known_on: KnownOnOpt = None,
    diff: DiffOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a country's regulatory rule-set versions with their record times; --on DAY
    shows the version in force and each fact with its source, --known-on K as believed
    on K, --diff A B the versions added or withdrawn between A and B."""
    from regulatory.registry import UnknownCountryError
    from regulatory.registry import default_registry as regulatory_registry
    from regulatory.rules import NoRuleSetError
    from trading.cli.markets_audit import diff_rows, version_row
    from trading.cli.markets_audit import treatments as treatment_rows

    try:
        country_rules = regulatory_registry().get(country)
    except UnknownCountryError as exc:
        _exit(str(exc.args[0]))
    if diff is not None:
        if on is not None or known_on is not None:
            _exit("--diff compares two editions: use it without --on or --known-on")
        first, second = (_day(d, "--diff") for d in diff)
        changes = diff_rows(
            [version_row(v) for v in country_rules.edition(first)],
            [version_row(v) for v in country_rules.edition(second)],
        )
        if as_json:
            print_json({"country": country, "from": first, "to": second, "changes": changes})
            return
        _print_diff(f"{country_rules.name} ({country}) rule sets", first, second, changes)
        return
    day, known = _known_day(on, "--on"), _known_day(known_on, "--known-on")
    try:
        found = treatment_rows(country_rules, on=day, known_on=known)
    except NoRuleSetError as exc:
        _exit(str(exc.args[0]))
    if as_json:
        print_json(found)
        return
    out = console()
    belief = f"as known on {known}" if known else "as believed today"
    if day is None:
        table = Table(title=f"{country_rules.name} ({country}) rule sets {belief}")
        for column in ("id", "valid from", "recorded", "approved by", "change"):
            table.add_column(column, overflow="fold")
        for row in found["versions"]:
            table.add_row(
                row["id"],
                row["valid_from"]
                + (" (uncertain)" if row["valid_from_confidence"] == "uncertain" else ""),
                row["recorded_at"]
                + (f", superseded {row['superseded_at']}" if row["superseded_at"] else ""),
                row["approved_by"] or "-",
                row["change"],
            )
        out.print(table)
        return
    version = found["in_force"]
    out.print(
        f"{country_rules.name} ({country}) on {day} {belief}: version {version['version']} "
        f"(valid from {version['valid_from']}, recorded {version['recorded_at']}): "
        f"{version['change']}",
        markup=False,
    )
    table = Table(title_justify="left")
    for column in ("id", "value", "confidence", "source"):
        table.add_column(column, overflow="fold")
    for row in found["facts"]:
        table.add_row(
            row["id"],
            row["value"],
            row["confidence"] + (f", review by {row['review_by']}" if row["review_by"] else ""),
            row["source"] + (f" <{row['reference']}>" if row["reference"] else ""),
        )
    out.print(table)


@markets_app.command("review")
def review(
    days: Annotated[
        int, typer.Option("--days", min=0, max=3660, help="look this many days ahead")
    ] = 30,
    today: Annotated[
        str | None, typer.Option("--today", help="review as of this day (default: today, UTC)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List every uncertain value (market rules and regulatory treatments) with its
    review-by date, overdue ones first, and every change scheduled in the next N days."""
    from regulatory.registry import default_registry as regulatory_registry
    from trading.cli.markets_audit import approval_rows, review_items

    day = _day(today, "--today") if today is not None else pendulum.now("UTC").date()
    registry = default_registry()
    regulatory = regulatory_registry()
    plugins = [registry.get(c) for c in registry.countries()]
    rules = [regulatory.get(c) for c in regulatory.countries()]
    found = review_items(plugins, rules, today=day, days=days)
    approvals = approval_rows(plugins, rules)
    if as_json:
        print_json({"today": day, "days": days, **found, "approvals": approvals})
        return
    out = console()
    overdue = sum(1 for row in found["uncertain"] if row["overdue"])
    out.print(
        f"{len(found['uncertain'])} uncertain value(s) as of {day}, {overdue} overdue for review",
        markup=False,
    )
    for row in found["uncertain"]:
        mark = "OVERDUE" if row["overdue"] else "due"
        out.print(
            f"  {mark} {row['review_by'] or '(no review date)'}  {row['id']}: {row['value']} "
            f"({row['source']}; {row.get('note') or 'no note'})",
            markup=False,
        )
    out.print(
        f"{len(found['scheduled'])} scheduled change(s) from {day} to {day + timedelta(days=days)}",
        markup=False,
    )
    for row in found["scheduled"]:
        out.print(
            f"  {row['on']}  {row['what']}: {row['id']}: {row.get('value') or row.get('change')}",
            markup=False,
        )
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in approvals:
        pairs[(row["approved_by"], row["recorded_by"])].append(row)
    out.print(
        f"{len(approvals)} record(s) believed today name their approver (--json lists each):",
        markup=False,
    )
    for (approver, author), rows in sorted(pairs.items()):
        countries = ", ".join(sorted({r["country"] for r in rows}))
        first, last = min(r["recorded_at"] for r in rows), max(r["recorded_at"] for r in rows)
        when = first if first == last else f"{first}..{last}"
        out.print(
            f"  {approver} approved {len(rows)} by {author} ({countries}; recorded {when})",
            markup=False,
        )


@markets_app.command("audit")
def audit(
    countries: Annotated[
        list[str] | None,
        typer.Argument(help="ISO country codes (default: every installed country)"),
    ] = None,
    list_missing: Annotated[
        bool,
        typer.Option("--list", help="also list the id of each record without a reference"),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Count, per country, the rule records believed today with and without a reference a
    reviewer can open (market rules and regulatory facts): the audit's figure, measured."""
    from regulatory.registry import default_registry as regulatory_registry
    from trading.cli.markets_audit import reference_rows

    registry = default_registry()
    regulatory = regulatory_registry()
    wanted = [c.upper() for c in countries] if countries else None
    for code in wanted or ():
        if code not in registry and code not in regulatory.countries():
            _exit(f"country={code!r}: no market plugin or rule set is installed for it")
    plugins = [registry.get(c) for c in registry.countries() if wanted is None or c in wanted]
    rules = [regulatory.get(c) for c in regulatory.countries() if wanted is None or c in wanted]
    rows = reference_rows(plugins, rules)
    if as_json:
        print_json(rows)
        return
    table = Table(
        title="Rule records believed today: with / without a reference", title_justify="left"
    )
    for column in (
        "country",
        "market records",
        "with ref.",
        "without",
        "uncertain",
        "regulatory facts",
        "with ref.",
        "without",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["country"],
            str(row.get("market_believed", "-")),
            str(row.get("market_with_reference", "-")),
            str(row.get("market_without_reference", "-")),
            str(row.get("market_uncertain", "-")),
            str(row.get("regulatory_facts", "-")),
            str(row.get("regulatory_with_reference", "-")),
            str(row.get("regulatory_without_reference", "-")),
        )
    out = console()
    out.print(table)
    if list_missing:
        for row in rows:
            for key in ("market_ids_without_reference", "regulatory_ids_without_reference"):
                for missing in row.get(key, ()):
                    out.print(f"  no reference: {missing}", markup=False)
