"""Read a plan's JSON (`docs/plan-format.md`, ``vpp-plan/2``) into checked, typed values.

Everything the rules need is read here, and anything that cannot be read raises
`PlanFormatError` naming the field (as a path such as ``schedule.injection_mw.bat-1``) and
the value found: a missing key, a wrong type, an array whose length is not the day's
number of quarter hours, an asset the portfolio does not have. The rules themselves are
checked elsewhere; a plan read here is well formed, not necessarily valid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from markets.bids import Bid, parse_bid
from markets.calendar import iso_z, mtu_index

FORMAT = "vpp-plan/2"
"""The plan format this checker reads."""

BAND_PRODUCTS = ("fcr", "afrr_pos", "afrr_neg")
"""Reserve products a schedule may hold bands of."""

TOP_LEVEL = (
    "format",
    "plan_id",
    "portfolio",
    "day",
    "timezone",
    "markets",
    "objective_eur",
    "revenue_by_market",
    "costs_by_kind",
    "revenue_by_asset",
    "excluded_assets",
    "inputs",
    "positions",
    "bids",
    "schedule",
    "end_state",
    "solver",
    "notes",
)
"""Every key of a plan (plan-format.md: every key is present; maps may be empty)."""

INPUT_MAPS = (
    "initial_soc_mwh",
    "final_soc_mwh",
    "initial_heat_mwh_th",
    "ev_owed_mwh",
    "unit_initial",
    "commitments",
    "available_mw",
    "available_source",
    "prices",
)
SCHEDULE_KEYS = ("quarter_hours", "injection_mw", "bands_mw", "residual_mw", "states")


MISSING = object()
"""The value of a key that is not there."""


class PlanFormatError(ValueError):
    """A plan that cannot be read: names the file, the field and the value found."""

    def __init__(
        self, field: str, value: object, message: str, *, file: str | Path | None = None
    ) -> None:
        self.field = field
        self.value = value
        self.message = message
        self.file = None if file is None else str(file)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        if not self.field:
            return f"{where}{self.message}"
        if self.value is MISSING:
            return f"{where}{self.field}: {self.message}"
        return f"{where}{self.field}={_short(self.value)}: {self.message}"

    def in_file(self, file: str | Path) -> PlanFormatError:
        """The same error, naming `file`."""
        return PlanFormatError(self.field, self.value, self.message, file=file)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        value = self.value if _json_scalar(self.value) else _short(self.value)
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no NaN or Infinity
        if self.value is MISSING:
            value = None
        return {"file": self.file, "field": self.field, "value": value, "message": self.message}


def _json_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class UnitState:
    """A unit's commitment when the day starts: on or off, for `hours` [h] (inf: ever)."""

    on: bool
    hours: float


@dataclass(frozen=True)
class PlanPosition:
    """One entry of `positions`: MW sold (+) or bought (-), or capacity held (>= 0)."""

    index: int
    product_id: str
    market: str
    zone: str
    pool: str | None
    direction: str | None
    mw: float
    revenue_eur: float

    @property
    def field(self) -> str:
        """Where the position sits in the plan."""
        return f"positions[{self.index}]"


@dataclass(frozen=True)
class PlanInputs:
    """`inputs`: what the plan was decided on besides the portfolio file."""

    initial_soc_mwh: dict[str, float]
    final_soc_mwh: dict[str, float]
    initial_heat_mwh_th: dict[str, float]
    ev_owed_mwh: dict[str, float]
    unit_initial: dict[str, UnitState]
    commitments: dict[str, float]
    available_mw: dict[str, np.ndarray]
    prices: dict[str, dict[str, np.ndarray]]
    """market -> key (zone, or ``zone/pos``, ``zone/neg`` for aFRR) -> price per quarter hour."""
    residual_spread_eur_per_mwh: float = 0.0
    """What a planned residual costs beyond its energy's forecast value [EUR/MWh]."""


