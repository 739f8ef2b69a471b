"""JSON request bodies read strictly: no duplicate keys, only storable text.

`json.loads` keeps the last of two equal keys (``"volume_mw": 1, "volume_mw": -1`` is a
buy), takes lone surrogates (``"\\ud800"``) and NUL as text, and any length of string.
`loads_strict` refuses each with a `JsonRefusedError` naming the field (its path in the body),
the value and the rule; the text rules are `trading.store.text`'s, so whatever passes here
can be stored on every database. Malformed JSON is left to the caller (`ValueError`).
"""

from __future__ import annotations

import json
from typing import Any

from trading.store.text import MAX_TEXT_CHARS, shown, text_rule

MAX_KEY_CHARS = 200
"""The longest object key a body may hold [characters]."""


class JsonRefusedError(ValueError):
    """A body refused before it reaches a route: `field`, `value` and `rule`."""

    def __init__(self, field: str, value: str, rule: str) -> None:
        super().__init__(f"{field}={value}: {rule}")
        self.field, self.value, self.rule = field, value, rule


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return found


def loads_strict(body: bytes | str, *, max_chars: int = MAX_TEXT_CHARS) -> Any:
    """The JSON document `body`; `JsonRefusedError` for a duplicate key or unstorable text.

    `ValueError` (``json.JSONDecodeError`` among them) if `body` is not JSON at all;
    `RecursionError` for absurd nesting.
    """
    try:
        document = json.loads(body, object_pairs_hook=_unique)
    except _DuplicateKeyError as duplicate:
        raise JsonRefusedError(
            f"body.{shown(duplicate.key)}",
            shown(duplicate.key),
            "appears twice in one object; send each key once",
        ) from None
    _check(document, ("body",), max_chars)
    return document


def _name(path: tuple[Any, ...]) -> str:
    """``body.0.bid_id`` for the linked path ``((("body",), 0), "bid_id")``."""
    parts: list[str] = []
    while len(path) == 2:
        path, last = path
        parts.append(shown(str(last)))
    parts.append(path[0])
    return ".".join(reversed(parts))


def _check(value: Any, path: tuple[Any, ...], max_chars: int) -> None:
    if isinstance(value, str):
        rule = text_rule(value, max_chars=max_chars)
        if rule is not None:
            raise JsonRefusedError(_name(path), shown(value), rule)
    elif isinstance(value, dict):
        for key, item in value.items():
            rule = text_rule(key, strict=True, max_chars=MAX_KEY_CHARS)
            if rule is not None:
                raise JsonRefusedError(_name((path, key)), shown(key), f"a key {rule}")
            _check(item, (path, key), max_chars)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, (path, index), max_chars)
