"""Read a solved model back into a `Plan`: positions, schedule, accounts, states, inputs.

Everything reported is evaluated from the solution that is submitted: positions are the
whole steps held in the model, revenue by market and costs by kind are the objective's
own terms (`BuiltModel.revenue`, `BuiltModel.costs`), so they add up to the objective.
Bids are derived afterwards (`trading.optimiser.derive`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import numpy as np
import pandas as pd

from dispatch.schedule import Schedule
from markets.calendar import iso_z
from trading.optimiser.accounts import EXPECTED_IMBALANCE
from trading.optimiser.assets import DT
from trading.optimiser.build import RESIDUAL_SPREAD_EUR_PER_MWH, BuiltModel
from trading.optimiser.result import Plan, PlanInputs, Position
from trading.optimiser.solver import Solved

ON = 0.5
"""An on/off state above this is on."""


def write_back(built: BuiltModel, solved: Solved) -> Plan:
    """The plan of `solved` (bids left empty: `derive.derive_bids` fills them)."""
    horizon = built.horizon
    portfolio = built.portfolio
    plan_id = f"plan-{portfolio.id}-{horizon.day}-{uuid.uuid4().hex[:8]}"
    positions = _positions(built, solved)
    revenue = _cents({k: float(e.evaluate(solved.values).sum()) for k, e in built.revenue.items()})
    costs = _cents({k: float(e.evaluate(solved.values).sum()) for k, e in built.costs.items()})
    for table, kind in ((revenue, "imbalance"), (costs, EXPECTED_IMBALANCE)):
        if table.get(kind) == 0.0:  # no residual planned: nothing to report
            del table[kind]
    objective = _cents({"": sum(revenue.values()) - sum(costs.values())})[""]
    injection = pd.DataFrame(
        {aid: terms.injection.evaluate(solved.values) for aid, terms in built.assets.items()},
        index=horizon.periods,
    )
    residual = _residual_mw(built, solved)
    schedule = Schedule.from_frames(
        injection,
        portfolio_id=portfolio.id,
        plan_id=plan_id,
        bands=_bands(built, solved),
        positions=_position_frame(built, solved),
        capacity=_capacity_frame(built, solved),
        source="vpp-engine optimiser",
        position_tolerance_mw=max((float(np.abs(r).max()) for r in residual.values()), default=0)
        + 1e-6,
    )
    return Plan(
        plan_id=plan_id,
        portfolio_id=portfolio.id,
        day=horizon.day,
        timezone=horizon.timezone,
        markets=tuple(built.options.markets),
        objective_eur=objective,
        revenue_by_market=revenue,
        costs_by_kind=costs,
        revenue_by_asset=_revenue_by_asset(built, solved, injection, objective),
        positions=positions,
        bids=[],
        schedule=schedule,
        solver=solved.report,
        excluded_assets=dict(built.excluded),
        inputs=_inputs(built),
        states=_states(built, solved),
        end_state=_end_state(built, solved),
        residual_mw={
            zone: [float(v) for v in r] for zone, r in residual.items() if np.abs(r).max() > 1e-9
        },
        notes=_notes(built, residual),
    )


def _cents(values: dict[str, float]) -> dict[str, float]:
    """Each amount rounded half away from zero to the cent [EUR]."""
    return {k: float(Decimal(repr(v)).quantize(Decimal("0.01"))) + 0.0 for k, v in values.items()}


def whole_steps(steps: np.ndarray, step_mw: float) -> np.ndarray:
    """Step counts as MW written exactly (16.4, not 16.400000000000002)."""
    unit = Decimal(repr(step_mw))
    return np.array([float(round(k) * unit) for k in steps])


def _positions(built: BuiltModel, solved: Solved) -> list[Position]:
    positions: list[Position] = []
    for block in built.positions:
        mw = whole_steps(solved(block.steps), block.step_mw)
        for i, product in enumerate(block.products):
            quarters = block.period_of == i
            positions.append(
                Position(
                    product_id=product.product_id,
                    market=block.market,
                    zone=block.zone,
                    mw=float(mw[i]),
                    price_forecast=float(block.prices[quarters].mean()),
                    revenue_eur=float((mw[i] * block.prices[quarters] * DT).sum()),
                    delivery_start=iso_z(product.delivery_start),
                    delivery_end=iso_z(product.delivery_end),
                )
            )
    for pool in built.pools:
        mw = whole_steps(solved(pool.steps), pool.step_mw)
        for i, product in enumerate(pool.products):
            positions.append(
                Position(
                    product_id=product.product_id,
                    market=pool.market,
                    zone=pool.zone,
                    pool=pool.pool_key,
                    direction=pool.direction.value,
                    mw=float(mw[i]),
                    price_forecast=float(pool.prices[i]),
                    revenue_eur=float(mw[i] * pool.prices[i] * pool.hours[i]),
                    delivery_start=iso_z(product.delivery_start),
                    delivery_end=iso_z(product.delivery_end),
                )
            )
    return positions


def _residual_mw(built: BuiltModel, solved: Solved) -> dict[str, np.ndarray]:
    """Per zone: injection above (+) or below (-) its whole-step positions [MW]."""
    return {zone: solved(long) - solved(short) for zone, (long, short) in built.residuals.items()}


def _long(
    times: list[pd.DatetimeIndex],
    outer: list[np.ndarray],
    inner: list[np.ndarray],
    mw: list[np.ndarray],
    keys: tuple[str, str],
) -> pd.DataFrame | None:
    """One long table (``quarter_hour``, the two `keys`, ``mw``) from column pieces, one
    piece per variable, block or pool, in the pieces' order; None where there is no row."""
    if not sum(len(m) for m in mw):
        return None
    return pd.DataFrame(
        {
            "quarter_hour": times[0].append(times[1:]) if len(times) > 1 else times[0],
            keys[0]: np.concatenate(outer),
            keys[1]: np.concatenate(inner),
            "mw": np.concatenate(mw).astype(float),
        }
    )


