"""Analysts extend a plan in Pyomo: `optimise(..., extend=fn)`.

`fn(model, view)` receives the optimiser's model exported to Pyomo
(`pyomo_model.export`: one indexed `Var` per variable family, one indexed `Constraint` per
row family, the objective maximised in EUR) and an `ExtensionView` that names its parts by
meaning: assets, zones, markets, quarter hours in UTC and local time, and per asset its
state of charge, charge and discharge power, injection, reserve bands, and per zone and
market its position. The extension adds `Var`s, `Constraint`s (on the model or on blocks
of it), and objective terms through `view.add_cost(name, expr)`; it may also tighten the
bounds of existing variables or fix them::

    def min_soc_at_six_pm(model, view):
        q = view.at_local("18:00")
        model.min_soc_1800 = pyo.Constraint(
            view.batteries, rule=lambda m, b: view.soc(b)[q] >= 0.5 * view.energy_mwh(b)
        )

    plan = optimise(portfolio, day, prices, extend=min_soc_at_six_pm)

What it added is compiled back, linear term by linear term (Pyomo's standard
representation), into the engine's matrix model: each new constraint component becomes a
row family named by its Pyomo name (so an infeasibility diagnosis names it), each new
variable component a column family, each cost a term of the objective itemised under its
name in `Plan.costs_by_kind`. The extended model is then solved exactly as the matrix
path solves its own (relaxation split into parts, overlap repair, whole volume steps,
HiGHS with the same gap and time limit), and the solution is written back into the
Pyomo variables (`view.value`, `pyo.value(model.x[k])` after `optimise` returns) and into
a `Plan` whose bids the market plugins validate. An extension that adds nothing gives the
plan of the matrix path, bid for bid.

Only linear (and integer) additions are accepted: a nonlinear term, a new objective, a
changed or deactivated existing constraint is refused with an `ExtensionError` naming the
component.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn import generate_standard_repn

from trading.optimiser.linear import Expr, IntArray
from trading.optimiser.pyomo_model import component_name, export

if TYPE_CHECKING:
    from trading.optimiser.build import BuiltModel

Extension = Callable[[pyo.ConcreteModel, "ExtensionView"], None]
"""An analyst's rule: adds constraints, variables and costs to the exported Pyomo model."""

INF = float("inf")


class ExtensionError(ValueError):
    """An extension did something the engine cannot solve or report (names the component)."""


