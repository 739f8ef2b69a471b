"""The schedule builder: cleared positions allocated to assets, issued as schedule versions.

`ScheduleBuilder.build` runs the optimiser on the portfolio with the market positions held:
each zone's net energy position per quarter hour (day-ahead, intraday auction and
continuous intraday together, from the `PositionBook`) is fixed through a hook on the
zone's position expression, and each zone's capacity per balancing product and quarter
hour through its assets' reserves (below). The optimiser then only decides which asset
delivers what, with every asset rule (SoC, ramps, minimum loads, grid connections) in
force.

On a change during the day (an asset lost, a correction traded) the past cannot change:
`history` (the schedule in force) holds every asset's injection up to `keep_until`; a lost
asset is held at 0 MW from the quarter hour it was lost; `free_from` (per zone) leaves the
net position free from that quarter hour on, which is how the virtual trader asks "what
would the fleet I still have do best from here" (the difference to the book is the
intraday correction it trades). A quarter hour between the loss and `free_from` keeps its
position where the remaining assets can still meet it; where they cannot, it is left free
and the shortfall is imbalance (named in `ScheduleVersion.notes`).

The capacity the book holds is the capacity the plan holds: each zone's reserves per
balancing product equal the band cleared in each quarter hour, so the plan keeps headroom
(power and energy) for exactly that band and none for capacity nobody bought (left free,
the optimiser reserved the fleet's whole prequalified power for capacity it would have
liked to sell). Where the book names the portfolio's reserve pools (`vpp simulate`'s
trader knows them), each pool's products are also held by the optimiser's commitments; a
clearing read back from the store names the bidding zone instead of the pool (a control
area, or the country), which the optimiser does not know: then the zone's reserves alone
hold the band. The schedule's
`capacity_sold_mw` is the book's cleared band per zone, product and quarter hour
(`PositionBook.capacity_sold_mw`): the pool's probing budget and the activation's clamp
read it there. A re-plan whose fleet cannot hold the band (the relaxed variant) holds no
reserves; the band sold is still the schedule's, and what the fleet cannot deliver of an
activation is imbalance.

`initial_soc_mwh` (battery -> MWh) starts every plan of the day from a state of charge
carried over from the previous day (the day's measured or simulated final state) instead
of the portfolio's `soc_initial_mwh`.

Each result is a `ScheduleVersion`: a `dispatch.Schedule` with a new schedule id, the plan
and the bids it serves, its version number and why it was issued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from dispatch.schedule import Schedule
from markets.registry import MarketRegistry
from regulatory import Portfolio
from regulatory.assets.base import BalancingProduct
from trading.engine.positions import PositionBook, quarter_of
from trading.optimiser.build import InputError, OptimiserOptions, commitment_key
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.hooks import ModelView
from trading.optimiser.inputs import PriceInputs, Profiles
from trading.optimiser.linear import Expr, total
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.solver import SolverOptions

HELD = "engine: position held"
CAPACITY = "engine: reserve = capacity cleared"
HISTORY = "engine: delivered history held"
LOST = "engine: lost asset at 0 MW"


@dataclass(frozen=True)
class ScheduleVersion:
    """One issued schedule: its number in the day, why, the plan and bids it serves."""

    version: int
    reason: str
    schedule: Schedule
    plan: Plan
    issued_at: datetime
    notes: tuple[str, ...] = ()

    @property
    def schedule_id(self) -> str:
        """The schedule's id (`dispatch.Schedule.schedule_id`)."""
        return str(self.schedule.schedule_id)

    def zone_mw(self, assets: Sequence[str]) -> np.ndarray:
        """The schedule's summed injection of `assets` per quarter hour [MW]."""
        total = np.zeros(len(self.schedule.index))
        for asset in assets:
            if asset in self.schedule.injection_mw:
                total += np.asarray(self.schedule.injection_mw[asset], dtype=float)
        return total

    def summary(self) -> dict[str, object]:
        """What the report and the store show of a version."""
        return {
            "version": self.version,
            "schedule_id": self.schedule_id,
            "plan_id": self.schedule.plan_id,
            "reason": self.reason,
            "issued_at": self.issued_at.isoformat().replace("+00:00", "Z"),
            "bids": len(self.schedule.bid_ids),
            "notes": list(self.notes),
        }


