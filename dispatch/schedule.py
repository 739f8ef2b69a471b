"""`Schedule`: what the optimiser (trading) hands to the dispatcher.

A schedule covers a span of whole quarter hours in UTC and holds, per quarter hour:

- each asset's planned net injection [MW]; positive = injection into the grid, negative =
  withdrawal;
- each asset's reserved balancing bands per product (`fcr`, `afrr_pos`, `afrr_neg`) [MW],
  magnitudes >= 0: headroom the dispatcher must keep around the planned injection;
- the pool totals that were sold: net energy positions per bidding zone and market [MW],
  positive = net sale (the pool injects), and balancing capacity sold per bidding zone and
  product [MW], >= 0.

A schedule checks its own structure when it is built (timestamps, grid, gaps, numbers) and
checks itself against a portfolio on request (`Schedule.validate_against`). The loaders
(`read_schedule`, `Schedule.from_json`, `Schedule.from_frames`) raise `ProblemsError` with
every problem found; a value problem is reported once per series, naming its first quarter
hour and how many more there are.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from regulatory.assets.base import AssetBase, BalancingProduct
from regulatory.portfolio import Portfolio
from regulatory.problems import Problem, ProblemsError, problems_from_validation_error

RESOLUTION_MINUTES = 15
"""The only resolution a schedule has [min]."""
QUARTER_HOUR = timedelta(minutes=RESOLUTION_MINUTES)
TOLERANCE_MW = 1e-6
"""Slack for comparing sums and bounds [MW]."""
SCHEDULE_PROBLEMS = "schedule_problems"
"""Pydantic error type of the structural checks; its context carries the `Problem`s."""

UPWARD = (BalancingProduct.FCR, BalancingProduct.AFRR_POS)
"""Products that may call for more injection than planned."""
DOWNWARD = (BalancingProduct.FCR, BalancingProduct.AFRR_NEG)
"""Products that may call for less injection than planned."""


class EnergyMarket(StrEnum):
    """Energy markets whose positions a schedule records."""

    DAY_AHEAD = "day_ahead"
    INTRADAY = "intraday"


Series = tuple[float, ...]
"""One value per quarter hour of the schedule's index [MW]."""


