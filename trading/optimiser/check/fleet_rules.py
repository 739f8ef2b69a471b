"""Rules every asset obeys whatever its kind (G1-G5), sites (S1), and the plan's states
against those its injection implies (X1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np

from regulatory import Portfolio
from regulatory.assets import AssetBase
from trading.optimiser.check import rules
from trading.optimiser.check.asset_rules import AssetOutcome, AssetView, excess_where
from trading.optimiser.check.plan_input import PlanData
from trading.optimiser.check.violations import TOLERANCE, Findings

RAMP_MINUTES = 15
"""Minutes between two quarter-hour averages: a ramp rate [MW/min] allows this many times
its value from one quarter hour to the next [MW]."""


def out_of_service_reason(asset: AssetBase, day: date) -> str | None:
    """Why `asset` is not in service on `day`, or None if it is (G1).

    In service: commissioned on or before the day and, if it has a decommissioning date,
    the day is before it (that date is the first day out of service).
    """
    if asset.commissioning_date > day:
        return f"not in service on {day}: commissioned {asset.commissioning_date}"
    ends = getattr(asset, "decommissioning_date", None)
    if ends is not None and day >= ends:
        return f"not in service on {day}: decommissioned {ends}"
    return None


def check_listing(portfolio: Portfolio, plan: PlanData, findings: Findings) -> None:
    """G1: the schedule holds every asset in service and no other; `excluded_assets` the
    rest of the portfolio."""
    for asset in portfolio.assets:
        reason = out_of_service_reason(asset, plan.day)
        scheduled = asset.id in plan.injection_mw
        excluded = asset.id in plan.excluded_assets
        problem = _listing_problem(reason, scheduled, excluded, plan, asset.id)
        if problem is None:
            continue
        amount, unit = (1.0, "asset")
        if scheduled and reason is not None:
            amount, unit = _largest_use(plan, asset.id), "MW"
        findings.add(rules.G1, asset.id, amount, unit, problem)


def _listing_problem(
    reason: str | None, scheduled: bool, excluded: bool, plan: PlanData, asset_id: str
) -> str | None:
    if scheduled and excluded:
        return "is both in schedule.injection_mw and in excluded_assets"
    if reason is not None and scheduled:
        return f"{reason}, yet in the schedule (largest injection or reserve in MW)"
    if reason is not None and not excluded:
        return f"{reason}, and not listed in excluded_assets"
    if reason is None and excluded:
        return f"in service on {plan.day}, yet excluded: {plan.excluded_assets[asset_id]}"
    if reason is None and not scheduled:
        return f"in service on {plan.day}, yet neither in the schedule nor excluded"
    return None


def _largest_use(plan: PlanData, asset_id: str) -> float:
    """Largest |injection| or reserve band of an asset in the day [MW]."""
    values = [np.abs(plan.injection_mw[asset_id]).max()]
    values += [band.max() for band in plan.bands_mw.get(asset_id, {}).values()]
    return float(max(values))


def check_asset(view: AssetView, outcome: AssetOutcome, findings: Findings) -> None:
    """G2-G5 for one asset in service."""
    _availability(view, findings)
    _ramp(view, findings)
    _headroom(view, outcome, findings)
    _prequalification(view, findings)


def _reserve(view: AssetView, products: Iterable[str]) -> np.ndarray:
    """Reserve held in `products` per quarter hour [MW]."""
    return sum((view.bands[p] for p in products), np.zeros(view.n))


def _availability(view: AssetView, findings: Findings) -> None:
    """G2: no injection and no reserve outside the availability windows."""
    reserve = _reserve(view, ("fcr", "afrr_pos", "afrr_neg"))
    used = np.maximum(np.abs(view.x), reserve)
    findings.series(
        rules.G2,
        view.id,
        excess_where(~view.available, used),
        "MW",
        lambda t: (
            f"injects {view.x[t]:.6g} MW and holds {reserve[t]:.6g} MW of reserve "
            "outside its availability windows"
        ),
    )


def _ramp(view: AssetView, findings: Findings) -> None:
    """G3: change of net injection between quarter hours within the ramp rates."""
    step = np.r_[0.0, np.diff(view.x)]
    up, down = view.asset.ramp_up_mw_per_min, view.asset.ramp_down_mw_per_min
    if up is not None:
        limit = RAMP_MINUTES * up
        findings.series(
            rules.G3,
            view.id,
            step - limit,
            "MW",
            lambda t: (
                f"rises {step[t]:.6g} MW from the quarter hour before, "
                f"limit {limit:.6g} MW ({up:g} MW/min)"
            ),
        )
    if down is not None:
        limit = RAMP_MINUTES * down
        findings.series(
            rules.G3,
            view.id,
            -step - limit,
            "MW",
            lambda t: (
                f"falls {-step[t]:.6g} MW from the quarter hour before, "
                f"limit {limit:.6g} MW ({down:g} MW/min)"
            ),
        )


def _headroom(view: AssetView, outcome: AssetOutcome, findings: Findings) -> None:
    """G4: reserve within the room between the injection and the kind's lo and hi.

    Reported as the reserve beyond that room, where the asset holds reserve; an injection
    outside [lo, hi] by itself is the kind's power rule.
    """
    up, down = _reserve(view, rules.UP), _reserve(view, rules.DOWN)
    room_up = np.maximum(outcome.hi - view.x, 0.0)
    room_down = np.maximum(view.x - outcome.lo, 0.0)
    holds = view.available
    findings.series(
        rules.G4,
        view.id,
        excess_where(holds & (up > TOLERANCE), up - room_up),
        "MW",
        lambda t: (
            f"holds {up[t]:.6g} MW upward reserve at {view.x[t]:.6g} MW injection, "
            f"room up to {outcome.hi[t]:.6g} MW"
        ),
    )
    findings.series(
        rules.G4,
        view.id,
        excess_where(holds & (down > TOLERANCE), down - room_down),
        "MW",
        lambda t: (
            f"holds {down[t]:.6g} MW downward reserve at {view.x[t]:.6g} MW injection, "
            f"room down to {outcome.lo[t]:.6g} MW"
        ),
    )


def _prequalification(view: AssetView, findings: Findings) -> None:
    """G5: each band within [0, the prequalified MW of the treatment on the day]."""
    for product, band in view.bands.items():
        limit = view.treatment.prequalified_mw(product)  # type: ignore[arg-type]
        findings.series(
            rules.G5,
            view.id,
            band - limit,
            "MW",
            lambda t, p=product, b=band, m=limit: (
                f"holds {b[t]:.6g} MW of {p}, prequalified for {m:g} MW on the day"
            ),
        )
        findings.series(
            rules.G5,
            view.id,
            -band,
            "MW",
            lambda t, p=product, b=band: f"holds {b[t]:.6g} MW of {p}: a band is >= 0",
        )


def check_sites(
    portfolio: Portfolio, plan: PlanData, views: Mapping[str, AssetView], findings: Findings
) -> None:
    """S1: each site's net injection with its reserves within its grid connection."""
    for site in portfolio.sites:
        members = [v for v in views.values() if v.site.id == site.id]
        if not members:
            continue
        x = sum((v.x for v in members), np.zeros(plan.n))
        up = sum((_reserve(v, rules.UP) for v in members), np.zeros(plan.n))
        down = sum((_reserve(v, rules.DOWN) for v in members), np.zeros(plan.n))
        limit = site.grid_connection_mw
        findings.series(
            rules.S1,
            site.id,
            x + up - limit,
            "MW",
            lambda t, x=x, up=up, limit=limit: (
                f"injects {x[t]:.6g} MW with {up[t]:.6g} MW upward reserve, connection {limit:g} MW"
            ),
        )
        findings.series(
            rules.S1,
            site.id,
            -(x - down) - limit,
            "MW",
            lambda t, x=x, down=down, limit=limit: (
                f"withdraws {-x[t]:.6g} MW with "
                f"{down[t]:.6g} MW downward reserve, connection {limit:g} MW"
            ),
        )


