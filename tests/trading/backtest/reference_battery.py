"""An independent perfect-foresight optimum of one battery, to hold backtests against.

Written directly against SciPy's HiGHS interface (`scipy.optimize.milp`), sharing no
code with `trading.optimiser`: one model of charge and discharge power [MW, >= 0] and
state of charge [MWh] per period, with the same battery model as the engine's (one-way
efficiencies, SoC bounds, wear per MWh of throughput, charged plus discharged, a cap on
discharged energy per day from the warranty's cycles, no charging and discharging at
once) and the same end-of-horizon treatments: energy stored at the end valued at a price
per MWh against the start, or a state of charge to reach.

Positions are continuous (no market volume steps), so its optimum is an upper bound of
what the engine can plan on the same prices.
Units: MW, MWh, EUR/MWh, h; revenue positive when earned, wear positive when paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix


@dataclass(frozen=True)
class ReferenceBattery:
    """One battery [MW, MWh, EUR/MWh]; `max_discharge_mwh_per_day` None: no cycle cap."""

    power_charge_mw: float
    power_discharge_mw: float
    soc_min_mwh: float
    soc_max_mwh: float
    soc_initial_mwh: float
    efficiency_charge: float
    efficiency_discharge: float
    wear_eur_per_mwh: float
    max_discharge_mwh_per_day: float | None = None


@dataclass(frozen=True)
class ReferenceOptimum:
    """The optimum: market revenue, wear, their difference (net) and the paths."""

    revenue_eur: float
    """Energy sold minus energy bought at the given prices [EUR]."""
    wear_eur: float
    """Wear on charged plus discharged energy [EUR, positive = paid]."""
    stored_value_eur: float
    """End-of-horizon value: price per MWh x (end SoC - start SoC) [EUR]; 0 without one."""
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc_mwh: np.ndarray
    """State of charge at the end of each period [MWh]."""
    mip_gap: float = 0.0
    """The relative gap HiGHS proved (0 but where a time limit stopped it)."""

    @property
    def net_eur(self) -> float:
        """Revenue minus wear: what a backtest reports as net [EUR]."""
        return self.revenue_eur - self.wear_eur

    @property
    def objective_eur(self) -> float:
        """What was maximised: net plus the end-of-horizon value [EUR]."""
        return self.net_eur + self.stored_value_eur


def optimum(
    prices_eur_mwh: Sequence[float] | np.ndarray,
    battery: ReferenceBattery,
    *,
    dt_h: float = 0.25,
    day_of_period: Sequence[object] | None = None,
    end_value_eur_per_mwh: float | None = None,
    end_target_mwh: float | None = None,
    product_of_period: Sequence[object] | None = None,
    volume_step_mw: float | None = None,
    time_limit_s: float | None = None,
) -> ReferenceOptimum:
    """Maximise revenue - wear (+ the end value) over the periods of `prices_eur_mwh`.

    `day_of_period` labels each period with its (local) day, for the cycle cap.
    Without `end_value_eur_per_mwh` and `end_target_mwh`, the end SoC must reach the start.
    `product_of_period` labels each period with the market product it is sold in (its
    hour where day-ahead trades hours): the net injection is held over a product, as a
    position is delivered at constant power; None: each period on its own.
    `volume_step_mw`: positions in whole steps of the market's volume step (with
    `product_of_period`; one integer per product), else continuous.
    """
    p = np.asarray(prices_eur_mwh, dtype=float)
    n = len(p)
    b = battery
    # Columns: charge 0..n-1, discharge n..2n-1, soc 2n..3n-1.
    c_idx, d_idx, s_idx = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 3 * n)
    gain = np.zeros(3 * n)
    gain[c_idx] = -p * dt_h - b.wear_eur_per_mwh * dt_h
    gain[d_idx] = p * dt_h - b.wear_eur_per_mwh * dt_h
    if end_value_eur_per_mwh is not None:
        gain[s_idx[-1]] += end_value_eur_per_mwh
    # Energy balance: soc_t - soc_{t-1} - eta_c dt c_t + dt / eta_d d_t = 0 (soc_{-1} = start).
    rows = np.concatenate([np.arange(n), np.arange(1, n), np.arange(n), np.arange(n)])
    cols = np.concatenate([s_idx, s_idx[:-1], c_idx, d_idx])
    vals = np.concatenate(
        [
            np.ones(n),
            -np.ones(n - 1),
            np.full(n, -b.efficiency_charge * dt_h),
            np.full(n, dt_h / b.efficiency_discharge),
        ]
    )
    # Where a price is negative, burning energy by charging and discharging at once could
    # pay in a relaxation; a battery cannot: a binary u_k per such period chooses one
    # (charge_t <= P_c u_k, discharge_t <= P_d (1 - u_k)). Elsewhere it never pays.
    negative = np.flatnonzero(p < 0)
    m = len(negative)
    firsts = np.zeros(0, dtype=np.int64)
    if volume_step_mw is not None:
        if product_of_period is None:
            raise ValueError("volume_step_mw needs product_of_period")
        labels = list(product_of_period)
        firsts = np.array([t for t in range(n) if t == 0 or labels[t] != labels[t - 1]])
    k = len(firsts)
    width = 3 * n + m + k
    u_idx = np.arange(3 * n, 3 * n + m)
    k_idx = np.arange(3 * n + m, width)
    held = 0
    if product_of_period is not None:
        labels = list(product_of_period)
        same = np.flatnonzero([labels[t] == labels[t - 1] for t in range(1, n)]) + 1
        held = len(same)
        # (discharge - charge)_t - (discharge - charge)_{t-1} = 0 inside a product
        inside = n + np.arange(held)
        rows = np.concatenate([rows, inside, inside, inside, inside])
        cols = np.concatenate([cols, d_idx[same], c_idx[same], d_idx[same - 1], c_idx[same - 1]])
        vals = np.concatenate([vals, np.ones(held), -np.ones(held), -np.ones(held), np.ones(held)])
    if k:
        # discharge - charge = step x whole number, on each product's first period
        step = n + held + np.arange(k)
        rows = np.concatenate([rows, step, step, step])
        cols = np.concatenate([cols, d_idx[firsts], c_idx[firsts], k_idx])
        vals = np.concatenate([vals, np.ones(k), -np.ones(k), np.full(k, -volume_step_mw)])
    a_eq = csr_matrix(coo_matrix((vals, (rows, cols)), shape=(n + held + k, width)))
    b_eq = np.zeros(n + held + k)
    b_eq[0] = b.soc_initial_mwh
    constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
    if b.max_discharge_mwh_per_day is not None:
        labels = list(day_of_period) if day_of_period is not None else [0] * n
        number = {label: k for k, label in enumerate(dict.fromkeys(labels))}
        day_row = np.array([number[label] for label in labels])
        a_ub = coo_matrix((np.full(n, dt_h), (day_row, d_idx)), shape=(len(number), width))
        constraints.append(
            LinearConstraint(
                csr_matrix(a_ub), -np.inf, np.full(len(number), b.max_discharge_mwh_per_day)
            )
        )
    if m:
        pick = np.arange(m)
        one_way = coo_matrix(
            (
                np.concatenate([np.ones(m), np.full(m, -b.power_charge_mw)]),
                (np.concatenate([pick, pick]), np.concatenate([c_idx[negative], u_idx])),
            ),
            shape=(m, width),
        )
        other_way = coo_matrix(
            (
                np.concatenate([np.ones(m), np.full(m, b.power_discharge_mw)]),
                (np.concatenate([pick, pick]), np.concatenate([d_idx[negative], u_idx])),
            ),
            shape=(m, width),
        )
        constraints.append(LinearConstraint(csr_matrix(one_way), -np.inf, 0.0))
        constraints.append(LinearConstraint(csr_matrix(other_way), -np.inf, b.power_discharge_mw))
    low = np.zeros(width)
    high = np.concatenate(
        [
            np.full(n, b.power_charge_mw),
            np.full(n, b.power_discharge_mw),
            np.full(n, b.soc_max_mwh),
            np.ones(m),
            np.full(k, b.power_discharge_mw / (volume_step_mw or 1.0)),
        ]
    )
    low[s_idx] = b.soc_min_mwh
    low[k_idx] = -b.power_charge_mw / (volume_step_mw or 1.0)
    if end_value_eur_per_mwh is None:
        low[s_idx[-1]] = max(
            b.soc_min_mwh, b.soc_initial_mwh if end_target_mwh is None else end_target_mwh
        )
    elif end_target_mwh is not None:
        low[s_idx[-1]] = max(b.soc_min_mwh, end_target_mwh)
    integrality = np.zeros(width)
    integrality[u_idx] = 1
    integrality[k_idx] = 1
    options: dict[str, float] = {"mip_rel_gap": 1e-7}
    if time_limit_s is not None:
        options["time_limit"] = time_limit_s
    solved = milp(
        -np.concatenate([gain, np.zeros(m + k)]),
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(low, high),
        options=options,
    )
    if solved.x is None:
        raise RuntimeError(f"reference model not solved: {solved.message}")
    x = solved.x
    charge, discharge, soc = x[c_idx], x[d_idx], x[s_idx]
    value = 0.0
    if end_value_eur_per_mwh is not None:
        value = end_value_eur_per_mwh * (soc[-1] - b.soc_initial_mwh)
    return ReferenceOptimum(
        revenue_eur=float((p * (discharge - charge)).sum() * dt_h),
        wear_eur=float(b.wear_eur_per_mwh * (charge + discharge).sum() * dt_h),
        stored_value_eur=float(value),
        charge_mw=charge,
        discharge_mw=discharge,
        soc_mwh=soc,
        mip_gap=float(getattr(solved, "mip_gap", 0.0) or 0.0),
    )