class Schedule(BaseModel):
    """Planned injections, reserved bands and sold pool totals per UTC quarter hour.

    `index` holds the start of every quarter hour from `start` (inclusive) to `end`
    (exclusive), without gaps; every series has one value per entry of `index`. Timestamps
    are timezone-aware UTC. Units are MW throughout (average power over the quarter hour).

    Build one with `from_frames` or `from_json`, or validate plain data with
    `model_validate`; an invalid schedule raises (pydantic's `ValidationError` from the
    constructor, `ProblemsError` from the loaders) naming every structural problem.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    portfolio_id: str = Field(min_length=1, description="id of the portfolio planned for")
    plan_id: str = Field(min_length=1, description="identifies this plan among its versions")
    schedule_id: str | None = Field(
        default=None,
        min_length=1,
        description="identifies this schedule wherever it is dispatched; when not given, "
        "derived from its content (`content_id`), so the same schedule has the same id",
    )
    bid_ids: tuple[str, ...] = Field(
        default=(), description="ids of the bids this schedule was built from, if any"
    )
    created_at: datetime = Field(description="when the plan was made (UTC)")
    source: str | None = Field(default=None, description="free text, e.g. the optimiser run id")
    start: datetime = Field(description="start of the first quarter hour (UTC)")
    end: datetime = Field(description="end of the last quarter hour (UTC), exclusive")
    resolution_minutes: int = Field(default=RESOLUTION_MINUTES, description="always 15")
    index: tuple[datetime, ...] = Field(description="start of each quarter hour (UTC)")
    injection_mw: dict[str, Series] = Field(
        description="asset id -> planned net injection [MW]; positive = injection"
    )
    bands_mw: dict[str, dict[BalancingProduct, Series]] = Field(
        default_factory=dict,
        description="asset id -> product -> reserved band [MW], >= 0; absent = none",
    )
    positions_mw: dict[str, dict[EnergyMarket, Series]] = Field(
        default_factory=dict,
        description="bidding zone -> market -> net position sold [MW]; positive = sale",
    )
    capacity_sold_mw: dict[str, dict[BalancingProduct, Series]] = Field(
        default_factory=dict,
        description="bidding zone -> product -> balancing capacity sold [MW], >= 0",
    )
    position_tolerance_mw: float = Field(
        default=TOLERANCE_MW,
        ge=0,
        description="largest accepted gap between a zone's positions and its planned "
        "injection [MW]: positions are sold in whole volume steps (0.1 MW), so a plan may "
        "accept a rounding imbalance of less than one step",
    )

    @field_validator("created_at", "start", "end")
    @classmethod
    def _utc_timestamp(cls, value: datetime) -> datetime:
        return _as_utc_if_utc(value)

    @field_validator("index")
    @classmethod
    def _utc_index(cls, value: tuple[datetime, ...]) -> tuple[datetime, ...]:
        return tuple(_as_utc_if_utc(t) for t in value)

    @model_validator(mode="after")
    def _check_structure(self) -> Schedule:
        problems = list(self._structure_problems())
        if problems:
            summary = "; ".join(str(p) for p in problems)
            raise PydanticCustomError(
                SCHEDULE_PROBLEMS, "{summary}", {"summary": summary, "problems": problems}
            )
        if self.schedule_id is None:  # frozen: set once, here, before anyone sees it
            object.__setattr__(self, "schedule_id", self.content_id())
        return self

    def content_id(self) -> str:
        """``sch-`` and 20 hex digits of a SHA-256 over the portfolio and plan ids, the
        creation time, the span and every asset's planned injection: the same schedule
        (however often it is loaded) has the same id, another plan or version another."""
        digest = hashlib.sha256()
        head = [self.portfolio_id, self.plan_id, _iso(self.created_at), _iso(self.start)]
        digest.update(json.dumps([*head, _iso(self.end), sorted(self.injection_mw)]).encode())
        for asset_id in sorted(self.injection_mw):
            digest.update(np.asarray(self.injection_mw[asset_id], dtype=np.float64).tobytes())
        return "sch-" + digest.hexdigest()[:20]

    # --- loading and saving ----------------------------------------------------------------

    @classmethod
    def from_json(
        cls,
        text: str | bytes,
        *,
        portfolio: Portfolio | None = None,
        source: str | None = None,
    ) -> Schedule:
        """A schedule from its JSON text; checked against `portfolio` when one is given.

        Raises `ProblemsError` with every problem found (`source` names the text in it).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            rule = f"is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
            problem = Problem(source or "schedule", "", None, rule, err.lineno)
            raise ProblemsError([problem], source) from None
        return _validated(data, portfolio, source)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The schedule as JSON; timestamps in ISO 8601 UTC ending in ``Z``."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_frames(
        cls,
        injection: pd.DataFrame,
        *,
        portfolio_id: str,
        plan_id: str,
        bands: pd.DataFrame | None = None,
        positions: pd.DataFrame | None = None,
        capacity: pd.DataFrame | None = None,
        created_at: datetime | None = None,
        source: str | None = None,
        portfolio: Portfolio | None = None,
        position_tolerance_mw: float = TOLERANCE_MW,
    ) -> Schedule:
        """A schedule from the frames `injection_frame`, `bands_frame`, ... return.

        `injection` is indexed by the UTC quarter-hour starts, one column per asset [MW].
        The long tables have a ``quarter_hour`` column, two key columns (`bands`:
        ``asset_id``, ``product``; `positions`: ``zone``, ``market``; `capacity`: ``zone``,
        ``product``) and ``mw``; a quarter hour without a row is 0 MW. `start` and `end`
        follow from the index; `created_at` defaults to now. Raises `ProblemsError` with every
        problem found, and with `portfolio`'s problems when one is given.
        """
        index = injection.index
        if not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
            rule = "must be a non-empty DatetimeIndex of UTC quarter-hour starts"
            raise ProblemsError([Problem("injection frame", "index", _short(index), rule)])
        stamps = [t.to_pydatetime() for t in index]
        problems = [
            Problem(f"asset {column}", "injection_mw", column, "is a column twice in the frame")
            for column in sorted(
                {str(c) for c in injection.columns[injection.columns.duplicated()]}
            )
        ]
        tables: dict[str, dict[str, dict[str, list[float]]]] = {}
        for section, frame, keys in (
            ("bands_mw", bands, ("asset_id", "product")),
            ("positions_mw", positions, ("zone", "market")),
            ("capacity_sold_mw", capacity, ("zone", "product")),
        ):
            tables[section], found = _from_long(frame, section, keys, stamps)
            problems.extend(found)
        first, last = (_utc_guess(t) for t in (index.min(), index.max()))
        data = {
            "portfolio_id": portfolio_id,
            "plan_id": plan_id,
            "created_at": created_at or datetime.now(UTC),
            "source": source,
            "position_tolerance_mw": position_tolerance_mw,
            "start": first,
            "end": last + QUARTER_HOUR,
            "index": stamps,
            "injection_mw": {
                str(column): injection.iloc[:, j].tolist()
                for j, column in enumerate(injection.columns)
            },
            **tables,
        }
        try:
            schedule = _validated(data, portfolio, None)
        except ProblemsError as error:
            raise ProblemsError([*problems, *error.problems]) from None
        if problems:
            raise ProblemsError(problems)
        return schedule

    def injection_frame(self) -> pd.DataFrame:
        """Planned net injection [MW]: UTC quarter-hour index, one column per asset."""
        data = {asset_id: list(values) for asset_id, values in self.injection_mw.items()}
        return pd.DataFrame(data, index=self._datetime_index(), dtype=float)

    def bands_frame(self) -> pd.DataFrame:
        """Reserved bands [MW] as rows of ``quarter_hour, asset_id, product, mw``."""
        return _to_long(self.bands_mw, self._datetime_index(), ("asset_id", "product"))

    def positions_frame(self) -> pd.DataFrame:
        """Energy positions sold [MW] as rows of ``quarter_hour, zone, market, mw``."""
        return _to_long(self.positions_mw, self._datetime_index(), ("zone", "market"))

    def capacity_frame(self) -> pd.DataFrame:
        """Balancing capacity sold [MW] as rows of ``quarter_hour, zone, product, mw``."""
        return _to_long(self.capacity_sold_mw, self._datetime_index(), ("zone", "product"))

    # --- what the dispatcher asks ----------------------------------------------------------

    def assets(self) -> tuple[str, ...]:
        """Ids of the assets with a planned injection, in schedule order."""
        return tuple(self.injection_mw)

    def quarter_hours(self) -> tuple[datetime, ...]:
        """Start of every quarter hour the schedule covers (UTC, ascending)."""
        return self.index

    def planned_mw(self, asset_id: str, at: datetime) -> float:
        """Planned net injection of `asset_id` in the quarter hour containing `at` [MW].

        Positive = injection. `at` must be timezone-aware; KeyError if the asset is not in
        the schedule or `at` lies outside [`start`, `end`).
        """
        return self._series_of(asset_id)[self._position(at)]

    def bands_at(self, asset_id: str, at: datetime) -> dict[BalancingProduct, float]:
        """Bands of `asset_id` reserved in the quarter hour containing `at` [MW], >= 0.

        Every product is present; 0.0 where nothing is reserved. Errors as `planned_mw`.
        """
        self._series_of(asset_id)
        position = self._position(at)
        reserved = self.bands_mw.get(asset_id, {})
        return {
            product: reserved[product][position] if product in reserved else 0.0
            for product in BalancingProduct
        }

    def _series_of(self, asset_id: str) -> Series:
        try:
            return self.injection_mw[asset_id]
        except KeyError:
            raise KeyError(f"schedule {self.plan_id} has no asset {asset_id!r}") from None

    def _position(self, at: datetime) -> int:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"at={at.isoformat()} is naive; pass a timezone-aware datetime")
        if not self.start <= at < self.end:
            raise KeyError(
                f"schedule {self.plan_id} covers {_iso(self.start)} to {_iso(self.end)}, "
                f"not {_iso(at)}"
            )
        return (at - self.start) // QUARTER_HOUR

    def _datetime_index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.index, name="quarter_hour")

    # --- checks ----------------------------------------------------------------------------

    def validate_against(self, portfolio: Portfolio) -> list[Problem]:
        """Every way this schedule does not fit `portfolio`; empty if it fits.

        Checks the portfolio id; that every asset is in the portfolio; that each planned
        injection lies within the asset's injection bounds, and each site's total within its
        grid connection; that the bands each asset holds
        fit between its planned injection and its bounds (upward: fcr + afrr_pos; downward:
        fcr + afrr_neg; neither beyond its flexible range); that each bidding zone's energy
        positions (all markets) equal the planned injection of its assets; and that the
        balancing capacity sold per zone and product does not exceed the bands its assets
        reserve. Sums and bounds are compared within `TOLERANCE_MW`.
        """
        return list(self._portfolio_problems(portfolio))

    def _structure_problems(self) -> Iterator[Problem]:
        me = f"schedule {self.plan_id}"
        yield from self._time_problems(me)
        index = self.index
        for asset_id, values in self.injection_mw.items():
            yield from _series_problems(f"asset {asset_id}", "injection_mw", values, index)
        for asset_id, bands in self.bands_mw.items():
            subject = f"asset {asset_id}"
            if asset_id not in self.injection_mw:
                yield Problem(
                    subject,
                    "bands_mw",
                    sorted(bands),
                    "are reserved for an asset without a planned injection in injection_mw",
                )
            for product, values in bands.items():
                yield from _series_problems(
                    subject, f"bands_mw.{product}", values, index, magnitude=True
                )
        for zone, markets in self.positions_mw.items():
            for market, values in markets.items():
                yield from _series_problems(f"zone {zone}", f"positions_mw.{market}", values, index)
        for zone, products in self.capacity_sold_mw.items():
            for product, values in products.items():
                yield from _series_problems(
                    f"zone {zone}", f"capacity_sold_mw.{product}", values, index, magnitude=True
                )

    def _time_problems(self, me: str) -> Iterator[Problem]:
        for name in ("created_at", "start", "end"):
            value: datetime = getattr(self, name)
            if (rule := _not_utc(value)) is not None:
                yield Problem(me, name, _iso(value), rule)
            elif name != "created_at" and not _on_grid(value):
                yield Problem(me, name, _iso(value), _OFF_GRID)
        if self.resolution_minutes != RESOLUTION_MINUTES:
            yield Problem(
                me, "resolution_minutes", self.resolution_minutes, "must be 15 (quarter hours)"
            )
        aware = all(_not_utc(t) is None for t in (self.start, self.end))
        if aware and self.end <= self.start:
            yield Problem(me, "end", _iso(self.end), f"must be after start={_iso(self.start)}")
        index = self.index
        if not index:
            yield Problem(me, "index", [], "must hold at least one quarter hour")
            return
        foreign = [i for i, t in enumerate(index) if _not_utc(t) is not None]
        if foreign:
            first = index[foreign[0]]
            where = _first_of(foreign[0], len(foreign), "entry", "entries")
            yield Problem(me, "index", _iso(first), f"{_not_utc(first)} ({where})")
            if any(t.utcoffset() is None for t in index):
                return  # naive timestamps cannot be ordered among aware ones
        # Arithmetic in UTC: aware datetimes that share a tzinfo subtract as wall-clock times.
        utc = [t.astimezone(UTC) for t in index]
        off_grid = [i for i, t in enumerate(utc) if not _on_grid(t)]
        if off_grid:
            where = _first_of(off_grid[0], len(off_grid), "entry", "entries")
            yield Problem(me, "index", _iso(utc[off_grid[0]]), f"{_OFF_GRID} ({where})")
        yield from _sequence_problems(me, utc)
        if aware and utc[0] != self.start:
            rule = f"is not the first quarter hour of the index ({_iso(utc[0])})"
            yield Problem(me, "start", _iso(self.start), rule)
        if aware and utc[-1] + QUARTER_HOUR != self.end:
            rule = f"is not 15 minutes after the last quarter hour of the index ({_iso(utc[-1])})"
            yield Problem(me, "end", _iso(self.end), rule)

    def _portfolio_problems(self, portfolio: Portfolio) -> Iterator[Problem]:
        me = f"schedule {self.plan_id}"
        if self.portfolio_id != portfolio.id:
            rule = f"is not the id of the portfolio checked against ({portfolio.id})"
            yield Problem(me, "portfolio_id", self.portfolio_id, rule)
        known = {asset.id: asset for asset in portfolio.assets}
        zone_of_site = {site.id: site.bidding_zone for site in portfolio.sites}
        n = len(self.index)
        planned_at: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
        planned_in: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
        reserved_in: dict[tuple[str, BalancingProduct], np.ndarray] = defaultdict(
            lambda: np.zeros(n)
        )
        for asset_id, values in self.injection_mw.items():
            asset = known.get(asset_id)
            if asset is None:
                rule = f"is not an asset of portfolio {portfolio.id}"
                yield Problem(f"asset {asset_id}", "id", asset_id, rule)
                continue
            planned = np.asarray(values, dtype=float)
            bands = {
                p: np.asarray(v, dtype=float) for p, v in self.bands_mw.get(asset_id, {}).items()
            }
            yield from self._asset_problems(asset, planned, bands)
            zone = zone_of_site[asset.site]
            planned_at[asset.site] += planned
            planned_in[zone] += planned
            for product, band in bands.items():
                reserved_in[(zone, product)] += band
        for site in portfolio.sites:
            total = planned_at.get(site.id, np.zeros(n))
            over = np.abs(total) > site.grid_connection_mw + TOLERANCE_MW
            if over.any():
                i = int(np.argmax(over))
                rule = (
                    f"(sum over its assets) exceeds grid_connection_mw={site.grid_connection_mw:g} "
                    f"in magnitude {self._where(over)}"
                )
                yield Problem(f"site {site.id}", "injection_mw", float(total[i]), rule)
        zones = set(zone_of_site.values())
        listed = sorted({*self.positions_mw, *self.capacity_sold_mw})
        for zone in listed:
            if zone not in zones:
                rule = (
                    f"is not the bidding zone of any site of portfolio {portfolio.id} "
                    f"(zones: {', '.join(sorted(zones))})"
                )
                yield Problem(f"zone {zone}", "id", zone, rule)
        for zone in sorted(zones & {*planned_in, *self.positions_mw}):
            markets = self.positions_mw.get(zone, {})
            sold = sum((np.asarray(v, dtype=float) for v in markets.values()), np.zeros(n))
            planned = planned_in.get(zone, np.zeros(n))
            mismatch = np.abs(sold - planned) > max(TOLERANCE_MW, self.position_tolerance_mw)
            if mismatch.any():
                i = int(np.argmax(mismatch))
                rule = (
                    f"(sum over markets) does not equal the {planned[i]:g} MW planned injection "
                    f"of the zone's assets {self._where(mismatch)}"
                )
                yield Problem(f"zone {zone}", "positions_mw", float(sold[i]), rule)
        for zone, products in self.capacity_sold_mw.items():
            if zone not in zones:
                continue
            for product, values in products.items():
                sold = np.asarray(values, dtype=float)
                reserved = reserved_in.get((zone, product), np.zeros(n))
                uncovered = sold > reserved + TOLERANCE_MW
                if uncovered.any():
                    i = int(np.argmax(uncovered))
                    rule = (
                        f"exceeds the {reserved[i]:g} MW of {product} bands the zone's assets "
                        f"reserve {self._where(uncovered)}"
                    )
                    yield Problem(
                        f"zone {zone}", f"capacity_sold_mw.{product}", float(sold[i]), rule
                    )

    def _asset_problems(
        self, asset: AssetBase, planned: np.ndarray, bands: Mapping[BalancingProduct, np.ndarray]
    ) -> Iterator[Problem]:
        subject = f"asset {asset.id}"
        low, high = asset.injection_bounds_mw()
        for outside, rule in (
            (planned > high + TOLERANCE_MW, f"is above the asset's highest injection {high:g} MW"),
            (planned < low - TOLERANCE_MW, f"is below the asset's lowest injection {low:g} MW"),
        ):
            if outside.any():
                i = int(np.argmax(outside))
                detail = f"{rule} ({asset.kind}) {self._where(outside)}"
                yield Problem(subject, "injection_mw", float(planned[i]), detail)
        span = asset.flexible_range_mw()
        for products, room, direction in (
            (UPWARD, np.minimum(high - planned, span), "upward"),
            (DOWNWARD, np.minimum(planned - low, span), "downward"),
        ):
            held = [p for p in products if p in bands]
            if not held:
                continue
            total = sum((bands[p] for p in held), np.zeros(len(planned)))
            room = np.maximum(room, 0.0)
            over = total > room + TOLERANCE_MW
            if over.any():
                i = int(np.argmax(over))
                rule = (
                    f"exceeds the {room[i]:g} MW {direction} room at the planned "
                    f"{planned[i]:g} MW (injection bounds {low:g} to {high:g} MW, flexible range "
                    f"{span:g} MW) {self._where(over)}"
                )
                field = "bands_mw." + "+".join(str(p) for p in held)
                yield Problem(subject, field, float(total[i]), rule)

    def _where(self, mask: np.ndarray) -> str:
        return _where(mask, self.index)


