"""Scenario sweeps: many backtests in parallel on Dask distributed, one table row each.

A `Scenario` names files, not objects (a portfolio file, price files) plus a
`BacktestConfig` and explicit `overrides`, so it pickles small and a worker on another
machine can run it when it sees the same paths. `sweep` runs `run_scenario` for each
scenario on a cluster: a `distributed.LocalCluster` of worker **processes** that it starts
and closes (the optimiser holds the GIL, so threads would not run in parallel), or an
existing scheduler at `address`. Both take the same code path.

Overrides change asset fields of the loaded portfolio before the backtest, by asset id::

    {"bat-de-essen-01": {"energy_mwh": 40.0, "soc_max_mwh": 38.0}}

Rules (checked before anything runs, every problem named):

- each key is the id of an asset of the portfolio;
- each field is a field of that asset's kind (`regulatory.assets`), other than ``id``,
  ``kind`` and ``site`` (moving or re-typing an asset is a different portfolio);
- the changed asset is validated again as a whole (so ``energy_mwh`` below ``soc_max_mwh``
  is refused), and so is the portfolio (ratings inside the site's grid connection).

A scenario that fails for any reason (bad file, bad override, solver error, lost worker)
gives a row with ``status = "failed"`` and its ``error``; a row is never lost.

`sweep` returns one summary row per scenario; `sweep_tables` returns the same rows and
every table of each scenario's `BacktestResult` (`SweepResult.table("days")` stacks one
table over the scenarios with a ``scenario`` column).

**Scripts need a ``__main__`` guard.** The local cluster starts its workers as new
Python processes that import the calling script again (the ``spawn`` start method); a
script that calls `sweep` at import time makes every worker start a sweep of its own and
fails with "Nanny failed to start". Put the call under the guard (notebooks need none)::

    from trading.backtest.sweep import Scenario, sweep

    def main() -> None:
        print(sweep([...]))

    if __name__ == "__main__":
        main()

**The dashboard is off unless asked for** (``dashboard=":8787"`` turns it on at that
address): without it the scheduler's plain HTTP endpoints (health, metrics) take a free
loopback port, so a sweep neither needs port 8787 nor warns that it is taken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import structlog
from pydantic import ValidationError

from regulatory import Portfolio, read_portfolio

if TYPE_CHECKING:
    from trading.backtest import BacktestConfig
    from trading.backtest.result import BacktestResult

PROTECTED_FIELDS = frozenset({"id", "kind", "site"})
"""Asset fields an override may not change."""

FIGURES = (
    "days",
    "total_revenue_eur",
    "imbalance_cost_eur",
    "costs_eur",
    "net_eur",
    "solver_time_s",
)
"""Summary figures copied into each row (EUR; imbalance cost >= 0 is a cost; seconds)."""

Overrides = Mapping[str, Mapping[str, Any]]
"""Asset id -> {field name: new value}."""


class OverrideError(ValueError):
    """An override names an unknown asset or field, or makes an asset or portfolio invalid."""


@dataclass(frozen=True)
class Scenario:
    """One backtest of a sweep: a portfolio file, price files, a config and overrides.

    Price files use the long CSV layouts of ``../shared/data`` and ``data/sample_prices``;
    None leaves a market's prices out (a market in `config.markets` then fails the run).
    Paths must be readable where the worker runs.
    """

    name: str
    portfolio_path: Path
    config: BacktestConfig
    day_ahead: Path | None = None
    intraday: Path | None = None
    balancing: Path | None = None
    overrides: Overrides = field(default_factory=dict, hash=False)
    imbalance: Path | None = None
    """Imbalance prices (`trading.backtest.read_imbalance_prices`), read for each zone of
    the portfolio; None: the named proxy (`trading.backtest.imbalance`)."""


def apply_overrides(portfolio: Portfolio, overrides: Overrides) -> Portfolio:
    """A copy of `portfolio` with asset fields changed by asset id (see the module rules).

    Raises `OverrideError` listing every unknown asset id, unknown or protected field, and
    the validation problems of the changed assets and portfolio.
    """
    if not overrides:
        return portfolio
    known = {asset.id: asset for asset in portfolio.assets}
    problems: list[str] = []
    for asset_id, changes in overrides.items():
        asset = known.get(asset_id)
        if asset is None:
            problems.append(
                f"override: unknown asset id {asset_id!r} (portfolio {portfolio.id} has "
                f"{', '.join(sorted(known))})"
            )
            continue
        if not isinstance(changes, Mapping):
            problems.append(f"override of {asset_id!r}: expected {{field: value}}, got {changes!r}")
            continue
        fields = type(asset).model_fields
        for name in changes:
            if name in PROTECTED_FIELDS:
                problems.append(f"override of {asset_id!r}: field {name!r} may not be changed")
            elif name not in fields:
                problems.append(
                    f"override of {asset_id!r}: unknown field {name!r} for a {asset.kind} "
                    f"(fields: {', '.join(sorted(set(fields) - PROTECTED_FIELDS))})"
                )
    if problems:
        raise OverrideError("; ".join(problems))

    assets = []
    for asset in portfolio.assets:
        changes = overrides.get(asset.id)
        if not changes:
            assets.append(asset)
            continue
        # model_copy does not validate: validate the changed asset as a whole again.
        changed = asset.model_copy(update=dict(changes))
        try:
            assets.append(type(asset).model_validate(changed.model_dump()))
        except ValidationError as exc:
            problems.append(f"override of {asset.id!r} makes it invalid: {_errors(exc)}")
    if problems:
        raise OverrideError("; ".join(problems))
    try:
        return Portfolio.model_validate(
            {**portfolio.model_dump(by_alias=True, exclude={"assets"}), "assets": assets}
        )
    except ValidationError as exc:
        raise OverrideError(
            f"overrides make portfolio {portfolio.id} invalid: {_errors(exc)}"
        ) from exc


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


def load_scenario_portfolio(scenario: Scenario) -> Portfolio:
    """The scenario's portfolio file (`regulatory.read_portfolio`) with its overrides applied."""
    return apply_overrides(read_portfolio(scenario.portfolio_path), scenario.overrides)


