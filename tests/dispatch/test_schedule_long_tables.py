"""Long tables (bands, positions, capacity) become a schedule's series the same way
whether they are read column-wise or row by row: values, zeros, order of subjects."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.schedule import _from_long

INDEX = list(pd.date_range("2026-03-28T23:00Z", periods=12, freq="15min").to_pydatetime())


def expected(rows: list[tuple[int, str, str, float]]) -> dict[str, dict[str, list[float]]]:
    """Series built by hand: subjects and products in the order they first appear."""
    series: dict[str, dict[str, list[float]]] = {}
    for i, outer, inner, mw in rows:
        series.setdefault(outer, {}).setdefault(inner, [0.0] * len(INDEX))[i] = mw
    return series


cells = st.tuples(
    st.integers(0, len(INDEX) - 1),
    st.sampled_from(["bat-b", "bat-a", "pv-c"]),
    st.sampled_from(["afrr_pos", "afrr_neg", "fcr"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(cells, unique=True, max_size=40),
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=40, max_size=40),
)
def test_a_sound_table_gives_each_subject_its_series_in_first_seen_order(
    keys: list[tuple[int, str, str]], values: list[float]
) -> None:
    rows = [(i, o, n, values[k]) for k, (i, o, n) in enumerate(keys)]
    frame = pd.DataFrame(
        {
            "quarter_hour": [INDEX[i] for i, *_ in rows],
            "asset_id": [o for _, o, _, _ in rows],
            "product": [n for _, _, n, _ in rows],
            "mw": np.array([v for *_, v in rows], dtype=float),
        }
    )
    series, problems = _from_long(frame, "bands", ("asset_id", "product"), INDEX)
    assert problems == []
    want = expected(rows)
    assert series == want
    assert list(series) == list(want)
    assert all(list(series[o]) == list(want[o]) for o in want)


def test_a_table_with_a_problem_still_names_every_problem() -> None:
    stranger = datetime.fromisoformat("2026-03-29T12:07:00+00:00")
    frame = pd.DataFrame(
        {
            "quarter_hour": [INDEX[0], INDEX[0], stranger, INDEX[2]],
            "asset_id": ["bat-a", "bat-a", "bat-a", "bat-a"],
            "product": ["afrr_pos"] * 4,
            "mw": pd.Series([1.0, 2.0, 3.0, "x"], dtype=object),
        }
    )
    series, problems = _from_long(frame, "bands", ("asset_id", "product"), INDEX)
    rules = sorted(p.rule for p in problems)
    assert rules == [
        "has two rows for one quarter hour",
        "is not a number",
        "is not a quarter hour of the injection frame's index",
    ]
    assert series["bat-a"]["afrr_pos"][0] == 1.0