def read_schedule(path: str | Path, *, portfolio: Portfolio | None = None) -> Schedule:
    """Load a schedule from a JSON file; checked against `portfolio` when one is given.

    Raises `ProblemsError` with every problem found; `FileNotFoundError` if absent.
    """
    path = Path(path)
    return Schedule.from_json(path.read_bytes(), portfolio=portfolio, source=str(path))


def write_schedule(schedule: Schedule, path: str | Path) -> Path:
    """Write `schedule` as JSON to `path`, replacing it atomically; returns the path.

    A reader never sees a half-written file: the text goes to a temporary file in the same
    folder that then takes the place of `path`.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(schedule.to_json() + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# --- helpers -------------------------------------------------------------------------------

_OFF_GRID = "is not on the 15-minute grid (minute 0, 15, 30 or 45, no seconds)"


def _validated(data: Any, portfolio: Portfolio | None, source: str | None) -> Schedule:
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        if len(errors) == 1 and errors[0]["type"] == SCHEDULE_PROBLEMS:
            raise ProblemsError(errors[0]["ctx"]["problems"], source) from None
        raise ProblemsError(problems_from_validation_error(error, "schedule"), source) from None
    if portfolio is not None and (problems := schedule.validate_against(portfolio)):
        raise ProblemsError(problems, source)
    return schedule


def _as_utc_if_utc(moment: datetime) -> datetime:
    """Zero-offset timestamps as `datetime.UTC`; others are left for the checks to report."""
    if moment.utcoffset() == timedelta(0):
        return moment.astimezone(UTC)
    return moment


def _not_utc(moment: datetime) -> str | None:
    """Why `moment` is not a UTC timestamp, or None if it is."""
    if moment.utcoffset() is None:
        return "is naive; timestamps must be UTC (ISO 8601 ending in Z)"
    if moment.utcoffset() != timedelta(0):
        return "is not UTC; timestamps must be UTC (ISO 8601 ending in Z)"
    return None


def _on_grid(moment: datetime) -> bool:
    """Whether `moment` (aware) starts a UTC quarter hour."""
    utc = moment.astimezone(UTC)
    return utc.minute % RESOLUTION_MINUTES == 0 and utc.second == 0 and utc.microsecond == 0


def _utc_guess(stamp: pd.Timestamp) -> datetime:
    """UTC reading of a frame's index bound; naive ones are reported on the index itself."""
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC").to_pydatetime()
    return stamp.tz_convert("UTC").to_pydatetime()


