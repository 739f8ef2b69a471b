"""Write the notebooks of this folder from the cell sources below, without outputs.

    python notebooks/make_notebooks.py

Edit the cells here, not in Jupyter, and regenerate: the stored notebooks carry no outputs
and no execution counts (a test checks both, and that they match this script).

Each notebook's first code cell is tagged ``parameters``, as papermill expects: run one
with other files, zones, dates or output folder by

    papermill notebooks/01_quickstart_backtest.ipynb out.ipynb \
        -p PRICES ../shared/data/day_ahead_prices_hourly_2022_2023.csv \
        -p START 2023-06-01 -p END 2023-06-07 -p OUTPUT_DIR out/quickstart
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

from notebook_data import (
    PORTFOLIOS,
    imbalance_for,
    in_zones,
    notebook_days,
    output_folder,
    quiet_logs,
    with_parameters,
)
from regulatory import read_portfolio
from trading.backtest import BacktestConfig, load_price_inputs, run_backtest
from trading.backtest.html_report import write_html_report
from trading.backtest.report import write_figures

quiet_logs()
DAYS = notebook_days(default=30)  # VPP_NOTEBOOK_DAYS, where START and END are not given
"""


def parameters(defaults: str) -> nbformat.NotebookNode:
    """The cell tagged ``parameters`` (papermill injects a cell after it): every value
    None keeps the notebook's default, named in `defaults`."""
    source = f"""\
# Parameters (tagged "parameters" for papermill): None keeps the default.
# PRICES default: {defaults}
PRICES = None  # day-ahead prices, long CSV [EUR/MWh]
INTRADAY_PRICES = None  # intraday prices (long CSV); default: with the sample prices only
BALANCING_PRICES = None  # aFRR capacity prices (CSV); default: with the sample prices only
IMBALANCE_PRICES = None  # real imbalance prices (CSV); default: the named proxy
ZONES = None  # e.g. ["DE_LU"]: only the portfolio's sites in these bidding zones
START = None  # first delivery day, "YYYY-MM-DD"
END = None  # last delivery day, inclusive
MARKETS = None  # e.g. ["day_ahead"]; default: every market the price files hold
OUTPUT_DIR = None  # figures and files; default: a new folder per run (temporary directory)
"""
    return new_code_cell(source, metadata={"tags": ["parameters"]})


FILES = """\
files = with_parameters(
    {default},
    prices=PRICES,
    intraday=INTRADAY_PRICES,
    balancing=BALANCING_PRICES,
    start=START,
    end=END,
    markets=MARKETS,
)
out_dir = output_folder("{name}", OUTPUT_DIR)
print(f"prices: {{files.source}}, {{files.start}} to {{files.end}}, markets {{files.markets}}")
print(f"output: {{out_dir}}")"""