def _aggregate(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    keys = [c for c in frame.columns if c != "mw"]
    return frame.groupby(keys, as_index=False, sort=False)["mw"].sum()


def _labels(value: object, n: int) -> np.ndarray:
    """`value` repeated `n` times as an object column (ids, products, markets)."""
    out = np.empty(n, dtype=object)
    out[:] = [value] * n
    return out


def _bands(built: BuiltModel, solved: Solved) -> pd.DataFrame | None:
    periods = built.horizon.periods
    times, outer, inner, mw = [], [], [], []
    for (aid, product), var in built.reserves.items():
        values = solved(var)
        where = np.flatnonzero(values > 1e-9)
        times.append(periods[where])
        outer.append(_labels(aid, len(where)))
        inner.append(_labels(product, len(where)))
        mw.append(values[where])
    return _long(times, outer, inner, mw, ("asset_id", "product"))


def _position_frame(built: BuiltModel, solved: Solved) -> pd.DataFrame | None:
    periods = built.horizon.periods
    times, outer, inner, mw = [], [], [], []
    for block in built.positions:
        per_quarter = whole_steps(solved(block.steps), block.step_mw)[block.period_of]
        times.append(periods[: len(per_quarter)])
        outer.append(_labels(block.zone, len(per_quarter)))
        inner.append(_labels(block.market, len(per_quarter)))
        mw.append(per_quarter)
    return _aggregate(_long(times, outer, inner, mw, ("zone", "market")))


def _capacity_frame(built: BuiltModel, solved: Solved) -> pd.DataFrame | None:
    periods = built.horizon.periods
    times, outer, inner, mw = [], [], [], []
    for pool in built.pools:
        per_quarter = whole_steps(solved(pool.steps), pool.step_mw)[pool.block_of]
        times.append(periods[: len(per_quarter)])
        outer.append(_labels(pool.zone, len(per_quarter)))
        inner.append(_labels(pool.product, len(per_quarter)))
        mw.append(per_quarter)
    return _aggregate(_long(times, outer, inner, mw, ("zone", "product")))


def _revenue_by_asset(
    built: BuiltModel, solved: Solved, injection: pd.DataFrame, objective: float
) -> dict[str, float]:
    """Each asset's energy at its zone's day-ahead forecast, its reserve revenue pro rata,
    and its own revenue and costs; what the market positions add beyond that (intraday
    spreads, whole steps) is reported as ``portfolio``."""
    sites = {s.id: s for s in built.portfolio.sites}
    zone_price: dict[str, np.ndarray] = {}
    for block in built.positions:
        if block.market == "day_ahead":
            zone_price.setdefault(block.zone, block.prices)
    revenue: dict[str, float] = {}
    for asset in built.portfolio.assets:
        zone = sites[asset.site].bidding_zone
        price = zone_price.get(zone, np.zeros(built.horizon.n))
        own = float(built.assets[asset.id].value().evaluate(solved.values).sum())
        revenue[asset.id] = float((injection[asset.id].to_numpy() * price * DT).sum()) + own
    for pool in built.pools:
        sold = whole_steps(solved(pool.steps), pool.step_mw)
        held = {aid: solved(built.reserves[(aid, pool.product)]) for aid in pool.assets}
        for b in range(len(pool.products)):
            quarters = pool.block_of == b
            total_mw = sum(v[quarters].sum() for v in held.values())
            if total_mw <= 0:
                continue
            for aid, share in held.items():
                weight = share[quarters].sum() / total_mw
                revenue[aid] += float(weight * sold[b] * pool.prices[b] * pool.hours[b])
    revenue = {k: round(v, 2) for k, v in revenue.items()}
    revenue["portfolio"] = round(objective - sum(revenue.values()), 2)
    return revenue


def _inputs(built: BuiltModel) -> PlanInputs:
    """What the plan was made on besides the portfolio file."""
    initial: dict[str, dict[str, float]] = {}
    for aid, terms in built.assets.items():
        for name, value in terms.initial.items():
            initial.setdefault(name, {})[aid] = float(value)
    options = built.options
    units = dict(getattr(options, "unit_initial", {}) or getattr(options, "chp_initial", {}))
    n = built.horizon.n
    available = {
        aid: [float(v) for v in terms.available_mw]
        for aid, terms in built.assets.items()
        if terms.available_mw is not None
    }
    sources = dict(built.profile_sources)
    return PlanInputs(
        initial_soc_mwh=initial.get("initial_soc_mwh", {}),
        final_soc_mwh=initial.get("final_soc_mwh", {}),
        initial_heat_mwh_th=initial.get("initial_heat_mwh_th", {}),
        ev_owed_mwh=initial.get("ev_owed_mwh", {}),
        unit_initial={k: v for k, v in units.items() if k in built.assets},
        commitments=dict(options.commitments),
        available_mw=available,
        available_source={aid: sources.get(aid, "forecast") for aid in available},
        prices=_prices(built, n),
        residual_spread_eur_per_mwh=RESIDUAL_SPREAD_EUR_PER_MWH,
    )


def _prices(built: BuiltModel, n: int) -> dict[str, dict[str, list[float]]]:
    """The forecasts the plan used, per market and key, on every quarter hour."""
    prices: dict[str, dict[str, list[float]]] = {}
    for zone, series in built.zone_prices.items():
        prices.setdefault("day_ahead", {})[zone] = [float(v) for v in series]
    for block in built.positions:
        prices.setdefault(block.market, {})[block.zone] = [float(v) for v in block.prices]
    for pool in built.pools:
        key = f"{pool.zone}/{pool.direction.value}" if pool.market == "afrr_capacity" else pool.zone
        per_quarter = pool.prices[pool.block_of]
        prices.setdefault(pool.market, {})[key] = [float(v) for v in per_quarter[:n]]
    return prices


def _states(built: BuiltModel, solved: Solved) -> dict[str, dict[str, list[float]]]:
    states: dict[str, dict[str, list[float]]] = {}
    for aid, terms in built.assets.items():
        for name, expr in terms.states.items():
            values = expr.evaluate(solved.values)
            if name == "on":
                values = (values > ON).astype(float)
            states.setdefault(aid, {})[name] = [float(v) for v in values]
    return states


def _end_state(built: BuiltModel, solved: Solved) -> dict[str, dict[str, float | bool]]:
    """Each asset's state when the day ends, to carry into the next day."""
    units = dict(getattr(built.options, "unit_initial", {}) or built.options.chp_initial)
    end: dict[str, dict[str, float | bool]] = {}
    for aid, terms in built.assets.items():
        found: dict[str, float | bool] = {}
        for name, expr in terms.states.items():
            values = expr.evaluate(solved.values)
            if name == "on":
                on = values > ON
                last = bool(on[-1])
                run = int(np.argmax(on[::-1] != last)) if (on != last).any() else len(on)
                hours = run * DT
                before = units.get(aid)
                if run == len(on) and before is not None and before.on == last:
                    hours += before.hours
                found["on"], found["hours"] = last, hours
            else:
                found[name] = float(values[-1])
        if terms.owed_at_end is not None:
            found["owed_mwh"] = float(terms.owed_at_end.evaluate(solved.values).sum())
        if found:
            end[aid] = found
    return end


def _notes(built: BuiltModel, residual: dict[str, np.ndarray]) -> list[str]:
    notes = []
    if built.excluded:
        notes.append(
            "not in service and left out of the plan: "
            + "; ".join(f"{aid} ({why})" for aid, why in sorted(built.excluded.items()))
        )
    for zone, values in sorted(residual.items()):
        where = np.abs(values) > 1e-9
        if where.any():
            notes.append(
                f"{zone}: no asset can follow a whole volume step in {int(where.sum())} "
                "quarter hour(s); the residual below one step "
                f"({float(values.sum() * DT):+.4f} MWh over the day) is planned as imbalance "
                f"at an expected spread of {RESIDUAL_SPREAD_EUR_PER_MWH:g} EUR/MWh"
            )
    return notes
