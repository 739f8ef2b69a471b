"""`check_plan`: every rule of plan-rules.md, re-derived from the portfolio and a plan's
JSON alone.

The steps, each in its own module: read the plan (`plan_input`), resolve each asset's
treatment, site and windows, run its kind's rules (`asset_rules`) and the rules every
asset obeys (`fleet_rules`), then sites, markets (`market_rules`), the accounting
(`accounting`) and the plan's own states against the recomputed ones.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from markets.registry import MarketRegistry
from markets.registry import default_registry as market_registry
from regulatory import Portfolio, read_portfolio
from regulatory.assets import AssetBase
from regulatory.registry import default_registry as regulatory_registry
from regulatory.treatment import Treatment
from trading.optimiser.check import fleet_rules, market_rules
from trading.optimiser.check.accounting import check_accounting
from trading.optimiser.check.asset_rules import KIND_RULES, AssetOutcome, AssetView
from trading.optimiser.check.plan_input import PlanData, PlanFormatError, load_plan_file, read_plan
from trading.optimiser.check.rules import ALL as RULES
from trading.optimiser.check.violations import Findings, Violation
from trading.optimiser.check.windows import availability


def check_plan(
    portfolio: Portfolio, plan: dict[str, Any], *, registry: MarketRegistry | None = None
) -> list[Violation]:
    """Every rule of `docs/plan-rules.md` the plan breaks; [] for a valid plan.

    `plan` is a plan's JSON object (`docs/plan-format.md`); `registry` gives the market
    plugins (default: the installed ones). Raises `PlanFormatError` naming the field and
    value where the plan cannot be read (missing key, wrong type or length, an asset,
    zone or product the portfolio and the plugins do not know).
    """
    registry = registry or market_registry()
    data = read_plan(
        plan,
        portfolio_id=portfolio.id,
        assets={a.id: a.kind for a in portfolio.assets},
        zones={s.bidding_zone for s in portfolio.sites},
    )
    findings = Findings(data.labels)
    fleet_rules.check_listing(portfolio, data, findings)
    views = _views(portfolio, data)
    outcomes = _asset_rules(views, findings)
    fleet_rules.check_sites(portfolio, data, views, findings)
    held = market_rules.resolve_positions(data, registry)
    market_rules.check_positions(held, findings)
    market_rules.check_bids_match(held, data.bids, data, findings)
    market_rules.check_zones(portfolio, data, held, views, outcomes, registry, findings)
    market_rules.check_pools(held, views, findings)
    market_rules.check_bid_rules(data, data.bids, held, registry, findings)
    check_accounting(data, held, outcomes, findings)
    fleet_rules.check_states(data, outcomes, findings)
    return sorted(findings.found, key=_reading_order)


def _reading_order(violation: Violation) -> tuple[int, str, str]:
    """Rules in the order of plan-rules.md, then subject, then time."""
    return (RULES.index(violation.rule), violation.asset_or_subject, violation.quarter_hour or "")


def check_plan_files(
    portfolio_path: str | Path, plan_path: str | Path, *, registry: MarketRegistry | None = None
) -> list[Violation]:
    """`check_plan` on a portfolio file and a plan file.

    Raises `regulatory.ProblemsError` for an invalid portfolio file, `PlanFormatError`
    (naming the plan file) for a plan that cannot be read.
    """
    portfolio = read_portfolio(portfolio_path)
    data = load_plan_file(plan_path)
    try:
        return check_plan(portfolio, data, registry=registry)
    except PlanFormatError as exc:
        raise exc.in_file(plan_path) from None


def _views(portfolio: Portfolio, plan: PlanData) -> dict[str, AssetView]:
    """An `AssetView` of every asset in the schedule, in portfolio order."""
    sites = {s.id: s for s in portfolio.sites}
    views = {}
    for asset in portfolio.assets:
        if asset.id not in plan.injection_mw:
            continue
        site = sites[asset.site]
        timezone = _site_timezone(site.country, plan.day)
        zone_prices = plan.inputs.prices.get("day_ahead", {}).get(site.bidding_zone)
        views[asset.id] = AssetView(
            asset=asset,
            site=site,
            treatment=_treatment(portfolio, asset, plan.day),
            timezone=timezone,
            plan=plan,
            x=plan.injection_mw[asset.id],
            bands={p: plan.band(asset.id, p) for p in ("fcr", "afrr_pos", "afrr_neg")},
            avail=availability(asset.availability, plan.day, plan.quarter_hours, timezone),
            day_ahead=zone_prices,
            in_service=fleet_rules.out_of_service_reason(asset, plan.day) is None,
        )
    return views


def _site_timezone(country: str, day: date) -> str:
    try:
        return regulatory_registry().get(country).in_force(day).timezone
    except LookupError as exc:
        raise PlanFormatError("day", day.isoformat(), str(exc)) from None


def _treatment(portfolio: Portfolio, asset: AssetBase, day: date) -> Treatment:
    try:
        return portfolio.treatment(asset, day)
    except LookupError as exc:  # no rule set of the site's country in force that day
        raise PlanFormatError("day", day.isoformat(), f"asset {asset.id}: {exc}") from None


def _asset_rules(views: dict[str, AssetView], findings: Findings) -> dict[str, AssetOutcome]:
    """Each scheduled asset's kind rules and G2-G5; an asset out of service is reported by
    G1 alone, its rules run only for its costs and reach."""
    outcomes = {}
    for asset_id, view in views.items():
        target = findings if view.in_service else Findings(findings.labels)
        outcome = KIND_RULES[view.asset.kind](view, target)
        if view.in_service:
            fleet_rules.check_asset(view, outcome, findings)
        outcomes[asset_id] = outcome
    return outcomes
