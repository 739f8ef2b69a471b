"""`write_skeleton`: the starting point of a market plugin shipped as its own pip package.

`vpp markets new CC --path DIR` calls it. The package it writes (``vpp-markets-<cc>``, import
package ``vpp_markets_<cc>``) registers its `MarketPlugin` in the ``vpp.markets`` entry-point
group exactly as the built-in countries do, builds day-ahead (SDAC), the intraday auctions and
continuous intraday (SIDC) from the shared `markets.eu` building blocks, and passes the
conformance kit as written. Every value the author must still confirm locally is a `Rule`
marked uncertain whose note says what to confirm. docs/adding-a-country.md takes it from there.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo, available_timezones

from markets import ENTRY_POINT_GROUP
from markets.calendar import zone as pendulum_zone
from markets.registry import BUILTIN_COUNTRIES

__all__ = ["SkeletonError", "write_skeleton"]

NAME_MAX = 60
"""Longest country name accepted (characters), so that generated lines stay within 100."""

REVIEW_DAYS = 90
"""A skeleton's placeholders are due for review this many days after it is written."""

_COUNTRY = re.compile(r"[A-Z]{2}")
_ZONE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")
_CET = "Europe/Berlin"


class SkeletonError(ValueError):
    """An argument of `write_skeleton` breaks a rule; names the field, its value and the rule."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}={value!r} is refused: it {rule}")


def write_skeleton(
    country: str,
    path: Path,
    *,
    name: str | None = None,
    timezone: str = "Europe/Berlin",
    bidding_zone: str | None = None,
) -> list[Path]:
    """Write the skeleton of the market plugin package of `country` into directory `path`.

    `country` is the ISO 3166-1 alpha-2 code (two upper-case letters) and must not be one of
    vpp-engine's built-in countries; `name` is the country's name for people (default: the
    code); `timezone` is the IANA zone of the country's delivery days; `bidding_zone` defaults
    to the country code. `path` is created; it may exist only as an empty directory. Every
    argument is checked before anything is written; `SkeletonError` names the one at fault.

    Returns the files written, in the order they were written.
    """
    files = _render(country, Path(path), name, timezone, bidding_zone)
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _render(
    country: str, path: Path, name: str | None, timezone: str, bidding_zone: str | None
) -> dict[str, str]:
    """Check every argument, then the text of each file by its path relative to `path`."""
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise SkeletonError(
            "country", country, "must be two upper-case letters (ISO 3166-1), e.g. 'CZ'"
        )
    if country in BUILTIN_COUNTRIES:
        raise SkeletonError(
            "country",
            country,
            f"is built into vpp-engine ({', '.join(BUILTIN_COUNTRIES)}); change "
            f"markets/countries/{country.lower()}.py instead of shipping a package",
        )
    _check_timezone(timezone)
    zone = country if bidding_zone is None else bidding_zone
    if not isinstance(zone, str) or not _ZONE.fullmatch(zone):
        raise SkeletonError(
            "bidding_zone",
            zone,
            "must be 1-20 letters, digits, '_' or '-', starting with a letter or digit, "
            "e.g. 'CZ' or 'DE_LU'",
        )
    title = country if name is None else name
    _check_name(title)
    if path.exists() and not path.is_dir():
        raise SkeletonError("path", str(path), "is a file; choose a new or an empty directory")
    if path.exists() and any(path.iterdir()):
        raise SkeletonError(
            "path", str(path), "exists and is not empty; choose a new or an empty directory"
        )
    cc = country.lower()
    review = date.today() + timedelta(days=REVIEW_DAYS)
    values = {
        "country": country,
        "name": title,
        "timezone": timezone,
        "zone": zone,
        "group": ENTRY_POINT_GROUP,
        "distribution": f"vpp-markets-{cc}",
        "package": f"vpp_markets_{cc}",
        "review_year": str(review.year),
        "review_month": str(review.month),
        "review_day": str(review.day),
        "timezone_warning": "" if _follows_cet(timezone) else _NOT_CET.substitute(tz=timezone),
    }
    return {
        "pyproject.toml": _PYPROJECT.substitute(values),
        f"vpp_markets_{cc}/__init__.py": _PLUGIN.substitute(values),
        "tests/test_conformance.py": _TEST.substitute(values),
        "README.md": _README.substitute(values),
    }


def _check_timezone(timezone: str) -> None:
    rule = "must be an IANA time zone name such as 'Europe/Prague'"
    if not isinstance(timezone, str) or timezone not in available_timezones():
        raise SkeletonError("timezone", timezone, rule)
    try:
        pendulum_zone(timezone)
    except Exception as exc:  # pendulum must load what the plugin will use at run time
        raise SkeletonError("timezone", timezone, f"{rule} ({exc})") from exc


def _check_name(name: str) -> None:
    rule = (
        f"must be 1-{NAME_MAX} printable characters without quotes or backslashes, e.g. 'Czechia'"
    )
    if (
        not isinstance(name, str)
        or not name.strip()
        or name != name.strip()
        or len(name) > NAME_MAX
        or any(c in '"\\' or unicodedata.category(c).startswith("C") for c in name)
    ):
        raise SkeletonError("name", name, rule)


def _follows_cet(timezone: str) -> bool:
    """Whether `timezone` keeps CET/CEST's UTC offset every day of the next two years."""
    ours, cet = ZoneInfo(timezone), ZoneInfo(_CET)
    start = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    for hours in range(2 * 366 * 24):
        moment = start + timedelta(hours=hours)
        if moment.astimezone(ours).utcoffset() != moment.astimezone(cet).utcoffset():
            return False
    return True