QUICKSTART = [
    new_markdown_cell(
        """\
# Quickstart: backtest a German battery with rooftop PV

One month of day-by-day backtesting: each day the live optimiser plans the next delivery
day on the prices it is given (here *perfect foresight*: the actual prices), the plan's bids
clear at the actual prices under the market rules, imbalances are settled, and the
battery's state of charge is carried into the next day.

**Data.** Real DE_LU 15-minute day-ahead prices from `../shared/data` (June 2026) when that
folder is present (or `VPP_SHARED_DATA` names it); otherwise the project's *generated*
sample prices (four days in June 2026, all markets), which show how it works but say
nothing about a strategy. `VPP_NOTEBOOK_DAYS` sets the window (default 30).

**Signs and units.** Positive MW = injection / sale; revenue and costs in EUR."""
    ),
    parameters("real DE_LU June 2026 (../shared/data), else the sample prices"),
    new_code_cell(SETUP + "from notebook_data import german_prices\n"),
    new_code_cell(
        FILES.format(default="german_prices(DAYS)", name="01_quickstart")
        + """
portfolio = in_zones(read_portfolio(PORTFOLIOS / "de_battery_pv.yaml"), ZONES)
pd.DataFrame(
    [
        {"asset": a.id, "kind": a.kind, "site": a.site, "MW min..max": a.injection_bounds_mw()}
        for a in portfolio.assets
    ]
)"""
    ),
    new_code_cell(
        """\
zones = {site.bidding_zone for site in portfolio.sites}
prices = load_price_inputs(files.day_ahead, files.intraday, files.balancing, zones, files.markets)
config = BacktestConfig(start=files.start, end=files.end, markets=files.markets)
result = run_backtest(portfolio, prices, config, imbalance=imbalance_for(IMBALANCE_PRICES, zones))
summary = result.summary()
summary"""
    ),
    new_markdown_cell(
        "One row per delivery day: revenue at the actual prices, imbalance cost (>= 0 is a "
        "cost), the plan's costs (wear, levies, lost support) and the net result, in EUR."
    ),
    new_code_cell(
        """\
result.days[["day", "revenue_eur", "imbalance_cost_eur", "costs_eur", "net_eur", "status"]]"""
    ),
    new_code_cell(
        """\
figures = write_figures(result, out_dir)  # the day figure shows the day of largest revenue
written = result.write(out_dir)
report = write_html_report(result, out_dir / "report.html", title="Quickstart backtest")
print(f"tables, figures and the one-file report {report.name} in {out_dir}")
for path in figures:
    display(Image(filename=str(path)))"""
    ),
    new_markdown_cell(
        """\
**Read with care.** `result.notes` lists what the run assumed: the forecast, the proxy
availability of PV, and whether imbalance prices were real or a proxy. Perfect foresight is
an upper bound; `BacktestConfig(forecast="naive")` plans on the same day a week earlier
(it needs a week of prices before `start`)."""
    ),
    new_code_cell("result.notes"),
]

COMPARISON = [
    new_markdown_cell(
        """\
# The same battery in Germany, the Netherlands and France

One 10 MW / 20 MWh battery, placed at three sites with identical ratings
(`portfolios/battery_de_nl_fr.yaml`). What differs is the bidding zone's prices and each
country's regulatory treatment: which balancing products it may offer, and which levies
and fees it pays on the energy it charges. The optimiser takes both into account.

**Data.** Real hourly day-ahead prices of DE_LU, NL and FR from June 2023
(`../shared/data`) when present, otherwise the generated sample prices.
`VPP_NOTEBOOK_DAYS` sets the window (default 30)."""
    ),
    parameters("real DE_LU, NL, FR June 2023 (../shared/data), else the sample"),
    new_code_cell(
        SETUP
        + """\
from notebook_data import de_nl_fr_prices
from trading.cli.portfolio import balancing_summary, charging_summary
"""
    ),
    new_code_cell(
        FILES.format(default="de_nl_fr_prices(DAYS)", name="02_market_comparison")
        + """
portfolio = in_zones(read_portfolio(PORTFOLIOS / "battery_de_nl_fr.yaml"), ZONES)"""
    ),
    new_markdown_cell(
        "The treatment each country's rule set gives the battery on the first day "
        "(as `vpp portfolio show --on` prints it)."
    ),
    new_code_cell(
        """\
treatments = pd.DataFrame(
    [
        {
            "asset": asset.id,
            "country": treatment.country,
            "zone": site.bidding_zone,
            "rule set": treatment.rule_set_version,
            "balancing MW": balancing_summary(treatment),
            "charging EUR/MWh": charging_summary(asset, treatment),
            "uncertain rules": len(treatment.uncertain),
        }
        for asset, site, treatment in portfolio.treatments(files.start)
    ]
)
treatments"""
    ),
    new_code_cell(
        """\
zones = {site.bidding_zone for site in portfolio.sites}
prices = load_price_inputs(files.day_ahead, files.intraday, files.balancing, zones, files.markets)
config = BacktestConfig(start=files.start, end=files.end, markets=files.markets)
result = run_backtest(portfolio, prices, config, imbalance=imbalance_for(IMBALANCE_PRICES, zones))
result.summary()"""
    ),
    new_markdown_cell(
        "Revenue by zone (cleared at the actual prices) and by battery (the plan's "
        "attribution, net of wear and charging levies), with full equivalent cycles."
    ),
    new_code_cell(
        """\
by_zone = result.revenue.groupby("zone")[["revenue_eur", "volume_mwh"]].sum()
by_asset = result.assets.groupby("asset")[["revenue_eur", "throughput_mwh", "cycles"]].sum()
display(by_zone.round(2))
by_asset.round(2)"""
    ),
    new_code_cell(
        """\
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 4))
ax.bar(by_asset.index, by_asset["revenue_eur"], color=["tab:blue", "tab:orange", "tab:green"])
ax.set_title(f"Same battery, three countries ({files.start} to {files.end})")
ax.set_xlabel("battery")
ax.set_ylabel("plan revenue net of wear and levies [EUR]")
ax.grid(True, axis="y", alpha=0.3)
plt.show()"""
    ),
    new_code_cell(
        """\
for path in write_figures(result, out_dir):
    display(Image(filename=str(path)))
write_html_report(result, out_dir / "report.html", title="One battery, three countries")"""
    ),
]

