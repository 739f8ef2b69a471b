"""`vpp desk ...`: the trading desk's view of a running server's engine, over the API.

Each command reads one tenant-scoped route with any key of the tenant (`--url`, `--key`,
see `trading.cli.api_client`) and prints a compact table, or the API's JSON answer with
`--json`:

- `engine`: the engine's state (`GET /v1/engine`): day, schedule version in force, last
  ISP metered, books so far;
- `positions --day D`: the position book (`GET /v1/positions`), one product a line [MW,
  + sold for energy; the band held for capacity];
- `schedule`: the schedule version in force (`GET /v1/schedules/current`);
- `delivery --day D`: per zone and ISP, position, scheduled, delivered, metered, aFRR
  requested and imbalance [MWh] and its cost [EUR] (`GET /v1/delivery`);
- `settlement --day D`: revenue by market, costs by kind, imbalance and net [EUR]
  (`GET /v1/settlement`).

Times are UTC as the API gives them; a bad day is refused by the API (exit 2, naming it).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from trading.cli.api_client import KeyOption, UrlOption, call
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import print_json

desk_app = typer.Typer(
    help="The desk's view of a running server (vpp serve): positions, schedule, delivery, "
    "settlement.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)

JsonOption = Annotated[bool, typer.Option("--json", help="print the API's JSON answer")]
DayOption = Annotated[str, typer.Option("--day", help="delivery day, YYYY-MM-DD")]


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


@desk_app.command("engine")
def engine(as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None) -> None:
    """The engine's state: day, schedule version, last ISP metered, books [EUR]."""
    found = call("GET", "/v1/engine", url, key)
    if as_json:
        print_json(found)
        return
    typer.echo(f"running\t{found['running']}")
    if not found["running"]:
        typer.echo(f"reason\t{found.get('reason')}")
    day = found.get("day") or {}
    schedule = day.get("schedule") or {}
    shown = {
        "day": day.get("day"),
        "schedule_version": schedule.get("version"),
        "last_isp_metered": day.get("last_isp_metered"),
        "isps_metered": day.get("isps_metered"),
        "lost_assets": ", ".join(sorted(day.get("lost_assets") or {})) or None,
        "delivered_from": day.get("delivered_from"),
    }
    for name, value in shown.items():
        if value is not None:
            typer.echo(f"{name}\t{value}")
    books = day.get("books") or {}
    for name in ("revenue_eur", "costs_eur", "imbalance_cost_eur", "net_eur"):
        if name in books:
            typer.echo(f"{name}\t{_money(books[name])}")


@desk_app.command("positions")
def positions(
    day: DayOption, as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None
) -> None:
    """The position book of a day: market, product, zone, MW [+ sold], remuneration."""
    found = call("GET", f"/v1/positions?day={quote(day)}", url, key)
    if as_json:
        print_json(found)
        return
    typer.echo(f"{found['total']} positions on {found['day']}")
    typer.echo("market\tzone\tdirection\tstart\tend\tmw\tremuneration\tbid_id")
    for item in found["items"]:
        typer.echo(
            f"{item['market']}\t{item['zone']}\t{item.get('direction') or '-'}\t"
            f"{item['delivery_start']}\t{item['delivery_end']}\t{float(item['mw']):.3f}\t"
            f"{'-' if item.get('remuneration') is None else item['remuneration']}\t"
            f"{item['bid_id']}"
        )


@desk_app.command("schedule")
def schedule(as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None) -> None:
    """The schedule version in force: id, version, reason, plan, bids it serves."""
    found = call("GET", "/v1/schedules/current", url, key)
    if as_json:
        print_json(found)
        return
    bids = (found.get("bid_ids") or {}).get("bids", [])
    for name in ("id", "day", "version", "reason", "plan_id", "issued_at"):
        typer.echo(f"{name}\t{found.get(name)}")
    typer.echo(f"bids\t{len(bids)}")


@desk_app.command("delivery")
def delivery(
    day: DayOption, as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None
) -> None:
    """Per zone and ISP: position, scheduled, delivered, metered, aFRR requested and
    imbalance [MWh], imbalance [EUR]; then how many asset ISPs were metered whole."""
    found = call("GET", f"/v1/delivery?day={quote(day)}", url, key)
    if as_json:
        print_json(found)
        return
    typer.echo("zone\tstart\tposition\tscheduled\tdelivered\tmetered\tafrr\timbalance\tEUR")
    for row in found["zones"]:
        typer.echo(
            f"{row['zone']}\t{row['start']}\t{row['position_mwh']:.3f}\t"
            f"{row['scheduled_mwh']:.3f}\t{row['delivered_mwh']:.3f}\t{row['metered_mwh']:.3f}\t"
            f"{row['afrr_requested_mwh']:.3f}\t{row['imbalance_mwh']:.3f}\t"
            f"{_money(row['imbalance_eur'])}"
        )
    metering = found["metering"]
    whole = sum(1 for m in metering if m["complete"])
    typer.echo(f"asset ISPs metered: {len(metering)} ({whole} whole)")


@desk_app.command("settlement")
def settlement(
    day: DayOption, as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None
) -> None:
    """The books of a settled day per portfolio [EUR]: revenue by market, costs by kind,
    imbalance, net (revenue - costs - imbalance cost = net)."""
    found = call("GET", f"/v1/settlement?day={quote(day)}", url, key)
    if as_json:
        print_json(found)
        return
    for settled in found:
        books = settled["document"]
        typer.echo(f"portfolio {settled['portfolio_id']}, {settled['day']}")
        for market, eur in sorted(books.get("revenue_by_market", {}).items()):
            typer.echo(f"  revenue\t{market}\t{_money(eur)}")
        for kind, eur in sorted(books.get("costs_by_kind", {}).items()):
            typer.echo(f"  cost\t{kind}\t{_money(eur)}")
        typer.echo(f"  imbalance cost\t{_money(books.get('imbalance_cost_eur'))}")
        typer.echo(f"  net\t{_money(books.get('net_eur'))}")
