"""What moving each asset away from its planned injection costs the portfolio [EUR/MWh].

The pool's total is fixed by the schedule and the TSO's activation, so what the market pays
for it does not depend on which asset delivers; what does is each asset's own cost of
moving: the `merit_order` allocation (`dispatch.allocation`) gives a deviation from plan
(aFRR activation, PI correction, a lost asset's share) to the assets that are cheapest to
move in that direction first.

Signs: `up` is the cost of 1 MWh MORE injection (or less consumption) than planned, `down`
of 1 MWh LESS injection (or more consumption); a negative cost is a saving (a CHP turned
down burns less fuel). Per kind, from the portfolio's own fields:

- battery: wear, ``degradation_cost_eur_per_mwh`` per MWh of throughput, in both directions
  (a deviation from a held or idle plan adds throughput; where the plan discharges and the
  move is down it would save some: not modelled, the conservative side); with a market
  value given, the round-trip loss of putting the energy back (``1/(eta_c*eta_d) - 1`` of
  it at that value) is added too;
- CHP: ``fuel_cost_eur_per_mwh`` up, minus its support per MWh produced; down the opposite;
- PV and wind (curtailable): down loses the support premium per MWh not injected, up (out
  of a curtailment) earns it back; merchant plants (no support) cost nothing to move;
- flexible load: ``shift_cost_eur_per_mwh`` in both directions;
- heat pump and EV fleet: no cost field exists (their energy is shifted within thermal or
  vehicle storage): 0.

Support per MWh: the contract's reference value less the market value (a sliding market
premium, as `trading.optimiser.assets.premium_level` reckons it), at least 0; without a
market value the reference value itself (the premium's upper bound, which still ranks
supported plants against each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from regulatory.assets import CHP, PV, Battery, FlexibleLoad, Wind
from regulatory.assets.base import AssetBase, SupportContract
from regulatory.portfolio import Portfolio


@dataclass(frozen=True)
class MoveCost:
    """Cost of moving one asset from its plan [EUR/MWh]; negative = a saving.

    `up_eur_per_mwh`: per MWh more injection than planned; `down_eur_per_mwh`: per MWh
    less injection than planned."""

    up_eur_per_mwh: float = 0.0
    down_eur_per_mwh: float = 0.0


def _support(contract: SupportContract | None, market_value: float | None) -> float:
    """Support earned per MWh injected [EUR/MWh, >= 0]."""
    if contract is None:
        return 0.0
    reference = contract.reference_value_eur_per_mwh
    return max(0.0, reference if market_value is None else reference - market_value)


def move_cost(asset: AssetBase, market_value_eur_per_mwh: float | None = None) -> MoveCost:
    """The cost of moving `asset` from its plan (see the module docstring);
    `market_value_eur_per_mwh` [EUR/MWh]: the day's market value of energy, if known."""
    value = market_value_eur_per_mwh
    if isinstance(asset, Battery):
        wear = asset.degradation_cost_eur_per_mwh
        if value is not None:
            loss = 1.0 / (asset.efficiency_charge * asset.efficiency_discharge) - 1.0
            wear += loss * value  # energy lost on the way back, bought at the market value
        return MoveCost(wear, wear)
    if isinstance(asset, CHP):
        margin = asset.fuel_cost_eur_per_mwh - _support(asset.support, value)
        return MoveCost(margin, -margin)
    if isinstance(asset, PV | Wind):
        premium = _support(asset.support, value)
        return MoveCost(-premium, premium)
    if isinstance(asset, FlexibleLoad):
        return MoveCost(asset.shift_cost_eur_per_mwh, asset.shift_cost_eur_per_mwh)
    return MoveCost()


def move_costs(
    portfolio: Portfolio, market_value_eur_per_mwh: float | None = None
) -> Mapping[str, MoveCost]:
    """Every asset's `move_cost`, by asset id."""
    return {a.id: move_cost(a, market_value_eur_per_mwh) for a in portfolio.assets}