SWEEP = [
    new_markdown_cell(
        """\
# Battery duration: 1 h, 2 h or 4 h?

The same 10 MW German battery with 10, 20 and 40 MWh of energy, each a scenario of a
sweep (`trading.backtest.sweep`): the scenarios run in parallel on a local Dask cluster of
worker processes (give `address="tcp://scheduler:8786"` to use an existing cluster whose
workers see the same files). A scenario changes the portfolio file's assets through
explicit, validated `overrides`; a failed scenario is a row with its error.
`sweep_tables` returns each scenario's full tables beside the summary rows. The Dask
dashboard stays off unless `dashboard=":8787"` is given.

**In a script** (not a notebook) call the sweep under `if __name__ == "__main__":`: the
worker processes import the script again, and without the guard each starts a sweep of
its own ("Nanny failed to start").

**Data.** Real DE_LU 15-minute day-ahead prices from June 2026 when `../shared/data` is
present, else the generated sample prices. `VPP_NOTEBOOK_DAYS` sets the window."""
    ),
    parameters("real DE_LU June 2026 (../shared/data), else the sample prices"),
    new_code_cell(
        SETUP
        + """\
from notebook_data import german_prices
from trading.backtest.sweep import Scenario, sweep_tables
"""
    ),
    new_code_cell(
        FILES.format(default="german_prices(DAYS)", name="03_duration_sweep")
        + """
config = BacktestConfig(start=files.start, end=files.end, markets=files.markets)
POWER_MW = 10.0
scenarios = [
    Scenario(
        name=f"{hours} h",
        portfolio_path=PORTFOLIOS / "battery_de.yaml",
        config=config,
        day_ahead=files.day_ahead,
        intraday=files.intraday,
        balancing=files.balancing,
        imbalance=Path(IMBALANCE_PRICES) if IMBALANCE_PRICES else None,
        overrides={"bat-de": {"energy_mwh": POWER_MW * hours}},
    )
    for hours in (1, 2, 4)
]"""
    ),
    new_code_cell(
        """\
swept = sweep_tables(scenarios, n_workers=2, threads_per_worker=1)
table = swept.summary
assert (table["status"] == "ok").all(), table[["name", "error"]]
swept.table("days").to_csv(out_dir / "days_by_scenario.csv", index=False)
table.to_csv(out_dir / "summary.csv", index=False)
table"""
    ),
    new_markdown_cell(
        "Net result per scenario [EUR], and per MWh of installed energy [EUR/MWh]: more "
        "energy earns more, but each added MWh earns less."
    ),
    new_code_cell(
        """\
import matplotlib.pyplot as plt

energy = table["bat-de.energy_mwh"]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
left.bar(table["name"], table["net_eur"], color="tab:blue")
left.set_title("Net result over the window")
left.set_xlabel("battery duration")
left.set_ylabel("net result [EUR]")
right.bar(table["name"], table["net_eur"] / energy, color="tab:orange")
right.set_title("Net result per MWh of energy content")
right.set_xlabel("battery duration")
right.set_ylabel("net result / energy [EUR/MWh]")
for ax in (left, right):
    ax.grid(True, axis="y", alpha=0.3)
fig.savefig(out_dir / "duration.png")
plt.show()"""
    ),
]

