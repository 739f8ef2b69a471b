"""Checks shared by the store's operations; each names the field, the value and the rule.

Those that return problems (`aware_problems`, `json_problems`) let a caller collect every
problem first; those that raise (`check_*`) raise `InvalidInputError` at once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from regulatory.problems import Problem
from trading.store.errors import invalid

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Tenant, portfolio and asset ids: letters, digits, '.', '_' and '-', at most 64 chars."""

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
"""Idempotency keys: 1 to 200 visible ASCII characters (no spaces)."""

MAX_PAGE_SIZE = 1000
"""The largest page a list query returns."""

E = TypeVar("E", bound=StrEnum)


def aware_problems(subject: str, field: str, value: object) -> Iterator[Problem]:
    """`value` must be a timezone-aware datetime."""
    if not isinstance(value, datetime):
        yield Problem(subject, field, short(value), "must be a timezone-aware datetime")
    elif not is_aware(value):
        yield Problem(subject, field, value.isoformat(), "has no time zone; give an aware datetime")


def json_problems(subject: str, field: str, value: object) -> Iterator[Problem]:
    """`value` must be None or a mapping that serialises to strict JSON (no NaN, no inf)."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        yield Problem(subject, field, short(value), "must be a mapping (a JSON object) or None")
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        yield Problem(subject, field, short(value), f"must be JSON data ({exc})")


def check_identifier(subject: str, field: str, value: object) -> str:
    """`value` if it is an identifier (see `IDENTIFIER`), else `InvalidInputError`."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise invalid(
            subject,
            field,
            value,
            "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return value


def check_idempotency_key(key: object) -> str:
    """`key` if it is a valid idempotency key (see `IDEMPOTENCY_KEY`)."""
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        raise invalid(
            "bids", "idempotency_key", key, "must be 1 to 200 visible ASCII characters, no spaces"
        )
    return key


MAX_OFFSET = 2**62
"""The largest row offset a list query takes (databases count rows in 64-bit integers)."""


def check_page(page: object, limit: object) -> tuple[int, int]:
    """(page, limit) if page >= 1 and 1 <= limit <= `MAX_PAGE_SIZE`."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise invalid("page", "page", page, "must be a whole number >= 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid("page", "limit", limit, f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
    if (page - 1) * limit > MAX_OFFSET:
        raise invalid(
            "page", "page", page, f"puts the offset past {MAX_OFFSET} rows at limit {limit}"
        )
    return page, limit


def check_enum(enum: type[E], subject: str, field: str, value: object) -> E:
    """`value` as a member of `enum`, else `InvalidInputError` listing the members."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise invalid(subject, field, value, f"must be one of {allowed}") from None


def check_finite(subject: str, field: str, value: object, *, optional: bool = False) -> None:
    """`value` must be a finite number (or None when `optional`)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(subject, field, value, "must be a finite number")


def is_aware(value: object) -> bool:
    """Whether `value` is a datetime with a time zone."""
    return isinstance(value, datetime) and value.utcoffset() is not None


def short(value: object) -> object:
    """`value` if it is a plain scalar, else its type's name (for messages)."""
    return value if isinstance(value, str | int | float | bool | None) else type(value).__name__
