"""`vpp markets rules|treatments|review`: the questions an auditor asks, answered."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()


def _json(*args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _mtu(rows: object) -> dict:
    (row,) = [r for r in rows if r["parameter"] == "mtu_minutes"]  # type: ignore[union-attr]
    return row


def test_rules_on_a_day_show_the_corrected_30_minute_mtu_with_its_source():
    row = _mtu(
        _json("markets", "rules", "FR", "--market", "intraday_auction", "--on", "2024-09-01")
    )
    assert row["value"] == "30"
    assert row["source"].startswith("Nord Pool")  # revised the same day (audit session 5)
    assert row["reference"].startswith("https://")
    assert (row["recorded_at"], row["superseded_at"]) == ("2026-12-06", None)
    assert row["recorded_by"] != row["approved_by"]
    assert row["id"] == "FR:intraday_auction:mtu_minutes:2024-06-14:2026-12-06:r2"


def test_rules_known_on_a_day_before_the_correction_show_the_old_value_and_its_times():
    row = _mtu(
        _json(
            "markets",
            "rules",
            "FR",
            "--market",
            "intraday_auction",
            "--on",
            "2024-09-01",
            "--known-on",
            "2026-12-01",
        )
    )
    assert row["value"] == "15"
    assert (row["recorded_at"], row["superseded_at"]) == ("2026-11-22", "2026-12-06")


def test_the_diff_of_two_editions_names_what_was_withdrawn_and_what_corrected_it():
    found = _json("markets", "rules", "FR", "--diff", "2026-12-01", "2026-12-06")
    changes = {c["id"]: c for c in found["changes"]}  # type: ignore[index]
    old = changes["FR:intraday_auction:mtu_minutes:2024-06-14:2026-11-22"]
    assert old["diff"] == "withdrawn"
    # corrected that day, then revised that day: the diff names the record at the chain's end
    assert old["corrected_by"] == ["FR:intraday_auction:mtu_minutes:2024-06-14:2026-12-06:r2"]
    assert "FR:intraday_auction:mtu_minutes:2024-06-14:2026-12-06" not in changes
    assert changes["FR:intraday_auction:mtu_minutes:2025-02-01:2026-12-06"]["diff"] == "added"
    # nothing was recorded for the intraday auctions on 2026-12-07 (the French aFRR
    # capacity market was corrected that day: test_market_sources_audit7.py)
    same = _json(
        "markets",
        "rules",
        "FR",
        "--market",
        "intraday_auction",
        "--diff",
        "2026-12-06",
        "2026-12-07",
    )
    assert same["changes"] == []  # type: ignore[index]


def test_every_record_ever_held_includes_the_superseded_ones():
    everything = _json("markets", "rules", "FR", "--market", "intraday_auction", "--all-records")
    today = _json("markets", "rules", "FR", "--market", "intraday_auction")
    ids_all = {r["id"] for r in everything}  # type: ignore[union-attr]
    ids_today = {r["id"] for r in today}  # type: ignore[union-attr]
    superseded = ids_all - ids_today
    assert "FR:intraday_auction:mtu_minutes:2024-06-14:2026-11-22" in superseded
    # each replaced by the audit: a legacy record, or one the audit revised the same day
    assert all(i.endswith((":2026-11-22", ":2026-12-06")) for i in superseded)
    assert "FR:intraday_auction:mtu_minutes:2024-06-14:2026-12-06" in superseded
    assert len(ids_all) > len(ids_today)


def test_treatments_on_a_day_as_known_before_and_after_the_levies_of_2026():
    after = _json("markets", "treatments", "DE", "--on", "2026-02-01")
    before = _json("markets", "treatments", "DE", "--on", "2026-02-01", "--known-on", "2026-12-05")
    assert after["in_force"]["id"] == "DE:regulatory:2026.1-rev2"  # type: ignore[index]
    assert before["in_force"]["id"] == "DE:regulatory:2025.3"  # type: ignore[index]
    facts = {f["id"]: f for f in after["facts"]}  # type: ignore[index]
    kwkg = facts["DE:regulatory:2026.1-rev2:charging:KWKG levy"]
    assert "eur_per_mwh=4.46" in kwkg["value"]
    assert kwkg["reference"].startswith("https://")


def test_treatments_diff_lists_the_versions_the_audit_added():
    found = _json("markets", "treatments", "AT", "--diff", "2026-12-05", "2026-12-06")
    added = [c["id"] for c in found["changes"] if c["diff"] == "added"]  # type: ignore[index]
    # 2026.1 and 2027.1 were recorded and re-recorded with sources on 2026-12-06 (session 4),
    # so the day's edition holds their re-recordings; 2022.1 is withdrawn, corrected.
    assert added == [
        "AT:regulatory:2022.1-rev1",
        "AT:regulatory:2026.1-rev1",
        "AT:regulatory:2027.1-rev1",
    ]
    withdrawn = {c["id"]: c["corrected_by"] for c in found["changes"] if c["diff"] == "withdrawn"}  # type: ignore[index]
    assert withdrawn == {"AT:regulatory:2022.1": ["AT:regulatory:2022.1-rev1"]}


def test_review_lists_every_uncertain_value_with_its_review_date_and_changes_due():
    found = _json("markets", "review", "--days", "60", "--today", "2026-12-06")
    uncertain = found["uncertain"]  # type: ignore[index]
    ids = {row["id"] for row in uncertain}
    assert "FR:intraday_auction:mtu_minutes:2025-02-01:2026-12-06" in ids
    assert "DE:intraday_continuous:local_gate_closure:2022-01-01:2026-12-06" in ids
    assert "AT:regulatory:2026.1-rev1" in ids  # its start day is uncertain
    assert all(row["review_by"] for row in uncertain)
    assert not any(row["overdue"] for row in uncertain)
    scheduled = found["scheduled"]  # type: ignore[index]
    assert [(row["on"], row["id"]) for row in scheduled] == [
        ("2027-01-01", "AT:regulatory:2027.1-rev1")
    ]


def test_review_after_the_due_date_marks_the_values_overdue_first():
    found = _json("markets", "review", "--days", "0", "--today", "2027-02-15")
    first = found["uncertain"][0]  # type: ignore[index]
    assert first["overdue"] is True
    assert first["review_by"] == "2027-01-31"
    text = runner.invoke(app, ["markets", "review", "--days", "0", "--today", "2027-02-15"])
    assert "overdue for review" in text.stdout
    assert "OVERDUE 2027-01-31" in text.stdout


def test_a_bad_date_is_refused_naming_the_option_and_the_value():
    result = runner.invoke(app, ["markets", "rules", "FR", "--known-on", "2026-13-01"])
    assert result.exit_code == 2
    assert "--known-on='2026-13-01' is not a date" in result.output
    result = runner.invoke(app, ["markets", "rules", "FR", "--diff", "2026-12-01", "soon"])
    assert result.exit_code == 2
    assert "--diff='soon' is not a date" in result.output


def test_diff_cannot_be_combined_with_a_single_edition():
    result = runner.invoke(
        app, ["markets", "rules", "FR", "--diff", "2026-12-01", "2026-12-06", "--on", "2025-01-01"]
    )
    assert result.exit_code == 2
    assert "--diff compares two editions" in result.output


def test_products_json_gives_each_parameters_own_record_not_only_a_merged_source():
    (first, *_) = _json("markets", "products", "FR", "2024-09-01", "--market", "intraday_auction")  # type: ignore[misc]
    mtu = first["rules"]["mtu_minutes"]
    assert mtu["value"] == "30"
    assert mtu["rule_id"] == "FR:intraday_auction:mtu_minutes:2024-06-14:2026-12-06:r2"
    assert mtu["reference"].startswith("https://")
    assert mtu["rule_id"] in first["rule_ids"]
    assert first["rules"]["price_max"]["confidence"] == "uncertain"


def test_check_strict_fails_the_legacy_records_without_a_reference():
    assert runner.invoke(app, ["markets", "check", "DE", "--year", "2026"]).exit_code == 0
    strict = runner.invoke(app, ["markets", "check", "DE", "--year", "2026", "--strict"])
    assert strict.exit_code == 1
    assert "FAIL provenance" in strict.stdout
    assert "no reference (URL or document) a reviewer can open" in strict.stdout


def test_markets_audit_counts_the_records_without_a_reference_per_country():
    from markets.conformance import reference_count
    from markets.countries import fr

    rows = {r["country"]: r for r in _json("markets", "audit")}  # type: ignore[union-attr]
    assert set(rows) == {"AT", "BE", "DE", "FR", "NL"}
    count = reference_count(fr.PLUGIN)
    row = rows["FR"]
    assert row["market_believed"] == count.believed
    assert row["market_without_reference"] == len(count.without_reference)
    assert row["market_with_reference"] + row["market_without_reference"] == count.believed
    assert row["market_ids_without_reference"] == list(count.without_reference)
    assert row["regulatory_facts"] >= row["regulatory_without_reference"]
    only = _json("markets", "audit", "fr")
    assert [r["country"] for r in only] == ["FR"]  # type: ignore[union-attr]
    unknown = runner.invoke(app, ["markets", "audit", "XX"])
    assert unknown.exit_code != 0
    assert "country='XX'" in unknown.output


def test_markets_review_shows_who_approved_what():
    found = _json("markets", "review", "--today", "2026-12-06")
    approvals = found["approvals"]  # type: ignore[index]
    mine = [a for a in approvals if a["recorded_by"].startswith("h17audit")]
    assert mine
    assert all(a["approved_by"].startswith("vpp-engine coordinator") for a in mine)
    assert all(a["approved_by"] != a["recorded_by"] for a in approvals)
    text = runner.invoke(app, ["markets", "review", "--today", "2026-12-06"]).output
    assert "vpp-engine coordinator (merge review of branch wt-h17audit) approved" in text


def test_markets_audit_lists_each_record_without_a_reference():
    from markets.conformance import reference_count
    from markets.countries import nl

    listed = runner.invoke(app, ["markets", "audit", "NL", "--list"])
    assert listed.exit_code == 0, listed.output
    lines = [
        line.split("no reference: ", 1)[1]
        for line in listed.output.splitlines()
        if "no reference: " in line
    ]
    assert [i for i in lines if i.startswith("NL:") and ":regulatory:" not in i] == list(
        reference_count(nl.PLUGIN).without_reference
    )


def test_markets_check_refuses_a_bad_reviewers_list_naming_it(tmp_path):
    bad = tmp_path / "reviewers.toml"
    bad.write_text("[[reviewer]]\nname = 'A'\n", encoding="utf-8")
    result = runner.invoke(app, ["markets", "check", "AT", "--reviewers", str(bad)])
    assert result.exit_code != 0
    assert "--reviewers" in result.output
    assert "role=None" in result.output
    ok = tmp_path / "ok.toml"
    ok.write_text("[[reviewer]]\nname = 'Someone Else'\nrole = 'r'\nsince = 2026-01-01\n")
    refused = runner.invoke(app, ["markets", "check", "AT", "--reviewers", str(ok)])
    assert refused.exit_code == 1  # the audit's approver is not on that list
    assert "names no registered reviewer" in refused.output
