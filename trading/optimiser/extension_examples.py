"""Extensions analysts ask for, ready to use and to copy (`trading.optimiser.extension`).

    vpp optimise ... --extend trading.optimiser.extension_examples:evening_reserve
    vpp backtest ... --extend trading.optimiser.extension_examples:feed_in_cap

- `evening_reserve`: every battery holds at least half its energy at 18:00 local, e.g.
  a contract that keeps energy back for the evening peak or for backup supply.
- `feed_in_cap`: each site with PV feeds in at most 70 % of its PV's rated power, the
  German rule for PV plants without remote control (EEG 2017, section 9 (2)); the site's
  battery may store what the cap holds back.
- `co2_surcharge`: a CO2 price on CHP output beyond what the fuel cost holds, itemised
  as ``co2_surcharge`` in the plan's costs by kind.

Each function receives the exported Pyomo model and its `ExtensionView`; units MW, MWh,
EUR; positive power = injection.
"""

from __future__ import annotations

import pyomo.environ as pyo

from trading.optimiser.extension import ExtensionView

RESERVE_SHARE = 0.5
"""`evening_reserve`: share of a battery's energy held at 18:00 local."""
RESERVE_AT = "18:00"
"""`evening_reserve`: the local time at which the energy must be there."""
FEED_IN_SHARE = 0.7
"""`feed_in_cap`: a PV site's feed-in limit as a share of its PV's rated power."""
CO2_EUR_PER_T = 30.0
"""`co2_surcharge`: CO2 price on top of what the fuel cost includes [EUR/t]."""
CO2_T_PER_MWH = 0.4
"""`co2_surcharge`: CO2 emitted per MWh of electricity a gas CHP generates [t/MWh]."""


def evening_reserve(model: pyo.ConcreteModel, view: ExtensionView) -> None:
    """Each battery's state of charge at `RESERVE_AT` local is at least `RESERVE_SHARE` of
    its energy [MWh] (constraint ``evening_reserve``, one row per battery)."""
    q = view.at_local(RESERVE_AT) - 1  # the quarter hour that ends then

    def rule(_m: pyo.ConcreteModel, battery: str) -> object:
        return view.soc(battery)[q] >= RESERVE_SHARE * view.energy_mwh(battery)

    model.evening_reserve = pyo.Constraint(
        view.batteries, rule=rule, doc=f"battery holds {RESERVE_SHARE:.0%} at {RESERVE_AT} [MWh]"
    )


def feed_in_cap(model: pyo.ConcreteModel, view: ExtensionView) -> None:
    """Each site with PV injects at most `FEED_IN_SHARE` of its PV's rated power in every
    quarter hour [MW] (constraint ``feed_in_cap``, indexed by site and quarter hour)."""
    capped = {
        site: FEED_IN_SHARE
        * sum(view.asset(a).rated_power_mw for a in view.assets_at(site) if view.kind(a) == "pv")
        for site in view.sites
        if any(view.kind(a) == "pv" for a in view.assets_at(site))
    }
    injection = {site: [view.injection(a) for a in view.assets_at(site)] for site in capped}

    def rule(_m: pyo.ConcreteModel, site: str, q: int) -> object:
        return sum(rows[q] for rows in injection[site]) <= capped[site]

    model.feed_in_cap = pyo.Constraint(
        list(capped), list(view.quarter_hours), rule=rule, doc="site feed-in cap [MW]"
    )


def co2_surcharge(model: pyo.ConcreteModel, view: ExtensionView) -> None:
    """`CO2_EUR_PER_T` on `CO2_T_PER_MWH` of every MWh the CHPs generate [EUR]."""
    chps = view.assets_of("chp")
    energy = sum(out * 0.25 for chp in chps for out in view.variable(chp, "output"))
    view.add_cost("co2_surcharge", CO2_EUR_PER_T * CO2_T_PER_MWH * energy)