_NOT_CET = Template(
    """
> **Time zone.** `markets.eu` states the pan-European gate times (SDAC 12:00 D-1, the
> intraday auctions, the continuous gate openings) in the plugin's own time zone, which is
> right for CET/CEST countries. This package's time zone does not follow CET/CEST:
> $tz. Check every time inherited from `markets.eu` before relying on it (SDAC defines
> its delivery days and gates in CET).
"""
)

_PYPROJECT = Template(
    """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "$distribution"
version = "0.1.0"
description = "Market rules of $name ($country) for vpp-engine"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["vpp-engine"]

[project.optional-dependencies]
# The package's own checks: `pip install -e ".[test]"`, then `pytest` and `ruff check .`.
test = ["pytest>=8.0", "ruff>=0.5"]

# vpp-engine finds the plugin here, under the country code, once the package is installed.
[project.entry-points."$group"]
$country = "$package:PLUGIN"

[tool.hatch.build.targets.wheel]
packages = ["$package"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM", "RUF", "PT", "C4", "N", "ANN001", "ANN201"]
ignore = ["RUF001", "RUF002", "RUF003"]  # a country's name may use any letters

[tool.ruff.lint.isort]
known-first-party = ["$package"]
known-third-party = ["markets"]
"""
)

_PLUGIN = Template(
    '''\
"""Market rules of $name for vpp-engine.

Country $country, bidding zone $zone, time zone $timezone.

Written by `vpp markets new $country`. The shared rules of SDAC and SIDC come from
`markets.eu`; each local value is a placeholder marked uncertain (U) whose note says what to
confirm. Replace each with the confirmed value, its source and confidence (see README.md).
"""

from __future__ import annotations

from datetime import date

from markets.eu import (
    HISTORY_START,
    C,
    U,
    contract,
    sdac_day_ahead,
    sidc_continuous,
    sidc_intraday_auctions,
    since_start,
)
from markets.gates import OffsetGate
from markets.plugin import MarketPlugin
from markets.rules import rule

COUNTRY, ZONE, TZ = "$country", "$zone", "$timezone"
TO_CONFIRM = "skeleton placeholder (vpp markets new), not yet checked against a local source"
REVIEW_BY = date($review_year, $review_month, $review_day)
"""Each placeholder must be confirmed by this day (90 days after the skeleton was written);
the conformance kit refuses an uncertain value without a review date."""

PLUGIN = MarketPlugin(
    country=COUNTRY,
    name="$name",
    timezone=TZ,
    markets=(
        sdac_day_ahead(COUNTRY, ZONE, TZ).with_rules(
            in_operation=(
                since_start(
                    True,
                    TO_CONFIRM,
                    U,
                    "confirm that this bidding zone is coupled in SDAC, and since when",
                    review_by=REVIEW_BY,
                ),
            ),
        ),
        sidc_intraday_auctions(COUNTRY, ZONE, TZ).with_rules(
            in_operation=(
                rule(
                    False, HISTORY_START, "NEMO Committee", C, "no pan-European IDA before 2024-06"
                ),
                rule(
                    True,
                    "2024-06-14",
                    TO_CONFIRM,
                    U,
                    "confirm that this bidding zone takes part in IDA1-3 from their go-live",
                    review_by=REVIEW_BY,
                ),
            ),
        ),
        sidc_continuous(
            COUNTRY,
            ZONE,
            TZ,
            contracts=(
                since_start(
                    (contract(60, 15), contract(30, 15), contract(15, 15)),
                    TO_CONFIRM,
                    U,
                    "confirm which contract lengths are traded locally and when each opens; "
                    "15:00 D-1 is the cross-zonal gate opening",
                    review_by=REVIEW_BY,
                ),
            ),
            local_gate_closure=(
                since_start(
                    OffsetGate(minutes_before=60),
                    TO_CONFIRM,
                    U,
                    "confirm the local gate closure; 60 min equals the cross-border closure, "
                    "the earliest it can be (DE, NL, BE and AT close 5 min before delivery)",
                    review_by=REVIEW_BY,
                ),
            ),
        ),
    ),
)
"""This country's markets; vpp-engine loads them through the `$group` entry point."""
'''
)