def _iso(moment: datetime) -> str:
    """ISO 8601; UTC written with Z."""
    if moment.utcoffset() == timedelta(0):
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def _first_of(position: int, count: int, one: str, many: str) -> str:
    more = f", first of {count} {many}" if count > 1 else ""
    return f"{one} {position}{more}"


def _where(mask: np.ndarray, index: Sequence[datetime]) -> str:
    """`at <first quarter hour of mask>`, and how many more quarter hours the mask holds."""
    first, count = int(np.argmax(mask)), int(mask.sum())
    at = f"at {_iso(index[first])}" if first < len(index) else f"at position {first}"
    if count == 1:
        return at
    return f"{at} and {count - 1} more quarter hour{'s' if count > 2 else ''}"


def _sequence_problems(me: str, index: Sequence[datetime]) -> Iterator[Problem]:
    """The first duplicate, the first step backwards and (if none) the first gap of `index`."""
    seen: dict[datetime, int] = {}
    duplicate = backwards = gap = None
    for i, moment in enumerate(index):
        if moment in seen and duplicate is None:
            duplicate = (seen[moment], i)
        seen.setdefault(moment, i)
        if i == 0:
            continue
        step = moment - index[i - 1]
        if step < timedelta(0) and backwards is None:
            backwards = i
        elif step > QUARTER_HOUR and gap is None:
            gap = i
    if duplicate is not None:
        first, again = duplicate
        rule = f"appears twice (entries {first} and {again}; first duplicate)"
        yield Problem(me, "index", _iso(index[again]), rule)
    if backwards is not None:
        rule = (
            f"comes after {_iso(index[backwards - 1])}; the index must ascend "
            f"(entry {backwards}; first step back)"
        )
        yield Problem(me, "index", _iso(index[backwards]), rule)
    if gap is not None and backwards is None:
        before, after = index[gap - 1], index[gap]
        rule = f"is missing: the index jumps from {_iso(before)} to {_iso(after)} (first gap)"
        yield Problem(me, "index", _iso(before + QUARTER_HOUR), rule)