class ExtensionView:
    """The exported model's parts by meaning, per quarter hour of the delivery day.

    Every per-quarter-hour family is a list indexed by quarter hour q = 0 .. n-1 (92, 96
    or 100 on DST days); `periods[q]` is its start in UTC, `local_periods[q]` in the
    market's time zone. Units: MW for power (positive = injection), MWh for energy.
    """

    def __init__(self, built: BuiltModel, model: pyo.ConcreteModel, columns: list[Any]) -> None:
        self._built = built
        self._columns = columns
        self._by_id: dict[str, Any] = {}
        for asset in built.portfolio.assets:
            self._by_id.setdefault(asset.id, asset)
        self.model = model
        """The exported Pyomo model (the one the extension receives)."""
        self.costs: dict[str, pyo.Expression] = {}
        """The objective terms added through `add_cost`, by name [EUR, positive = cost]."""

    # --- time -------------------------------------------------------------------------

    @property
    def day(self) -> Any:
        """The delivery day (market-local date)."""
        return self._built.horizon.day

    @property
    def timezone(self) -> str:
        """The market time zone of the delivery day (e.g. Europe/Berlin)."""
        return self._built.horizon.timezone

    @property
    def periods(self) -> pd.DatetimeIndex:
        """UTC start of each quarter hour."""
        return self._built.horizon.periods

    @property
    def local_periods(self) -> pd.DatetimeIndex:
        """Local start of each quarter hour (in `timezone`)."""
        return self.periods.tz_convert(self.timezone)

    @property
    def quarter_hours(self) -> range:
        """The quarter hour numbers 0 .. n-1."""
        return range(self._built.horizon.n)

    def quarter_hour(self, moment: str | pd.Timestamp) -> int:
        """The quarter hour starting at `moment` (timezone-aware; naive is read as UTC)."""
        stamp = pd.Timestamp(moment)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        try:
            return int(self.periods.get_loc(stamp))
        except KeyError:
            raise KeyError(
                f"moment={moment}: no quarter hour of {self.day} ({self.timezone}) starts then"
            ) from None

    def at_local(self, clock: str) -> int:
        """The quarter hour starting at local wall-clock time `clock` ("18:00") on the day;
        the first of two on the autumn DST day, KeyError where the spring day skips it."""
        local = self.local_periods
        found = np.flatnonzero(local.strftime("%H:%M") == clock)
        if not len(found):
            raise KeyError(f"clock={clock!r}: no quarter hour starts then on {self.day} local")
        return int(found[0])

    # --- what the portfolio holds -----------------------------------------------------

    @property
    def assets(self) -> list[str]:
        """Ids of the assets in the model (in service on the day)."""
        return list(self._built.assets)

    def kind(self, asset_id: str) -> str:
        """The asset's kind (battery, chp, pv, ...)."""
        return self._asset(asset_id).kind

    def assets_of(self, kind: str) -> list[str]:
        """Ids of the assets of one kind."""
        return [a for a in self.assets if self.kind(a) == kind]

    @property
    def batteries(self) -> list[str]:
        """Ids of the batteries."""
        return self.assets_of("battery")

    def energy_mwh(self, asset_id: str) -> float:
        """A storage asset's energy capacity [MWh]."""
        return float(self._asset(asset_id).energy_mwh)

    def asset(self, asset_id: str) -> Any:
        """The asset's data as the portfolio file gives it (`regulatory.assets`): ratings
        [MW], energy [MWh], costs [EUR/MWh] ..."""
        return self._asset(asset_id)

    def zone_of(self, asset_id: str) -> str:
        """The bidding zone of an asset's site."""
        return self._built.portfolio.site_of(self._asset(asset_id)).bidding_zone

    def site_of(self, asset_id: str) -> str:
        """The id of the asset's site (one grid connection)."""
        return str(self._asset(asset_id).site)

    @property
    def sites(self) -> list[str]:
        """Ids of the sites with an asset in the model."""
        return sorted({self.site_of(a) for a in self.assets})

    def assets_at(self, site_id: str) -> list[str]:
        """Ids of the assets in the model behind site `site_id`'s grid connection."""
        return [a for a in self.assets if self.site_of(a) == site_id]

    @property
    def zones(self) -> list[str]:
        """Bidding zones of the portfolio's sites."""
        return sorted({s.bidding_zone for s in self._built.portfolio.sites})

    @property
    def markets(self) -> tuple[str, ...]:
        """The markets this pass trades (day_ahead, intraday, afrr_capacity, fcr_capacity)."""
        return tuple(self._built.options.markets)

    # --- families ---------------------------------------------------------------------

    def soc(self, asset_id: str) -> list[Any]:
        """State of charge at the end of each quarter hour [MWh] (batteries)."""
        soc = self._terms(asset_id).soc
        if soc is None:
            raise KeyError(f"asset_id={asset_id!r}: a {self.kind(asset_id)} has no state of charge")
        return [self._columns[c] for c in soc.cols]

    def charge(self, asset_id: str) -> list[Any]:
        """Charging power per quarter hour [MW, >= 0, drawn from the grid]."""
        return self.variable(asset_id, "charge")

    def discharge(self, asset_id: str) -> list[Any]:
        """Discharging power per quarter hour [MW, >= 0, injected]."""
        return self.variable(asset_id, "discharge")

    def variable(self, asset_id: str, name: str) -> list[Any]:
        """An asset's own variable family per quarter hour by its meaning: charge,
        discharge, energy (EV fleets), output (generators), consumption, on, start ..."""
        variables = self._terms(asset_id).variables
        if name not in variables:
            raise KeyError(
                f"asset_id={asset_id!r} has no {name!r}; it has {', '.join(sorted(variables))}"
            )
        return [self._columns[c] for c in variables[name].cols]

    def injection(self, asset_id: str) -> list[Any]:
        """Net injection per quarter hour [MW]; negative = withdrawal."""
        return self.expressions(self._terms(asset_id).injection)

    def reserve(self, asset_id: str, product: str) -> list[Any]:
        """Reserve band an asset holds for `product` (fcr, afrr_pos, afrr_neg) per quarter
        hour [MW]; zeros where the asset does not offer it."""
        var = self._built.reserves.get((asset_id, product))  # type: ignore[call-overload]
        if var is None:
            return [0.0] * len(self.quarter_hours)
        return [self._columns[c] for c in var.cols]

    def position(self, market: str, zone: str) -> list[Any]:
        """A zone's position in an energy market (day_ahead, intraday) per quarter hour
        [MW]; positive = sold; zeros where it is not traded."""
        blocks = [b for b in self._built.positions if (b.market, b.zone) == (market, zone)]
        if not blocks:
            return [0.0] * len(self.quarter_hours)
        rows = [self.expressions(b.mw()) for b in blocks]
        return [sum(parts) for parts in zip(*rows, strict=True)]

    def expressions(self, expr: Expr) -> list[Any]:
        """The rows of an engine expression (`trading.optimiser.linear.Expr`) in Pyomo."""
        return _pyomo_rows(expr, self._columns)

    # --- objective --------------------------------------------------------------------

    def add_cost(self, name: str, expr: Any, doc: str = "") -> pyo.Expression:
        """Add `expr` [EUR, positive = cost] to what the plan minimises against its revenue;
        the plan reports it under `name` in `costs_by_kind`. Returns the Pyomo `Expression`
        component added to the model (named after `name`)."""
        if not name or name in self.costs:
            raise ExtensionError(f"add_cost name={name!r}: give each cost a new, non-empty name")
        label = component_name(name)
        if self.model.component(label) is not None:
            raise ExtensionError(f"add_cost name={name!r}: the model already has {label!r}")
        component = pyo.Expression(expr=expr, doc=doc or name)
        self.model.add_component(label, component)
        self.costs[name] = component
        return component

    def value(self, item: Any) -> float:
        """The value of a Pyomo expression or variable in the solved plan (after
        `optimise` returned; the last pass's where intraday is traded second)."""
        return float(pyo.value(item))

    # --- internals --------------------------------------------------------------------

    def _asset(self, asset_id: str) -> Any:
        asset = self._by_id.get(asset_id)
        if asset is not None:
            return asset
        raise KeyError(f"asset_id={asset_id!r}: no such asset in the model")

    def _terms(self, asset_id: str) -> Any:
        try:
            return self._built.assets[asset_id]
        except KeyError:
            raise KeyError(f"asset_id={asset_id!r}: no such asset in the model") from None