def check_states(plan: PlanData, outcomes: Mapping[str, AssetOutcome], findings: Findings) -> None:
    """X1: the plan's `schedule.states` and `end_state` against the states its injection
    and inputs imply; states the checker does not compute are not compared."""
    for asset_id, named in plan.states.items():
        implied = outcomes[asset_id].states
        for name, given in named.items():
            if name in implied:
                _compare_series(asset_id, name, given, implied[name], findings)
    for asset_id, values in plan.end_state.items():
        implied_end = outcomes[asset_id].end_state if asset_id in outcomes else {}
        for name, given in values.items():
            if name in implied_end:
                _compare_end(asset_id, name, given, implied_end[name], plan, findings)


def _compare_series(
    asset_id: str, name: str, given: np.ndarray, implied: np.ndarray, findings: Findings
) -> None:
    if name == "on":
        given = (given > 0.5) * 1.0
    differ = np.abs(given - implied)
    findings.series(
        rules.X1,
        asset_id,
        differ,
        "-" if name == "on" else _end_unit(name),
        lambda t: (
            f"schedule.states.{name} is {given[t]:.6g} in the plan, "
            f"{implied[t]:.6g} from its injection and inputs"
        ),
    )


def _compare_end(
    asset_id: str,
    name: str,
    given: object,
    implied: float | bool,
    plan: PlanData,
    findings: Findings,
) -> None:
    if isinstance(implied, bool):
        differs, amount = given is not implied, 1.0
    else:
        amount = abs(float(given) - implied)  # type: ignore[arg-type]
        differs = amount > TOLERANCE
    if differs:
        text = str(implied).lower() if isinstance(implied, bool) else f"{implied:.6g}"
        findings.add(
            rules.X1,
            asset_id,
            amount,
            "-" if isinstance(implied, bool) else _end_unit(name),
            f"end_state.{name} is {given} in the plan, {text} from its injection and inputs",
            at=plan.n - 1,
        )


def _end_unit(name: str) -> str:
    return {"hours": "h", "heat_mwh_th": "MWh_th", "soc_mwh": "MWh", "e_mwh": "MWh"}.get(
        name, "MWh"
    )