def _series_problems(
    subject: str,
    field: str,
    values: Series,
    index: Sequence[datetime],
    *,
    magnitude: bool = False,
) -> Iterator[Problem]:
    """Wrong length, non-finite values and (for magnitudes) negative values of one series."""
    if len(values) != len(index):
        rule = f"does not match the {len(index)} quarter hours of the index"
        yield Problem(subject, f"len({field})", len(values), rule)
    array = np.asarray(values, dtype=float)
    not_finite = ~np.isfinite(array)
    if not_finite.any():
        value = float(array[int(np.argmax(not_finite))])
        yield Problem(subject, field, value, f"is not a finite number {_where(not_finite, index)}")
    if magnitude:
        negative = array < 0
        if negative.any():
            value = float(array[int(np.argmax(negative))])
            rule = f"is negative {_where(negative, index)}; it is a magnitude in MW, >= 0"
            yield Problem(subject, field, value, rule)


def _from_long_at_once(
    frame: pd.DataFrame, keys: tuple[str, str], index: Sequence[datetime]
) -> dict[str, dict[str, list[float]]] | None:
    """`_from_long`'s series computed column-wise, where the table has no problem (every
    quarter hour one of `index`'s, none twice per key, every value a number); None
    otherwise, for `_from_long` to walk the rows and name each problem. A plan's tables
    hold thousands of rows a day, all of them sound."""
    if frame["mw"].isna().any():  # None is "not a number" there, NaN a value: rows decide
        return None
    try:
        stamps = pd.DatetimeIndex(frame["quarter_hour"])
        at = pd.DatetimeIndex(index).get_indexer(stamps)
        mw = frame["mw"].to_numpy(dtype=float)
    except (TypeError, ValueError, pd.errors.InvalidIndexError):
        return None
    if stamps.hasnans or (at < 0).any():
        return None
    outer = frame[keys[0]].astype(str).to_numpy()
    inner = frame[keys[1]].astype(str).to_numpy()
    cells = pd.DataFrame({"outer": outer, "inner": inner, "at": at})
    if cells.duplicated().any():
        return None
    series: dict[str, dict[str, list[float]]] = {}
    groups = cells.groupby(["outer", "inner"], sort=False).indices
    for (out, inn), rows in groups.items():
        values = np.zeros(len(index))
        values[at[rows]] = mw[rows]
        series.setdefault(str(out), {})[str(inn)] = values.tolist()
    return series