def _pyomo_rows(expr: Expr, columns: list[Any]) -> list[Any]:
    """Each row of `expr` as a Pyomo linear expression over `columns`."""
    rows: list[tuple[list[float], list[Any]]] = [([], []) for _ in range(expr.n)]
    for cols, coefs in expr.terms:
        if expr.n == 1:
            rows[0][0].extend(float(v) for v in coefs)
            rows[0][1].extend(columns[c] for c in cols)
            continue
        for i, (c, v) in enumerate(zip(cols, coefs, strict=True)):
            rows[i][0].append(float(v))
            rows[i][1].append(columns[c])
    return [
        LinearExpression(constant=float(k), linear_coefs=coefs, linear_vars=cols)
        for k, (coefs, cols) in zip(expr.const, rows, strict=True)
    ]


@dataclass
class Extended:
    """An extension applied to a built model: the Pyomo model and how to read it back."""

    model: pyo.ConcreteModel
    view: ExtensionView
    columns: list[Any]
    """The Pyomo variable of every engine column, old and new."""
    added_rows: dict[str, range] = field(default_factory=dict)
    """Engine rows per extension constraint component (its Pyomo name)."""
    added_columns: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def note(self, extend: Extension) -> str:
        """What the extension added, for the plan's notes."""
        name = getattr(extend, "__qualname__", None) or type(extend).__name__
        rows = ", ".join(f"{k} ({len(v)} row(s))" for k, v in self.added_rows.items())
        costs = ", ".join(self.view.costs)
        return (
            f"extended in Pyomo by {name}: constraints {rows or 'none'}; variables "
            f"{len(self.added_columns)}; costs {costs or 'none'} (the plan checker cannot "
            "re-derive an extension's rules or costs)"
        )

    def load(self, values: np.ndarray) -> None:
        """Write a solution's column values into the Pyomo variables."""
        for c, var in enumerate(self.columns):
            if c < len(values):
                var.set_value(float(values[c]), skip_validation=True)


