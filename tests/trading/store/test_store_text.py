"""`text_problems` finds a bad string wherever it sits in JSON-like data, whatever the
container types (its quick path checks exact types first, abstract ones after)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trading.store.text import text_problems, text_rule

_TEXT = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x00\x07\ud800\t"))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_TEXT, inner, max_size=4)
        | st.dictionaries(_TEXT, inner, max_size=3).map(OrderedDict)
    ),
    max_leaves=12,
)


def _bad_strings(value: Any, max_chars: int) -> int:
    """How many strings of `value` (values and keys) break a rule, counted the slow way."""
    if isinstance(value, str):
        return int(text_rule(value, max_chars=max_chars) is not None)
    if isinstance(value, dict):
        return sum(
            int(text_rule(k, max_chars=200) is not None) or _bad_strings(v, max_chars)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return sum(_bad_strings(v, max_chars) for v in value)
    return 0


@given(_JSON, st.sampled_from([3, 10_000]))
def test_every_bad_string_is_named_once(value: Any, max_chars: int) -> None:
    problems = list(text_problems("doc", "doc", value, max_chars=max_chars))
    assert len(problems) == _bad_strings(value, max_chars)


def test_a_bad_string_in_a_mapping_subclass_inside_a_tuple_is_found() -> None:
    value = ({"fine": 1.5}, OrderedDict(ref="a\x00b"))
    (problem,) = text_problems("bid #1", "bid", value)
    assert problem.field == "bid.1.ref"
    assert "NUL" in problem.rule
