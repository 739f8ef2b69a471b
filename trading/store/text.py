"""Text every database of the store can hold: no NUL, no lone surrogates, no control codes.

PostgreSQL's ``text`` cannot hold NUL (U+0000), and a lone surrogate (U+D800..U+DFFF) is
not Unicode at all: it cannot be encoded as UTF-8, so PostgreSQL refuses it and SQLite
stores it but cannot give it back as JSON. Control characters other than tab, line feed
and carriage return are refused too: no identifier or reference needs them, and they hide
in logs. `text_rule` says which rule a string breaks; `text_problems` walks JSON-like data
and names the path of each bad string (keys included); `shown` renders any value for an
error message, escaped and shortened, so that the message itself is always storable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from regulatory.problems import Problem

MAX_TEXT_CHARS = 10_000
"""The longest string any stored document may hold [characters]."""

_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""NUL, C0 controls but tab/LF/CR, DEL, C1 controls, surrogates."""

_BAD_STRICT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""As `_BAD`, tab, LF and CR included (for identifiers, paths and query parameters)."""

MAX_KEY_CHARS = 200
"""The longest key of a stored JSON object [characters]."""

SHOWN_CHARS = 80
"""How much of a refused value an error message repeats [characters]."""


def text_rule(value: str, *, strict: bool = False, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """The rule `value` breaks, in words, or None if it may be stored.

    `strict` also refuses tab, line feed and carriage return (identifiers, URL parts).
    """
    found = (_BAD_STRICT if strict else _BAD).search(value)
    if found is not None:
        char = found.group()
        code = ord(char)
        if code == 0:
            return "must not contain NUL (U+0000): PostgreSQL text cannot hold it"
        if 0xD800 <= code <= 0xDFFF:
            return (
                f"must not contain a lone surrogate (U+{code:04X} at character {found.start()})"
                ": it is not Unicode and cannot be stored as UTF-8"
            )
        return f"must not contain control character U+{code:04X} (at character {found.start()})"
    if len(value) > max_chars:
        return f"must be at most {max_chars} characters (has {len(value)})"
    return None


def text_problems(
    subject: str, field: str, value: object, *, max_chars: int = MAX_TEXT_CHARS
) -> Iterator[Problem]:
    """A problem per string in `value` (JSON-like: mappings, lists, scalars) breaking a rule.

    Mapping keys are checked as strings too; fields are named by their path
    (``bid.points.0.x``).
    """
    if _storable(value, max_chars):  # the usual case, without naming every path
        return
    if isinstance(value, str):
        rule = text_rule(value, max_chars=max_chars)
        if rule is not None:
            yield Problem(subject, field, shown(value), rule)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{shown(key)}" if field else shown(key)
            if (
                isinstance(key, str)
                and (rule := text_rule(key, max_chars=MAX_KEY_CHARS)) is not None
            ):
                yield Problem(subject, name, shown(key), f"key {rule}")
                continue
            yield from text_problems(subject, name, item, max_chars=max_chars)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from text_problems(subject, f"{field}.{index}", item, max_chars=max_chars)


_SCALARS = frozenset({int, float, bool, type(None)})
"""Types of JSON values that hold no text."""


def _storable(value: object, max_chars: int) -> bool:
    """Whether no string in `value` (JSON-like) breaks a rule of `text_problems`."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)  # exact types first: `isinstance` of an ABC costs far more
        if kind in _SCALARS:
            continue
        if kind is str or isinstance(item, str):
            if len(item) > max_chars or _BAD.search(item) is not None:
                return False
        elif kind is dict or isinstance(item, Mapping):
            for key, inner in item.items():
                if isinstance(key, str) and (len(key) > MAX_KEY_CHARS or _BAD.search(key)):
                    return False
                pending.append(inner)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return True


def shown(value: object) -> str:
    """`value` as text for a message: bad characters escaped, at most `SHOWN_CHARS` long."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > SHOWN_CHARS
    text = text[:SHOWN_CHARS]
    text = _BAD_STRICT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return f"{text}... ({len(value) if isinstance(value, str) else 'long'} chars)" if cut else text