def apply_extension(built: BuiltModel, extend: Extension) -> Extended:
    """Export `built` to Pyomo, let `extend` change it, compile what it added back into
    `built` (rows, columns, bounds, costs) and return the link between the two."""
    block, columns = export(built.model)
    objective = block.objective
    original_expr = objective.expr
    index = {id(v): c for c, v in enumerate(columns)}
    before_vars = {id(v) for v in block.component_data_objects(pyo.Var, descend_into=True)}
    before_cons = {id(c) for c in block.component_data_objects(pyo.Constraint, descend_into=True)}
    bounds = [(v.lb, v.ub, v.is_integer(), v.fixed) for v in columns]
    view = ExtensionView(built, block, columns)
    extend(block, view)
    _refuse_objective_changes(block, objective, original_expr)
    added = _new_columns(built, block, columns, index, before_vars)
    _changed_bounds(built, columns, bounds)
    extended = Extended(block, view, columns, added_columns=added)
    _new_rows(built, block, index, before_cons, extended)
    _new_costs(built, view, index)
    _mark_extended_assets(built, extended)
    return extended


def _mark_extended_assets(built: BuiltModel, extended: Extended) -> None:
    """Record which assets the extension's rows and costs use (`BuiltModel.extended_assets`)."""
    starts, cols, _ = built.model.matrix()
    used = [cols[starts[span.start] : starts[span.stop]] for span in extended.added_rows.values()]
    used += [c for name in extended.view.costs for c, _ in built.costs[name].terms]
    if not used:
        return
    touched = np.zeros(built.model.num_cols, dtype=bool)
    touched[np.concatenate(used)] = True
    for asset_id, terms in built.assets.items():
        if touched[terms.columns].any():
            built.extended_assets.add(asset_id)


def _refuse_objective_changes(block: pyo.ConcreteModel, objective: Any, original: Any) -> None:
    active = block.component_data_objects(pyo.Objective, active=True)
    others = [o.name for o in active if o is not objective]
    if others or not objective.active or objective.expr is not original:
        named = ", ".join(others) or "objective"
        raise ExtensionError(
            f"{named}: the extension added or changed an objective; add objective terms "
            "with view.add_cost(name, expr) so the plan can itemise them"
        )


def _new_columns(
    built: BuiltModel,
    block: pyo.ConcreteModel,
    columns: list[Any],
    index: dict[int, int],
    before: set[int],
) -> IntArray:
    """Engine columns for the variables the extension added, one family per component."""
    by_component: dict[str, list[Any]] = {}
    for var in block.component_data_objects(pyo.Var, descend_into=True):
        if id(var) not in before:
            name = var.parent_component().getname(fully_qualified=True)
            by_component.setdefault(name, []).append(var)
    added = []
    for name, items in by_component.items():
        lower = np.array([_bound(v.lb, -INF) if not v.fixed else v.value for v in items], float)
        upper = np.array([_bound(v.ub, INF) if not v.fixed else v.value for v in items], float)
        integer = np.array([v.is_integer() for v in items])
        if (lower > upper + 1e-9).any():
            k = int(np.argmax(lower > upper + 1e-9))
            raise ExtensionError(f"{items[k].name}: lower bound {lower[k]} above upper {upper[k]}")
        for flag in (False, True):
            chosen = [k for k in range(len(items)) if integer[k] == flag]
            if not chosen:
                continue
            var = built.model.var(name, len(chosen), lower[chosen], upper[chosen], integer=flag)
            for k, c in zip(chosen, var.cols, strict=True):
                index[id(items[k])] = int(c)
                columns.append(items[k])
            added.append(var.cols)
    found = np.concatenate(added) if added else np.zeros(0, dtype=np.int64)
    built.free_columns = np.r_[built.free_columns, found].astype(np.int64)
    return found


