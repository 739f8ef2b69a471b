"""Per-asset series written by hand stay valid Prometheus text for any asset id or zone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from dispatch.asset_series import AssetTable
from dispatch.metrics_server import exposition
from dispatch.observability import DispatchMetrics

label_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        label_text,
        st.tuples(label_text, st.integers(min_value=0, max_value=10**9)),
        max_size=8,
    )
)
def test_any_asset_and_zone_text_reads_back_as_written(counts: dict) -> None:
    registry = CollectorRegistry()
    zones = {asset: zone for asset, (zone, _) in counts.items()}
    metrics = DispatchMetrics(registry, pool='p "1"', zones=zones)
    for asset, (_, count) in counts.items():
        metrics.commands.labels(asset, "afrr", "modbus").inc(count)
    read = {
        (s.labels["asset"], s.labels["zone"]): s.value
        for f in text_string_to_metric_families(exposition(registry).decode())
        for s in f.samples
        if s.name == "vpp_dispatch_commands_total"
    }
    assert read == {(asset, zone): float(count) for asset, (zone, count) in counts.items()}


def test_a_table_refuses_a_wrong_number_of_labels() -> None:
    table = AssetTable("vpp_x", "x", ["pool", "asset"], "counter")
    table.labels("p", "a").inc()
    with pytest.raises(ValueError, match="vpp_x"):
        table.labels("p")
