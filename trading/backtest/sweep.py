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


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    """Run one scenario's backtest; return its row (see `sweep`). Never raises."""
    started = time.perf_counter()
    try:
        portfolio = load_scenario_portfolio(scenario)
        from trading.backtest import load_price_inputs, run_backtest

        zones = {site.bidding_zone for site in portfolio.sites}
        prices = load_price_inputs(scenario.day_ahead, scenario.intraday, scenario.balancing, zones)
        result = run_backtest(portfolio, prices, scenario.config)
    except Exception as exc:  # a failed scenario is a row, not a lost sweep
        return failed_row(scenario, exc, wall_s=time.perf_counter() - started)
    return result_row(scenario, result, wall_s=time.perf_counter() - started)


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


def sweep(
    scenarios: Iterable[Scenario],
    *,
    address: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    progress: bool = False,
    worker_log_level: int | None = logging.WARNING,
) -> pd.DataFrame:
    """Run every scenario on Dask distributed; one row per scenario, in the given order.

    With `address` None a `distributed.LocalCluster` of `n_workers` worker processes with
    `threads_per_worker` threads each is started for the sweep and closed after it; with an
    address (``tcp://host:8786``) a client connects to that scheduler, whose workers must
    import vpp-engine and read the scenarios' files. Rows are described in `result_row`
    and `failed_row`; a scenario whose task is lost (a worker died) is a failed row too.
    `progress` shows a tqdm bar as scenarios finish. `worker_log_level` filters the
    workers' structlog output (the exchange logs every cleared bid at INFO); None leaves
    the workers' logging as it is.
    """
    from distributed import Client, LocalCluster

    scenario_list = list(scenarios)
    names = [s.name for s in scenario_list]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"scenario names must be unique: {', '.join(duplicates)} repeated")
    if not scenario_list:
        return pd.DataFrame(columns=["name", "status", "error"])

    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
        )
    try:
        with Client(cluster if cluster is not None else address) as client:
            if worker_log_level is not None:
                client.run(filter_logs, worker_log_level)
            rows = _run_on(client, scenario_list, progress)
    finally:
        if cluster is not None:
            cluster.close()
    return _table(rows)


def filter_logs(level: int) -> None:
    """Drop structlog events below `level` in this process (run on each worker)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


def _run_on(client: Any, scenarios: Sequence[Scenario], progress: bool) -> list[dict[str, Any]]:
    """Submit `run_scenario` for each scenario and collect every row (failed ones too)."""
    from distributed import as_completed

    started = time.perf_counter()
    futures = client.map(run_scenario, scenarios, pure=False, retries=0)
    index = {future.key: i for i, future in enumerate(futures)}
    rows: list[dict[str, Any] | None] = [None] * len(scenarios)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(futures), desc="scenarios", unit="scenario")
    for future in as_completed(futures):
        i = index[future.key]
        try:
            rows[i] = future.result()
        except Exception as exc:  # lost worker, unpicklable result, cancelled task
            rows[i] = failed_row(scenarios[i], exc, wall_s=time.perf_counter() - started)
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