def _changed_bounds(built: BuiltModel, columns: list[Any], bounds: list[tuple]) -> None:
    """Bounds, fixings and integrality the extension changed on existing variables."""
    lower, upper, *_, integer = built.model.bounds()
    changed = False
    for c, (lb, ub, was_integer, was_fixed) in enumerate(bounds):
        var = columns[c]
        same = var.lb == lb and var.ub == ub and var.fixed == was_fixed
        if same and var.is_integer() == was_integer:
            continue
        changed = True
        lo = _bound(var.lb, -INF) if not var.fixed else float(var.value)
        hi = _bound(var.ub, INF) if not var.fixed else float(var.value)
        if lo > hi + 1e-9:
            raise ExtensionError(f"{var.name}: lower bound {lo} above upper bound {hi}")
        lower[c], upper[c], integer[c] = lo, hi, var.is_integer()
    if changed:
        built.model.col_lower, built.model.col_upper = [lower], [upper]
        built.model.col_integer = [integer]


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _new_rows(
    built: BuiltModel,
    block: pyo.ConcreteModel,
    index: dict[int, int],
    before: set[int],
    extended: Extended,
) -> None:
    """Engine rows for the constraints the extension added, one family per component."""
    active = list(block.component_data_objects(pyo.Constraint, descend_into=True, active=True))
    active_ids = {id(c) for c in active}
    if before - active_ids:
        missing = [
            c.name
            for c in block.component_data_objects(pyo.Constraint, descend_into=True)
            if id(c) not in active_ids
        ] or ["(a removed rule)"]
        raise ExtensionError(
            f"{missing[0]}: the extension deactivated or removed a rule of the engine's model; "
            "only additions can be solved and reported"
        )
    by_component: dict[Any, list[Any]] = {}
    for con in active:
        if id(con) not in before:
            by_component.setdefault(con.parent_component(), []).append(con)
    families = set(built.model.families)
    n = built.horizon.n
    known = _subjects(built)
    for component, items in by_component.items():
        name = component.getname(fully_qualified=True)
        if name in families:
            raise ExtensionError(f"{name}: a rule of the engine's model has this name already")
        description = component.doc or name
        terms_cols: list[list[int]] = []
        terms_vals: list[list[float]] = []
        lower, upper, subjects = [], [], []
        for con in items:
            cols, vals, constant = _linear(con.body, index, con.name)
            terms_cols.append(cols)
            terms_vals.append(vals)
            lower.append(_bound(pyo.value(con.lower) if con.has_lb() else None, -INF) - constant)
            upper.append(_bound(pyo.value(con.upper) if con.has_ub() else None, INF) - constant)
            subjects.append(_subject(known, con.index(), name))
        rows = _ragged(terms_cols, terms_vals)
        span = built.model.add(name, rows, ">=", 0.0, subjects=subjects, description=description)
        # the sense above only shapes the call: the rows' bounds are the constraint's own
        row_lower, row_upper = built.model.row_lower, built.model.row_upper
        lo = np.concatenate(row_lower) if len(row_lower) > 1 else row_lower[0]
        hi = np.concatenate(row_upper) if len(row_upper) > 1 else row_upper[0]
        lo[span.start : span.stop] = lower
        hi[span.start : span.stop] = upper
        built.model.row_lower, built.model.row_upper = [lo], [hi]
        if not _per_quarter_hour(items, n):  # only those say when in the day they hold
            fam = built.model.families[name]
            fam.positions[-len(items) :] = [(0, 1)] * len(items)
        extended.added_rows[name] = span