def _from_long(
    frame: pd.DataFrame | None,
    section: str,
    keys: tuple[str, str],
    index: Sequence[datetime],
) -> tuple[dict[str, dict[str, list[float]]], list[Problem]]:
    """Series aligned to `index` from a long table; absent quarter hours are 0 MW."""
    if frame is None:
        return {}, []
    columns = ("quarter_hour", *keys, "mw")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        rule = f"lacks the column(s) {', '.join(missing)}; expected {', '.join(columns)}"
        return {}, [Problem(f"{section} frame", "columns", [str(c) for c in frame.columns], rule)]
    fast = _from_long_at_once(frame, keys, index)
    if fast is not None:
        return fast, []
    position = {moment: i for i, moment in enumerate(index)}  # matched by instant
    series: dict[str, dict[str, list[float]]] = {}
    filled: set[tuple[str, str, int]] = set()
    found: dict[tuple[str, str, str], list[Any]] = {}  # (subject, field, rule) -> [value, rows]
    subject_kind = "asset" if keys[0] == "asset_id" else "zone"
    for stamp, outer, inner, mw in frame.loc[:, list(columns)].itertuples(index=False):
        outer, inner = str(outer), str(inner)
        subject, field = f"{subject_kind} {outer}", f"{section}.{inner}"
        moment = None if pd.isna(stamp) else pd.Timestamp(stamp).to_pydatetime()
        i = None if moment is None else position.get(moment)
        problem: tuple[str, str] | None = None
        if moment is None:
            problem = ("quarter_hour", "is missing")
        elif i is None:
            problem = ("quarter_hour", "is not a quarter hour of the injection frame's index")
        elif (outer, inner, i) in filled:
            problem = ("quarter_hour", "has two rows for one quarter hour")
        else:
            filled.add((outer, inner, i))
            try:
                series.setdefault(outer, {}).setdefault(inner, [0.0] * len(index))[i] = float(mw)
            except (TypeError, ValueError):
                problem = ("mw", "is not a number")
        if problem is not None:
            column, rule = problem
            value = mw if column == "mw" else None if moment is None else _iso(moment)
            found.setdefault((subject, f"{field}.{column}", rule), [value, 0])[1] += 1
    problems = [
        Problem(subject, field, value, rule + (f" (first of {rows} rows)" if rows > 1 else ""))
        for (subject, field, rule), (value, rows) in found.items()
    ]
    return series, problems


def _to_long(
    nested: Mapping[str, Mapping[Any, Series]], times: pd.DatetimeIndex, keys: tuple[str, str]
) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {"quarter_hour": times, keys[0]: outer, keys[1]: str(inner), "mw": list(values)}
        )
        for outer, inners in nested.items()
        for inner, values in inners.items()
    ]
    if parts:
        return pd.concat(parts, ignore_index=True)
    empty = {
        "quarter_hour": pd.DatetimeIndex([], tz=UTC),
        keys[0]: pd.Series([], dtype=str),
        keys[1]: pd.Series([], dtype=str),
        "mw": pd.Series([], dtype=float),
    }
    return pd.DataFrame(empty)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "DOWNWARD",
    "QUARTER_HOUR",
    "RESOLUTION_MINUTES",
    "TOLERANCE_MW",
    "UPWARD",
    "EnergyMarket",
    "Schedule",
    "read_schedule",
    "write_schedule",
]