def backtest_scenario(scenario: Scenario) -> BacktestResult:
    """Run one scenario's backtest (raises on a bad file, override or day)."""
    from trading.backtest import (
        ImbalancePrices,
        load_price_inputs,
        read_imbalance_prices,
        run_backtest,
    )

    portfolio = load_scenario_portfolio(scenario)
    zones = {site.bidding_zone for site in portfolio.sites}
    prices = load_price_inputs(scenario.day_ahead, scenario.intraday, scenario.balancing, zones)
    imbalance = ImbalancePrices()
    if scenario.imbalance is not None:
        imbalance = ImbalancePrices(
            real={zone: read_imbalance_prices(scenario.imbalance, zone) for zone in zones}
        )
    return run_backtest(portfolio, prices, scenario.config, imbalance=imbalance)


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    """Run one scenario's backtest; return its row (see `sweep`). Never raises."""
    return run_scenario_with_tables(scenario, tables=False)[0]


def run_scenario_with_tables(
    scenario: Scenario, tables: bool = True
) -> tuple[dict[str, Any], BacktestResult | None]:
    """Run one scenario; return its row and (with `tables`) its result. Never raises."""
    started = time.perf_counter()
    try:
        result = backtest_scenario(scenario)
    except Exception as exc:  # a failed scenario is a row, not a lost sweep
        return failed_row(scenario, exc, wall_s=time.perf_counter() - started), None
    row = result_row(scenario, result, wall_s=time.perf_counter() - started)
    return row, result if tables else None


def _base_row(scenario: Scenario) -> dict[str, Any]:
    row: dict[str, Any] = {"name": scenario.name, "status": "ok", "error": None}
    for asset_id, changes in scenario.overrides.items():
        if isinstance(changes, Mapping):
            for name, value in changes.items():
                row[f"{asset_id}.{name}"] = value
        else:
            row[str(asset_id)] = changes
    return row


def result_row(scenario: Scenario, result: BacktestResult, *, wall_s: float) -> dict[str, Any]:
    """The row of a finished scenario: name, overrides and the flattened `summary()`.

    Columns: ``name``, ``status`` (``ok``), ``error`` (None), one ``<asset>.<field>`` per
    override, ``days``, ``total_revenue_eur``, ``revenue_<market>_eur`` for every market
    that cleared (named as in the result: ``intraday`` clears as ``intraday_auction``),
    ``imbalance_cost_eur`` (>= 0 is a cost), ``costs_eur``, ``net_eur``, ``solver_time_s``
    (build + solve) and ``wall_s``.
    """
    summary = result.summary()
    row = _base_row(scenario)
    for name in FIGURES:
        row[name] = summary[name]
    for market, revenue in summary.get("revenue_by_market", {}).items():
        row[f"revenue_{market}_eur"] = float(revenue)
    row["wall_s"] = round(wall_s, 3)
    return row


def failed_row(scenario: Scenario, error: BaseException | str, *, wall_s: float) -> dict[str, Any]:
    """The row of a failed scenario: ``status = "failed"`` and the error message."""
    row = _base_row(scenario)
    row["status"] = "failed"
    if isinstance(error, BaseException):
        row["error"] = f"{type(error).__name__}: {error}"
    else:
        row["error"] = str(error)
    row["wall_s"] = round(wall_s, 3)
    return row


@dataclass
class SweepResult:
    """A sweep's summary rows and each finished scenario's full tables."""

    summary: pd.DataFrame
    """One row per scenario (see `result_row` and `failed_row`)."""
    results: dict[str, BacktestResult]
    """Scenario name -> its result; a failed scenario has none."""

    def table(self, name: str) -> pd.DataFrame:
        """Table `name` of every finished scenario stacked, with a ``scenario`` column."""
        frames = [
            getattr(result, name).assign(scenario=scenario)
            for scenario, result in self.results.items()
        ]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame(columns=["scenario"])
        stacked = pd.concat(frames, ignore_index=True)
        return stacked[["scenario", *[c for c in stacked.columns if c != "scenario"]]]