_TEST = Template(
    '''\
"""vpp-engine's conformance kit, run on this package's market plugin."""

from __future__ import annotations

from markets.conformance import assert_conformant
from markets.registry import default_registry

from $package import PLUGIN


def test_plugin_passes_the_conformance_kit() -> None:
    assert_conformant(PLUGIN)


def test_plugin_is_registered_under_its_country_code() -> None:
    registry = default_registry()
    assert registry.get("$country") is PLUGIN
    assert registry.origin("$country").startswith("$distribution ")
'''
)

_README = Template(
    """\
# $distribution

Market rules of $name for vpp-engine, shipped as its own package:

- country: $country
- bidding zone: $zone
- time zone: $timezone

Once it is installed, vpp-engine finds the plugin through the entry point `$country` in the
group `$group` (see `pyproject.toml`).

Written by `vpp markets new $country`. It passes vpp-engine's conformance kit as written, but
its local values are placeholders marked uncertain: do not trade on it before they are
confirmed.
$timezone_warning
## Files

- `pyproject.toml`: the package's name, its dependency on vpp-engine and the entry point
  that registers the plugin under `$country`.
- `$package/__init__.py`: the plugin, `PLUGIN`: day-ahead (SDAC), the intraday auctions
  and continuous intraday (SIDC), built from `markets.eu`, each rule dated and sourced.
- `tests/test_conformance.py`: runs vpp-engine's conformance kit on the plugin and checks
  that it is registered.
- `README.md`: this file.

## Next steps

1. Install the package where vpp-engine is installed, with its test tools:
   `pip install -e "<this directory>[test]"` (pytest and ruff).
2. `vpp markets list` shows $country with origin `$distribution 0.1.0`;
   `vpp markets check $country` runs the conformance kit (exit code 0: all checks pass).
3. Confirm each placeholder in `$package/__init__.py` (confidence `U`, source
   "skeleton placeholder ..."); its note says what to confirm:
   - day-ahead: whether and since when the zone is coupled in SDAC (`in_operation`);
   - intraday auctions: whether the zone takes part in IDA1-3 (`in_operation`);
   - continuous intraday: the contracts and their gate openings (`contracts`);
   - continuous intraday: the local gate closure (`local_gate_closure`).
   Write the value you confirmed, where you read it (`source`, and `reference=`: a URL or
   document a reviewer can open), when (`retrieved_on=`, `recorded_at=`), who wrote and who
   approved it (`recorded_by=`, `approved_by=`: two people) and how sure you are
   (`confidence`: confirmed, general or uncertain, the last with `review_by=`). A later
   change of a rule is a new, dated record appended to its history; a correction names the
   record it corrects in `supersedes=`; never edit a record (docs/compliance.md).
4. Add the balancing markets (aFRR capacity and energy, FCR) with the `markets.eu` helpers.
5. Run `pytest`, `ruff check .` and `ruff format --check .` in this directory and
   `vpp markets check $country` until all pass.
6. Publish: build a wheel (`pip wheel --no-deps -w dist .`) and upload it to your package
   index, or install straight from your repository.

The whole walk-through is docs/adding-a-country.md in vpp-engine.
"""
)