def _per_quarter_hour(items: list[Any], n: int) -> bool:
    """Whether constraint data `items` are one per quarter hour, in order (their index, or
    its last part, is the quarter hour)."""
    if len(items) != n:
        return False
    for k, con in enumerate(items):
        index = con.index()
        last = index[-1] if isinstance(index, tuple) else index
        if last != k:
            return False
    return True


def _linear(expr: Any, index: dict[int, int], where: str) -> tuple[list[int], list[float], float]:
    """Columns, coefficients and constant of a linear Pyomo expression."""
    repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
    if not repn.is_linear():
        raise ExtensionError(f"{where}: only linear terms can be added (found a nonlinear one)")
    cols, vals = [], []
    for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        c = index.get(id(var))
        if c is None:
            raise ExtensionError(
                f"{where}: variable {var.name} is not part of the model (add it to the model "
                "the extension received, or one of its blocks)"
            )
        cols.append(c)
        vals.append(float(coef))
    return cols, vals, float(repn.constant)


def _ragged(cols: Sequence[list[int]], vals: Sequence[list[float]]) -> Expr:
    """Rows with different numbers of terms as one `Expr` (short rows padded with zeros,
    which `Expr.rows` drops)."""
    n = len(cols)
    width = max((len(c) for c in cols), default=0)
    terms = []
    for k in range(width):
        c = np.array([row[k] if k < len(row) else 0 for row in cols], dtype=np.int64)
        v = np.array([vals[i][k] if k < len(cols[i]) else 0.0 for i in range(n)], dtype=float)
        terms.append((c, v))
    if n == 1 and terms:  # a single row's terms are one list of columns
        terms = [(np.array(cols[0], dtype=np.int64), np.array(vals[0], dtype=float))]
    return Expr(terms, np.zeros(n))


def _subjects(built: BuiltModel) -> set[str]:
    """The ids a row's index may name as its subject: assets, sites and zones."""
    known = set(built.assets) | {s.id for s in built.portfolio.sites}
    return known | {s.bidding_zone for s in built.portfolio.sites}


def _subject(known: set[str], index: Any, name: str) -> str:
    """Whom a row concerns: an asset, site or zone (of `known`) its index names, else the
    index."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, str) and part in known:
            return part
    return name if index is None else f"{name}[{index}]"


def _new_costs(built: BuiltModel, view: ExtensionView, index: dict[int, int]) -> None:
    """The extension's costs into the objective and the plan's costs by kind."""
    from trading.optimiser.accounts import COST_KINDS

    taken = set(COST_KINDS) | set(built.costs) | set(built.revenue)
    for name, component in view.costs.items():
        if name in taken:
            raise ExtensionError(f"add_cost name={name!r}: the plan already reports {name!r}")
        cols, vals, constant = _linear(component.expr, index, component.name)
        row = Expr(
            [(np.array(cols, dtype=np.int64), np.array(vals, dtype=float))] if cols else [],
            np.array([constant]),
        )
        built.costs[name] = row
        built.model.maximise(-row)
        view.model.objective.expr = view.model.objective.expr - component


def load_extension(spec: str) -> Extension:
    """The extension named by `spec`: ``module:function`` (an importable module, dotted)
    or ``path/to/file.py:function``, as `vpp optimise --extend` and `vpp backtest
    --extend` take it. Raises `ExtensionError` naming what is wrong."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ExtensionError(
            f"--extend={spec!r}: expected module:function or path/to/file.py:function"
        )
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ExtensionError(f"--extend={spec!r}: no such file {where}")
        module_name = f"vpp_extension_{abs(hash(str(path.resolve())))}"
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise ExtensionError(f"--extend={spec!r}: {where} cannot be imported")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ExtensionError(f"--extend={spec!r}: cannot import {where} ({exc})") from None
    found = getattr(module, name, None)
    if not callable(found):
        raise ExtensionError(f"--extend={spec!r}: {where} has no function {name}")
    return found
