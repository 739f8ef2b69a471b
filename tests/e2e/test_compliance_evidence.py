"""Issue 17 end to end: a bid refused over the real HTTP API of `vpp serve` keeps its
decision (plugin version, rule ids), an accepted one shows them in its history, the
compliance key reads the audit log, and `vpp compliance export` of the day verifies."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from serve_process import create_key, quarter_hour, start_server, vpp

from markets.registry import default_registry
from trading.compliance.evidence import engine_version


def test_a_refused_bid_keeps_its_evidence_and_the_days_export_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    trader = create_key(url)
    officer = create_key(url, role="compliance")
    day = datetime.now(UTC).date() + timedelta(days=3)
    product_id = quarter_hour(day, 0)
    product = default_registry().get("DE").product(product_id)
    assert product is not None
    price_cap = product.rules["price_max"].rule_id

    server = start_server(url, tmp_path / "serve.log")
    try:
        headers = {"X-API-Key": trader}
        good = {
            "type": "single",
            "product_id": product_id,
            "volume_mw": 1.0,
            "price_eur_per_mwh": 40.0,
            "bid_id": "e2e/ok",
        }
        dear = {**good, "price_eur_per_mwh": 99999.0, "bid_id": "e2e/dear"}
        refused = httpx.post(f"{server.base}/v1/bids", json=dear, headers=headers, timeout=30)
        assert refused.status_code == 422, refused.text
        (refusal,) = refused.json()["bids"]
        assert refusal["rule_ids"] == [price_cap]

        history = httpx.get(
            f"{server.base}/v1/refusals/{refusal['refusal_id']}", headers=headers, timeout=30
        )
        assert history.status_code == 200, history.text
        decision = history.json()
        assert decision["plugin_distribution"] == "vpp-engine"
        assert decision["plugin_version"] == engine_version()
        assert price_cap in decision["rule_ids"]
        assert set(product.rule_ids) <= set(decision["rule_ids"])
        assert decision["violations"][0]["rule_id"] == price_cap
        assert httpx.get(f"{server.base}/v1/bids", headers=headers, timeout=30).json()["total"] == 0

        stored = httpx.post(f"{server.base}/v1/bids", json=good, headers=headers, timeout=30)
        assert stored.status_code == 201, stored.text
        bid_id = stored.json()["bids"][0]["id"]
        (created,) = httpx.get(
            f"{server.base}/v1/bids/{bid_id}", headers=headers, timeout=30
        ).json()["history"]
        assert created["plugin_version"] == engine_version()
        assert created["rule_ids"] == list(product.rule_ids)

        audit = httpx.get(
            f"{server.base}/v1/audit", headers={"X-API-Key": officer}, timeout=30
        ).json()
        assert {"bid.refuse", "bid.create"} <= {row["action"] for row in audit["items"]}
        assert httpx.get(f"{server.base}/v1/audit", headers=headers, timeout=30).status_code == 403
    finally:
        server.stop()

    out = tmp_path / "export"
    today = datetime.now(UTC).date()
    period = ["--from", today.isoformat(), "--to", (today + timedelta(days=1)).isoformat()]
    exported = subprocess.run(
        vpp("compliance", "export", *period, "--out", str(out), "--db", url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    verified = subprocess.run(
        vpp("compliance", "verify", str(out)), capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stderr
    decisions = json.loads((out / "bid_decisions.json").read_text(encoding="utf-8"))
    assert [(d["decision"], d["client_bid_id"]) for d in decisions] == [
        ("refused", "e2e/dear"),
        ("accepted", "e2e/ok"),
    ]
    assert price_cap in decisions[0]["rule_ids"]

    (out / "bid_decisions.json").write_text(json.dumps(decisions[1:]), encoding="utf-8")
    tampered = subprocess.run(
        vpp("compliance", "verify", str(out)), capture_output=True, text=True, timeout=120
    )
    assert tampered.returncode == 1
    assert "FAILED bid_decisions.json" in tampered.stderr
