"""`vpp compliance export|verify` on a database with bids (SQLite and PostgreSQL): the export
of a day with bids verifies against its manifest; a tampered, missing or extra file fails,
named."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_factories import day_ahead, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant
from typer.testing import CliRunner

from markets.bids import SingleBid
from markets.registry import default_registry
from trading.cli import app
from trading.compliance.evidence import evidence_for
from trading.store import Actor, NewRefusal, Repository

runner = CliRunner()
PRICE_MAX = day_ahead()[0].rules["price_max"].rule_id


def _day_with_bids(repo: Repository, tenant: str) -> None:
    product = day_ahead()[0]
    bid = SingleBid(product_id=product.product_id, volume_mw=1.0, price_eur_per_mwh=50.0)
    evidence = evidence_for(default_registry(), "DE", bid)
    accepted = single(
        0,
        plugin_distribution=evidence.plugin.distribution,
        plugin_version=evidence.plugin.version,
        rule_ids=evidence.rule_ids,
    )
    repo.add_bids(tenant, None, [accepted], "req-1", at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    refusal = NewRefusal(
        position=0,
        product_id=day_ahead()[1].product_id,
        document={"type": "single", "price_eur_per_mwh": 99999.0},
        rule_ids=list(evidence.rule_ids),
        violations=[{"rule": "day_ahead.price_max", "rule_id": PRICE_MAX}],
        country="DE",
        market="day_ahead",
        plugin_distribution="vpp-engine",
        plugin_version=evidence.plugin.version,
    )
    repo.record_refusals(Actor.system(tenant), [refusal], at=datetime(2026, 3, 1, 9, 5, tzinfo=UTC))


def test_an_export_of_a_day_with_bids_verifies_and_holds_every_decision(
    repo: Repository, tenant: str, db_url: str, tmp_path: Path
) -> None:
    _day_with_bids(repo, tenant)
    out = tmp_path / "export"
    done = runner.invoke(
        app,
        [
            "compliance",
            "export",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-01",
            "--out",
            str(out),
            "--db",
            db_url,
        ],
    )
    assert done.exit_code == 0, done.output
    assert "bid_decisions: 2 rows" in done.output
    checked = runner.invoke(app, ["compliance", "verify", str(out)])
    assert checked.exit_code == 0, checked.output
    kept = done.output.split("manifest sha256 ")[1].split()[0]
    assert f"manifest sha256 {kept}" in checked.output  # the auditor compares the two

    decisions = json.loads((out / "bid_decisions.json").read_text(encoding="utf-8"))
    assert [d["decision"] for d in decisions] == ["accepted", "refused"]
    assert all(PRICE_MAX in d["rule_ids"] for d in decisions)
    assert decisions[0]["at"] == "2026-03-01T09:00:00Z"
    with (out / "bid_decisions.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert json.loads(rows[1]["violations"])[0]["rule_id"] == PRICE_MAX
    assert rows[0]["plugin_distribution"] == "vpp-engine"

    audit = json.loads((out / "audit_log.json").read_text(encoding="utf-8"))
    assert [a["action"] for a in audit] == ["bid.create", "bid.refuse"]
    assert all(a["author_key_id"] is None and a["author_role"] is None for a in audit)
    rules = json.loads((out / "market_rules.json").read_text(encoding="utf-8"))
    cited = {r["rule_id"]: r for r in rules}
    assert set(decisions[0]["rule_ids"]) <= set(cited)  # every id cited is an exported rule
    assert cited[PRICE_MAX]["source"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}
    assert manifest["files"]["bid_decisions.json"]["rows"] == 2

    # the day before holds none of it
    before = tmp_path / "before"
    args = ["--from", "2026-02-28", "--to", "2026-02-28", "--out", str(before), "--db", db_url]
    assert runner.invoke(app, ["compliance", "export", *args]).exit_code == 0
    assert json.loads((before / "bid_decisions.json").read_text(encoding="utf-8")) == []


def test_a_tampered_missing_or_extra_file_fails_verification_naming_it(
    repo: Repository, tenant: str, db_url: str, tmp_path: Path
) -> None:
    _day_with_bids(repo, tenant)
    out = tmp_path / "export"
    args = ["--from", "2026-03-01", "--to", "2026-03-01", "--out", str(out), "--db", db_url]
    assert runner.invoke(app, ["compliance", "export", *args]).exit_code == 0
    decisions = out / "bid_decisions.csv"
    decisions.write_text(decisions.read_text(encoding="utf-8").replace("refused", "accepted"))
    (out / "audit_log.json").unlink()
    (out / "notes.txt").write_text("added later")
    failed = runner.invoke(app, ["compliance", "verify", str(out)])
    assert failed.exit_code == 1
    assert "FAILED bid_decisions.csv: SHA-256 is" in failed.output
    assert "FAILED audit_log.json: is listed in the manifest but missing" in failed.output
    assert "FAILED notes.txt: is not listed in the manifest" in failed.output
    assert "market_rules" not in failed.output  # the untouched files pass


def test_an_export_refuses_a_folder_that_holds_files_and_a_backward_period(
    db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "old.csv").write_text("x")
    args = ["--from", "2026-03-01", "--to", "2026-03-01", "--db", db_url]
    full = runner.invoke(app, ["compliance", "export", *args, "--out", str(tmp_path)])
    assert full.exit_code == 2
    assert "is not an empty folder" in full.output
    backward = ["--from", "2026-03-02", "--to", "2026-03-01", "--db", db_url]
    wrong = runner.invoke(app, ["compliance", "export", *backward, "--out", str(tmp_path / "n")])
    assert wrong.exit_code == 2
    assert "--to=2026-03-01 is before --from=2026-03-02" in wrong.output
    bad = runner.invoke(
        app, ["compliance", "export", "--from", "2026-13-01", "--to", "2026-03-01", "--out", "x"]
    )
    assert bad.exit_code == 2
    assert "--from='2026-13-01' is not a date" in bad.output


@pytest.mark.parametrize("broken", ["{not json", '{"format": "other", "files": {}}'])
def test_a_manifest_that_is_not_one_fails_naming_it(tmp_path: Path, broken: str) -> None:
    (tmp_path / "manifest.json").write_text(broken)
    failed = runner.invoke(app, ["compliance", "verify", str(tmp_path)])
    assert failed.exit_code == 1
    assert "FAILED manifest.json: cannot be read as an export manifest" in failed.output