def sweep(
    scenarios: Iterable[Scenario],
    *,
    address: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    progress: bool = False,
    worker_log_level: int | None = logging.WARNING,
    dashboard: str | None = None,
) -> pd.DataFrame:
    """Run every scenario on Dask distributed; one row per scenario, in the given order.

    With `address` None a `distributed.LocalCluster` of `n_workers` worker processes with
    `threads_per_worker` threads each is started for the sweep and closed after it; with an
    address (``tcp://host:8786``) a client connects to that scheduler, whose workers must
    import vpp-engine and read the scenarios' files. Rows are described in `result_row`
    and `failed_row`; a scenario whose task is lost (a worker died) is a failed row too.
    `progress` shows a tqdm bar as scenarios finish. `worker_log_level` filters the
    workers' structlog output (the exchange logs every cleared bid at INFO); None leaves
    the workers' logging as it is. `dashboard`: the local cluster's dashboard address
    (e.g. ``":8787"``), None for none. Scripts call it under a ``__main__`` guard (see
    the module docstring).
    """
    return _sweep(
        scenarios, address, n_workers, threads_per_worker, progress, worker_log_level,
        dashboard, tables=False,
    ).summary  # fmt: skip


def sweep_tables(
    scenarios: Iterable[Scenario],
    *,
    address: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    progress: bool = False,
    worker_log_level: int | None = logging.WARNING,
    dashboard: str | None = None,
) -> SweepResult:
    """`sweep`, keeping each scenario's full tables (they travel back from the workers:
    mind their size over long runs of many assets)."""
    return _sweep(
        scenarios, address, n_workers, threads_per_worker, progress, worker_log_level,
        dashboard, tables=True,
    )  # fmt: skip


def local_cluster(n_workers: int, threads_per_worker: int, dashboard: str | None) -> Any:
    """A `distributed.LocalCluster` of worker processes; its dashboard only at `dashboard`
    (without one the scheduler's plain HTTP endpoints take a free loopback port)."""
    from distributed import LocalCluster

    scheduler: dict[str, Any] = {}
    if dashboard is None:
        scheduler = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=dashboard,
        scheduler_kwargs=scheduler,
    )


def _sweep(
    scenarios: Iterable[Scenario],
    address: str | None,
    n_workers: int,
    threads_per_worker: int,
    progress: bool,
    worker_log_level: int | None,
    dashboard: str | None,
    *,
    tables: bool,
) -> SweepResult:
    from distributed import Client

    scenario_list = list(scenarios)
    names = [s.name for s in scenario_list]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"scenario names must be unique: {', '.join(duplicates)} repeated")
    if not scenario_list:
        return SweepResult(pd.DataFrame(columns=["name", "status", "error"]), {})

    cluster = None
    if address is None:
        cluster = local_cluster(n_workers, threads_per_worker, dashboard)
    try:
        with Client(cluster if cluster is not None else address) as client:
            if worker_log_level is not None:
                client.run(filter_logs, worker_log_level)
            outcomes = _run_on(client, scenario_list, progress, tables)
    finally:
        if cluster is not None:
            cluster.close()
    results = {row["name"]: result for row, result in outcomes if result is not None}
    return SweepResult(_table([row for row, _ in outcomes]), results)


def filter_logs(level: int) -> None:
    """Drop structlog events below `level` in this process (run on each worker)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


Outcome = tuple[dict[str, Any], "BacktestResult | None"]


def _run_on(
    client: Any, scenarios: Sequence[Scenario], progress: bool, tables: bool
) -> list[Outcome]:
    """Run each scenario on the cluster and collect every row (failed ones too) with,
    where `tables`, its result."""
    from distributed import as_completed

    started = time.perf_counter()
    futures = client.map(
        run_scenario_with_tables, scenarios, [tables] * len(scenarios), pure=False, retries=0
    )
    index = {future.key: i for i, future in enumerate(futures)}
    rows: list[Outcome | None] = [None] * len(scenarios)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(futures), desc="scenarios", unit="scenario")
    for future in as_completed(futures):
        i = index[future.key]
        try:
            rows[i] = future.result()
        except Exception as exc:  # lost worker, unpicklable result, cancelled task
            rows[i] = (failed_row(scenarios[i], exc, wall_s=time.perf_counter() - started), None)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [row for row in rows if row is not None]


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a table: identification and override columns first, then the figures."""
    frame = pd.DataFrame(rows)
    first = [c for c in ("name", "status", "error") if c in frame]
    figures = [c for c in (*FIGURES, "wall_s") if c in frame]
    revenue = sorted(c for c in frame if c.startswith("revenue_") and c.endswith("_eur"))
    rest = [c for c in frame if c not in {*first, *figures, *revenue}]
    if revenue:  # a market another scenario earned in and this one did not: 0 EUR, not NaN
        ok = frame["status"] == "ok"
        frame.loc[ok, revenue] = frame.loc[ok, revenue].fillna(0.0)
    return frame[first + rest + figures[:2] + revenue + figures[2:]]