@dataclass(frozen=True)
class PlanData:
    """A well-formed plan: every array has one value per quarter hour of `day`."""

    plan_id: str
    portfolio_id: str
    day: date
    timezone: str
    quarter_hours: pd.DatetimeIndex
    labels: list[str]
    """UTC start of every quarter hour, ISO Z, plus the end of the day."""
    objective_eur: float
    revenue_by_market: dict[str, float]
    costs_by_kind: dict[str, float]
    excluded_assets: dict[str, str]
    inputs: PlanInputs
    positions: list[PlanPosition]
    bids: list[Bid]
    injection_mw: dict[str, np.ndarray]
    bands_mw: dict[str, dict[str, np.ndarray]]
    residual_mw: dict[str, np.ndarray]
    states: dict[str, dict[str, np.ndarray]]
    end_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of quarter hours of the day (92, 96 or 100)."""
        return len(self.quarter_hours)

    def band(self, asset_id: str, product: str) -> np.ndarray:
        """Reserve `asset_id` holds for `product` per quarter hour [MW]; zeros if none."""
        return self.bands_mw.get(asset_id, {}).get(product, np.zeros(self.n))


def load_plan_file(path: str | Path) -> dict[str, Any]:
    """The JSON object in file `path`; `PlanFormatError` if it is missing or not JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFormatError("", str(path), "no such file", file=path) from None
    except IsADirectoryError:
        raise PlanFormatError("", str(path), "is a directory, not a plan file", file=path) from None
    except UnicodeDecodeError as exc:
        raise PlanFormatError("", str(path), f"not UTF-8 text ({exc.reason})", file=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise PlanFormatError("", text[exc.pos : exc.pos + 20], message, file=path) from None
    if not isinstance(data, dict):
        raise PlanFormatError("", type(data).__name__, "a plan is a JSON object", file=path)
    return data


def read_plan(
    data: Mapping[str, Any],
    *,
    portfolio_id: str,
    assets: Mapping[str, str],
    zones: Collection[str],
) -> PlanData:
    """A `PlanData` from a plan's JSON object.

    `assets` maps every asset id of the portfolio to its kind, `zones` are the portfolio's
    bidding zones; a plan naming any other raises `PlanFormatError`.
    """
    if not isinstance(data, Mapping):
        raise PlanFormatError("", type(data).__name__, "a plan is a JSON object")
    _require(data, "format", "")
    if data["format"] != FORMAT:
        raise PlanFormatError("format", data["format"], f"this checker reads {FORMAT!r}")
    for key in TOP_LEVEL:
        _require(data, key, "")
    if _text(data["portfolio"], "portfolio") != portfolio_id:
        raise PlanFormatError(
            "portfolio", data["portfolio"], f"the portfolio file is {portfolio_id!r}"
        )
    day = _day(data["day"])
    timezone = _text(data["timezone"], "timezone")
    periods = _horizon(day, timezone)
    schedule = _mapping(data["schedule"], "schedule")
    for key in SCHEDULE_KEYS:
        _require(schedule, key, "schedule")
    labels = _quarter_hours(schedule["quarter_hours"], periods)
    reader = _Arrays(len(periods), assets)
    injection = reader.asset_arrays(schedule["injection_mw"], "schedule.injection_mw")
    return PlanData(
        plan_id=_text(data["plan_id"], "plan_id"),
        portfolio_id=portfolio_id,
        day=day,
        timezone=timezone,
        quarter_hours=periods,
        labels=labels,
        objective_eur=_number(data["objective_eur"], "objective_eur"),
        revenue_by_market=_numbers(data["revenue_by_market"], "revenue_by_market"),
        costs_by_kind=_numbers(data["costs_by_kind"], "costs_by_kind"),
        excluded_assets=_excluded(data["excluded_assets"], assets),
        inputs=_inputs(data["inputs"], reader),
        positions=_positions(data["positions"]),
        bids=_bids(data["bids"]),
        injection_mw=injection,
        bands_mw=_bands(schedule["bands_mw"], reader, injection),
        residual_mw=_residuals(schedule["residual_mw"], reader, zones),
        states=_states(schedule["states"], reader, injection),
        end_state=_end_state(data["end_state"], assets),
        notes=[str(note) for note in _list(data["notes"], "notes")],
    )


def _require(data: Mapping[str, Any], key: str, where: str) -> None:
    if key not in data:
        path = f"{where}.{key}" if where else key
        raise PlanFormatError(path, MISSING, "is missing; every key of vpp-plan/2 is present")


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PlanFormatError(path, value, "must be a JSON object")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanFormatError(path, value, "must be a JSON array")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise PlanFormatError(path, value, "must be a JSON string")
    return value


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanFormatError(path, value, "must be a finite JSON number")
    return float(value)


def _numbers(value: object, path: str) -> dict[str, float]:
    return {k: _number(v, f"{path}.{k}") for k, v in _mapping(value, path).items()}


def _day(value: object) -> date:
    try:
        return date.fromisoformat(_text(value, "day"))
    except ValueError:
        raise PlanFormatError("day", value, "must be a date of the form YYYY-MM-DD") from None


def _horizon(day: date, timezone: str) -> pd.DatetimeIndex:
    try:
        return mtu_index(day, timezone, 15)
    except ValueError as exc:
        raise PlanFormatError("timezone", timezone, str(exc)) from None


def _quarter_hours(value: object, periods: pd.DatetimeIndex) -> list[str]:
    expected = [iso_z(t) for t in periods]
    found = _list(value, "schedule.quarter_hours")
    if len(found) != len(expected):
        raise PlanFormatError(
            "schedule.quarter_hours",
            f"{len(found)} entries",
            f"the day has {len(expected)} quarter hours ({expected[0]} to {expected[-1]})",
        )
    for index, (got, want) in enumerate(zip(found, expected, strict=True)):
        if got != want:
            raise PlanFormatError(
                f"schedule.quarter_hours[{index}]", got, f"expected {want} (UTC, ISO 8601 with Z)"
            )
    end = iso_z(periods[-1] + pd.Timedelta(minutes=15))
    return [*expected, end]


class _Arrays:
    """Reads per-quarter-hour arrays, and maps keyed by asset id."""

    def __init__(self, n: int, assets: Mapping[str, str]) -> None:
        self.n = n
        self.assets = assets

    def array(self, value: object, path: str) -> np.ndarray:
        """One finite number per quarter hour."""
        items = _list(value, path)
        if len(items) != self.n:
            raise PlanFormatError(
                path, f"{len(items)} values", f"must have one value per quarter hour ({self.n})"
            )
        return np.array([_number(v, f"{path}[{i}]") for i, v in enumerate(items)], dtype=float)

    def asset(self, asset_id: str, path: str, kinds: Collection[str] | None = None) -> str:
        """`asset_id`, which must be a portfolio asset (of one of `kinds`, if given)."""
        kind = self.assets.get(asset_id)
        if kind is None:
            raise PlanFormatError(path, asset_id, "is not an asset of the portfolio")
        if kinds is not None and kind not in kinds:
            raise PlanFormatError(path, asset_id, f"is a {kind}; this map holds {', '.join(kinds)}")
        return asset_id

    def asset_arrays(
        self, value: object, path: str, kinds: Collection[str] | None = None
    ) -> dict[str, np.ndarray]:
        """asset id -> array."""
        return {
            self.asset(k, f"{path}.{k}", kinds): self.array(v, f"{path}.{k}")
            for k, v in _mapping(value, path).items()
        }

    def asset_numbers(self, value: object, path: str, kinds: Collection[str]) -> dict[str, float]:
        """asset id -> number."""
        return {
            self.asset(k, f"{path}.{k}", kinds): _number(v, f"{path}.{k}")
            for k, v in _mapping(value, path).items()
        }


STORAGE_KINDS = ("battery", "ev_fleet")
UNIT_KINDS = ("chp", "flexible_load", "heat_pump")
RENEWABLE_KINDS = ("pv", "wind")


def _inputs(value: object, reader: _Arrays) -> PlanInputs:
    inputs = _mapping(value, "inputs")
    for key in INPUT_MAPS:
        _require(inputs, key, "inputs")
    _mapping(inputs["available_source"], "inputs.available_source")
    return PlanInputs(
        initial_soc_mwh=reader.asset_numbers(
            inputs["initial_soc_mwh"], "inputs.initial_soc_mwh", STORAGE_KINDS
        ),
        final_soc_mwh=reader.asset_numbers(
            inputs["final_soc_mwh"], "inputs.final_soc_mwh", ("battery",)
        ),
        initial_heat_mwh_th=reader.asset_numbers(
            inputs["initial_heat_mwh_th"], "inputs.initial_heat_mwh_th", ("heat_pump",)
        ),
        ev_owed_mwh=reader.asset_numbers(
            inputs["ev_owed_mwh"], "inputs.ev_owed_mwh", ("ev_fleet",)
        ),
        unit_initial=_unit_initial(inputs["unit_initial"], reader),
        commitments=_numbers(inputs["commitments"], "inputs.commitments"),
        available_mw=reader.asset_arrays(
            inputs["available_mw"], "inputs.available_mw", RENEWABLE_KINDS
        ),
        prices=_prices(inputs["prices"], reader),
        residual_spread_eur_per_mwh=_number(
            inputs.get("residual_spread_eur_per_mwh", 0.0),
            "inputs.residual_spread_eur_per_mwh",
        ),
    )


def _unit_initial(value: object, reader: _Arrays) -> dict[str, UnitState]:
    found = {}
    for asset_id, state in _mapping(value, "inputs.unit_initial").items():
        path = f"inputs.unit_initial.{asset_id}"
        reader.asset(asset_id, path, UNIT_KINDS)
        state = _mapping(state, path)
        for key in ("on", "hours"):
            _require(state, key, path)
        if not isinstance(state["on"], bool):
            raise PlanFormatError(f"{path}.on", state["on"], "must be true or false")
        hours = _number(state["hours"], f"{path}.hours")
        if hours < 0:
            raise PlanFormatError(f"{path}.hours", hours, "must be >= 0")
        found[asset_id] = UnitState(state["on"], hours)
    return found


def _prices(value: object, reader: _Arrays) -> dict[str, dict[str, np.ndarray]]:
    tables = _mapping(value, "inputs.prices")
    return {
        market: {
            key: reader.array(series, f"inputs.prices.{market}.{key}")
            for key, series in _mapping(table, f"inputs.prices.{market}").items()
        }
        for market, table in tables.items()
    }


def _excluded(value: object, assets: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for asset_id, reason in _mapping(value, "excluded_assets").items():
        if asset_id not in assets:
            raise PlanFormatError(
                f"excluded_assets.{asset_id}", asset_id, "is not an asset of the portfolio"
            )
        found[asset_id] = _text(reason, f"excluded_assets.{asset_id}")
    return found


def _positions(value: object) -> list[PlanPosition]:
    positions = []
    for index, item in enumerate(_list(value, "positions")):
        path = f"positions[{index}]"
        item = _mapping(item, path)
        for key in ("product_id", "market", "zone", "pool", "direction", "mw", "revenue_eur"):
            _require(item, key, path)
        positions.append(
            PlanPosition(
                index=index,
                product_id=_text(item["product_id"], f"{path}.product_id"),
                market=_text(item["market"], f"{path}.market"),
                zone=_text(item["zone"], f"{path}.zone"),
                pool=_optional_text(item["pool"], f"{path}.pool"),
                direction=_optional_text(item["direction"], f"{path}.direction"),
                mw=_number(item["mw"], f"{path}.mw"),
                revenue_eur=_number(item["revenue_eur"], f"{path}.revenue_eur"),
            )
        )
    return positions


def _optional_text(value: object, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _bids(value: object) -> list[Bid]:
    bids = []
    for index, item in enumerate(_list(value, "bids")):
        try:
            bids.append(parse_bid(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = list(error["loc"])
            if loc and loc[0] == (item.get("type") if isinstance(item, dict) else None):
                loc = loc[1:]  # pydantic names the bid type first; the plan's field follows
            where = ".".join(str(part) for part in loc)
            path = f"bids[{index}].{where}" if where else f"bids[{index}]"
            raise PlanFormatError(path, error.get("input"), error["msg"]) from None
    return bids


def _bands(
    value: object, reader: _Arrays, injection: Mapping[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    found: dict[str, dict[str, np.ndarray]] = {}
    for asset_id, products in _mapping(value, "schedule.bands_mw").items():
        path = f"schedule.bands_mw.{asset_id}"
        _scheduled(reader.asset(asset_id, path), path, injection)
        found[asset_id] = {}
        for product, series in _mapping(products, path).items():
            if product not in BAND_PRODUCTS:
                raise PlanFormatError(
                    f"{path}.{product}", product, f"is not one of {', '.join(BAND_PRODUCTS)}"
                )
            found[asset_id][product] = reader.array(series, f"{path}.{product}")
    return found


def _scheduled(asset_id: str, path: str, injection: Mapping[str, np.ndarray]) -> None:
    if asset_id not in injection:
        raise PlanFormatError(path, asset_id, "is not in schedule.injection_mw")


def _residuals(value: object, reader: _Arrays, zones: Collection[str]) -> dict[str, np.ndarray]:
    found = {}
    for zone, series in _mapping(value, "schedule.residual_mw").items():
        path = f"schedule.residual_mw.{zone}"
        if zone not in zones:
            raise PlanFormatError(path, zone, f"is not a zone of the portfolio ({sorted(zones)})")
        found[zone] = reader.array(series, path)
    return found


def _states(
    value: object, reader: _Arrays, injection: Mapping[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    found: dict[str, dict[str, np.ndarray]] = {}
    for asset_id, named in _mapping(value, "schedule.states").items():
        path = f"schedule.states.{asset_id}"
        _scheduled(reader.asset(asset_id, path), path, injection)
        found[asset_id] = {
            name: reader.array(series, f"{path}.{name}")
            for name, series in _mapping(named, path).items()
        }
    return found


END_STATE_NUMBERS = ("soc_mwh", "e_mwh", "owed_mwh", "heat_mwh_th", "hours")
"""Numeric fields of an asset's `end_state` the checker compares; `on` is a boolean."""


def _end_state(value: object, assets: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    found = {}
    for asset_id, state in _mapping(value, "end_state").items():
        path = f"end_state.{asset_id}"
        if asset_id not in assets:
            raise PlanFormatError(path, asset_id, "is not an asset of the portfolio")
        state = dict(_mapping(state, path))
        for key in END_STATE_NUMBERS:
            if key in state:
                state[key] = _number(state[key], f"{path}.{key}")
        if "on" in state and not isinstance(state["on"], bool):
            raise PlanFormatError(f"{path}.on", state["on"], "must be true or false")
        found[asset_id] = state
    return found