def rows_of(expr: Expr, index: np.ndarray) -> Expr:
    """The rows `index` of `expr` (a sub-expression)."""
    return Expr([(c[index], v[index]) for c, v in expr.terms], expr.const[index])


@dataclass
class ScheduleBuilder:
    """Allocates held positions to assets (see the module docstring)."""

    portfolio: Portfolio
    day: date
    prices: PriceInputs
    profiles: Profiles
    registry: MarketRegistry
    markets: tuple[str, ...] = ("day_ahead", "afrr_capacity")
    time_limit_s: float = 30.0
    versions: list[ScheduleVersion] = field(default_factory=list)
    initial_soc_mwh: dict[str, float] = field(default_factory=dict)
    """Battery -> state of charge the day starts from [MWh] (absent: the portfolio's)."""

    @property
    def zone_assets(self) -> dict[str, list[str]]:
        """Asset ids per bidding zone."""
        zones: dict[str, list[str]] = {}
        for asset in self.portfolio.assets:
            zones.setdefault(self.portfolio.site_of(asset).bidding_zone, []).append(asset.id)
        return zones

    def optimise_held(
        self,
        book: PositionBook,
        *,
        history: Schedule | None = None,
        keep_until: datetime | None = None,
        lost: Mapping[str, datetime] | None = None,
        free_from: Mapping[str, int] | None = None,
        hold_capacity: bool = True,
    ) -> tuple[Plan, list[str]]:
        """A plan with `book`'s positions held (see the module docstring), and notes.

        `free_from`: zone -> first quarter hour whose net position is free (absent: all
        held). Raises `InfeasibleError` only if even the relaxed variant has no plan."""
        notes: list[str] = []
        try:
            return self._optimise(
                book, history, keep_until, lost, free_from, hold_capacity, {}
            ), notes
        except InfeasibleError as exc:
            if not lost:
                raise
            # the remaining assets cannot meet some held quarter hours: free those between
            # the loss and the free part, and say so
            first_lost = min(quarter_of(book.periods, at) for at in lost.values())
            # without a free part, an hour past the last held instant cannot be traded
            held_until = first_lost if keep_until is None else quarter_of(book.periods, keep_until)
            last = held_until + 5
            relaxed = {
                zone: (first_lost, (free_from or {}).get(zone, last)) for zone in self.zone_assets
            }
            notes.append(
                "the remaining assets cannot meet every held position after the loss "
                f"({exc.status}); positions from quarter hour {first_lost} up to the first "
                "one still traded were left free: their shortfall is imbalance"
            )
            plan = self._optimise(book, history, keep_until, lost, free_from, False, relaxed)
            return plan, notes

    def _optimise(
        self,
        book: PositionBook,
        history: Schedule | None,
        keep_until: datetime | None,
        lost: Mapping[str, datetime] | None,
        free_from: Mapping[str, int] | None,
        hold_capacity: bool,
        unheld: Mapping[str, tuple[int, int]],
    ) -> Plan:
        periods = book.periods
        n = len(periods)
        keep_q = 0 if keep_until is None else max(0, quarter_of(periods, keep_until))
        zones = self.zone_assets

        def hook(view: ModelView) -> None:
            for zone in zones:
                net = book.net_mw(zone)
                free = (free_from or {}).get(zone, n)
                held = np.arange(n) < free
                if zone in unheld:
                    first, last = unheld[zone]
                    held &= (np.arange(n) < first) | (np.arange(n) >= last)
                held[:keep_q] = history is None  # history fixes the past through the assets
                index = np.flatnonzero(held)
                if len(index):
                    expr = rows_of(view.position("day_ahead", zone), index)
                    view.add(HELD, expr, "==", np.round(net[index], 6), subject=zone)
            if history is not None and keep_q > 0:
                past = np.arange(keep_q)
                for asset in self.portfolio.assets:
                    series = history.injection_mw.get(asset.id)
                    if series is None:
                        continue
                    values = np.asarray(series, dtype=float)[:keep_q]
                    if asset.id in (lost or {}):
                        lost_q = quarter_of(periods, lost[asset.id])  # type: ignore[index]
                        values = values[: max(0, min(keep_q, lost_q))]
                        past = np.arange(len(values))
                    else:
                        past = np.arange(keep_q)
                    if len(past):
                        view.add(
                            HISTORY,
                            rows_of(view.injection(asset.id), past),
                            "==",
                            values,
                            subject=asset.id,
                        )
            for asset_id, at in (lost or {}).items():
                first = max(0, quarter_of(periods, at))
                after = np.arange(first, n)
                if len(after):
                    view.add(
                        LOST, rows_of(view.injection(asset_id), after), "==", 0.0, subject=asset_id
                    )

        sold = book.capacity_sold_mw()

        def hold_bands(view: ModelView) -> None:
            """Each zone's reserves per product equal to the capacity cleared [MW]."""
            for zone, assets in zones.items():
                for product in BalancingProduct:
                    reserves = [view.reserve(a, product.value) for a in assets]
                    reserves = [r for r in reserves if r.terms]
                    if not reserves:
                        continue
                    band = sold.get(zone, {}).get(product, np.zeros(n))
                    view.add(CAPACITY, total(reserves), "==", np.round(band, 6), subject=zone)

        def hooks(view: ModelView) -> None:
            hook(view)
            hold_bands(view)

        markets = (
            self.markets
            if hold_capacity
            else tuple(m for m in self.markets if m != "afrr_capacity")
        )
        commitments: dict[str, float] = {}
        if hold_capacity and "afrr_capacity" in self.markets:
            for entry in book.entries:
                if not entry.is_energy:
                    key = commitment_key(entry.product_id, entry.pool)
                    commitments[key] = commitments.get(key, 0.0) + entry.mw
        batteries = {a.id for a in self.portfolio.assets if a.kind == "battery"}
        options = OptimiserOptions(
            markets=markets,
            commitments=commitments,
            initial_soc_mwh={a: v for a, v in self.initial_soc_mwh.items() if a in batteries},
            # a lost battery cannot reach its end-of-day target: it has none
            soc_value_eur_per_mwh={a: 0.0 for a in (lost or {}) if a in batteries},
            solver=SolverOptions(time_limit_s=self.time_limit_s),
        )
        try:
            plan = optimise(
                self.portfolio,
                self.day,
                self.prices,
                profiles=self.profiles,
                options=options,
                hook=hooks,
                registry=self.registry,
            )
        except InputError as exc:
            if not commitments or not str(exc).startswith("commitment "):
                raise
            # the book names a pool the optimiser does not know (a clearing read back
            # names the bidding zone, not the portfolio's pool): the zone's reserves hold it
            plan = optimise(
                self.portfolio,
                self.day,
                self.prices,
                profiles=self.profiles,
                options=options.model_copy(update={"commitments": {}}),
                hook=hooks,
                registry=self.registry,
            )
        capacity = {
            zone: {product: tuple(float(v) for v in band) for product, band in products.items()}
            for zone, products in sold.items()
        }
        schedule = plan.schedule.model_copy(update={"capacity_sold_mw": capacity})
        return plan.model_copy(update={"schedule": schedule})

    def issue(
        self,
        plan: Plan,
        reason: str,
        bid_ids: Sequence[str],
        at: datetime,
        notes: Sequence[str] = (),
    ) -> ScheduleVersion:
        """Issue `plan`'s schedule as the next version, serving `bid_ids` (store ids)."""
        number = len(self.versions) + 1
        base = plan.schedule.model_copy(update={"schedule_id": None, "bid_ids": tuple(bid_ids)})
        schedule = base.model_copy(
            update={
                "schedule_id": f"sch-{plan.portfolio_id}-{self.day}-v{number}",
                "plan_id": f"{plan.plan_id}-v{number}",
                "source": f"trading.engine: {reason}",
            }
        )
        version = ScheduleVersion(number, reason, schedule, plan, at, tuple(notes))
        self.versions.append(version)
        return version