CUSTOM = [
    new_markdown_cell(
        """\
# Custom constraints in Pyomo, and what they cost

Analysts state rules the engine does not know in Pyomo: `optimise(..., extend=fn)` and
`run_backtest(..., extend=fn)` hand `fn(model, view)` the optimiser's model as a Pyomo
`ConcreteModel`, with a view that names its parts by meaning (batteries, their state of
charge, sites, injections, quarter hours in local time). The engine solves the extended
model as it solves its own and returns a plan with validated bids
(`docs/optimiser.md`, "Extending a plan in Pyomo").

Two real-world rules on a German battery (10 MW / 20 MWh) with 8 MW of rooftop PV
behind one connection, one written here, one from `trading.optimiser.extension_examples`:

1. **Overnight reserve**: from 21:00 local to the end of the day the battery holds at
   least half its energy (a backup-supply contract for the night).
2. **Feed-in cap**: the site feeds in at most 70 % of its PV's rated power (5.6 MW), the
   German rule for PV without remote control (EEG 2017, section 9 (2)). The cap holds at
   the connection, so it limits the battery's discharge too.

**Cost against the unconstrained plan.** Every day is planned four times from the same
starting state (the portfolio file's): without a rule, with each, with both. A rule can
only lower the best a day can earn: the cost is measured on each plan's proven bound
(`plan.solver.bound_eur`, the best any plan could do, which the plan is within its gap
of). The submitted plans' objectives are shown beside it: they also differ by how close
the whole-step stage came to the bound on the day (its gap), which is not the rule's doing.

**Data.** Real DE_LU 15-minute day-ahead prices from June 2026 (`../shared/data`) when
present, otherwise the generated sample prices. `VPP_NOTEBOOK_DAYS` sets the window
(default 30). **Signs and units.** Positive MW = injection; EUR."""
    ),
    new_code_cell(
        SETUP
        + """\
import inspect
from datetime import timedelta

import pyomo.environ as pyo

from notebook_data import german_prices
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.extension_examples import feed_in_cap
from trading.optimiser.inputs import Horizon
from trading.optimiser.plan import optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
"""
    ),
    new_code_cell(
        """\
files = german_prices(DAYS)
portfolio = read_portfolio(PORTFOLIOS / "de_battery_pv.yaml")
print(f"prices: {files.source}, {files.start} to {files.end}, markets {files.markets}")
print(inspect.getsource(feed_in_cap))"""
    ),
    new_code_cell(
        """\
def overnight_reserve(model, view):
    # each battery holds half its energy [MWh] at the end of every quarter hour from
    # 20:45-21:00 local to the end of the day
    night = range(view.at_local("21:00") - 1, len(view.quarter_hours))
    model.overnight_reserve = pyo.Constraint(
        view.batteries,
        night,
        rule=lambda m, b, q: view.soc(b)[q] >= 0.5 * view.energy_mwh(b),
        doc="half the energy held overnight [MWh]",
    )


def both(model, view):
    overnight_reserve(model, view)
    feed_in_cap(model, view)


cases = {
    "unconstrained": None,
    "overnight reserve": overnight_reserve,
    "feed-in cap 70 %": feed_in_cap,
    "both": both,
}
zones = {site.bidding_zone for site in portfolio.sites}
prices = load_price_inputs(files.day_ahead, files.intraday, files.balancing, zones, files.markets)
options = OptimiserOptions(markets=files.markets, solver=SolverOptions(mip_gap=0.0005))
days = [files.start + timedelta(days=k) for k in range((files.end - files.start).days + 1)]
rows, first_day = [], {}
for day in days:
    profiles = proxy_profiles(portfolio, Horizon.of(day))
    for name, rule in cases.items():
        plan = optimise(portfolio, day, prices, profiles=profiles, options=options, extend=rule)
        rows.append(
            {
                "day": day,
                "case": name,
                "bound_eur": plan.solver.bound_eur,
                "objective_eur": plan.objective_eur,
                "gap": plan.solver.gap,
            }
        )
        if day == files.start:
            first_day[name] = plan
table = pd.DataFrame(rows)
bounds = table.pivot(index="day", columns="case", values="bound_eur")[list(cases)]
cost = bounds.rsub(bounds["unconstrained"], axis=0)
summary = pd.DataFrame(
    {
        "best_possible_eur": bounds.sum(),
        "cost_eur": cost.sum(),
        "cost_share": cost.sum() / bounds["unconstrained"].sum(),
        "days_with_a_cost": (cost > 1.0).sum(),
        "plans_objective_eur": table.groupby("case")["objective_eur"].sum()[list(cases)],
        "largest_gap": table.groupby("case")["gap"].max()[list(cases)],
    }
)
summary.round(3)"""
    ),
    new_markdown_cell(
        "The battery's state of charge on the first day, without and with the overnight "
        "reserve (dashed: half its energy; dotted: 21:00 local), and each rule's cost "
        "per day."
    ),
    new_code_cell(
        """\
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for name in ("unconstrained", "overnight reserve"):
    plan = first_day[name]
    ends = plan.schedule.injection_frame().index.tz_convert("Europe/Berlin")
    ends = ends + pd.Timedelta(minutes=15)
    left.step(ends, plan.states["bat-de"]["soc_mwh"], where="pre", label=name)
left.axhline(10.0, linestyle="--", color="grey")
left.axvline(ends[0].normalize() + pd.Timedelta(hours=21), linestyle=":", color="grey")
left.set_title(f"State of charge on {files.start}")
left.set_xlabel("local time (end of quarter hour)")
left.set_ylabel("state of charge [MWh]")
left.legend()
cost.drop(columns="unconstrained").plot(ax=right, marker="o")
right.set_title("What each rule costs per day")
right.set_ylabel("best possible lost against no rule [EUR]")
for ax in (left, right):
    ax.grid(True, alpha=0.3)
plt.show()"""
    ),
    new_markdown_cell(
        """\
The same rules over a backtest: `run_backtest(..., extend=both)` applies them to every
day, with the state of charge carried from day to day and the bids cleared at the actual
prices. (Carried states differ between the runs, so their difference is not the rules'
cost alone.)"""
    ),
    new_code_cell(
        """\
config = BacktestConfig(start=files.start, end=files.end, markets=files.markets)
runs = {name: run_backtest(portfolio, prices, config, extend=cases[name]) for name in ("unconstrained", "both")}
pd.DataFrame(
    {
        name: {k: result.summary()[k] for k in ("total_revenue_eur", "costs_eur", "net_eur")}
        for name, result in runs.items()
    }
)"""
    ),
    new_markdown_cell(
        """\
**Read with care.** The plans see the actual prices (perfect foresight), so these are the
rules' costs to an ideal trader. The feed-in cap costs more than clipped PV: at the
connection it also caps the battery's evening sales."""
    ),
]

NOTEBOOKS = {
    "01_quickstart_backtest.ipynb": QUICKSTART,
    "02_market_comparison.ipynb": COMPARISON,
    "03_duration_sweep.ipynb": SWEEP,
    "04_custom_constraints.ipynb": CUSTOM,
}


def build(cells: list) -> nbformat.NotebookNode:
    """A v4 notebook of `cells` for the python3 kernel, without outputs."""
    notebook = new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"  # stable ids: regenerating changes nothing
    return notebook


def write(folder: Path = HERE) -> list[Path]:
    """Write every notebook into `folder`; return their paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        path = folder / name
        nbformat.validate(notebook := build(cells))
        nbformat.write(notebook, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written)
