"""`vpp keys create|list|revoke|rotate` and `vpp limits`: keys printed once, usable at once,
tenant created if new; revocation, rotation, expiry; risk limits set, listed, cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading.cli import app
from trading.store import Repository, Role

runner = CliRunner()


def test_keys_create_prints_a_working_key_and_creates_the_tenant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = runner.invoke(
        app, ["keys", "create", "--tenant", "acme", "--role", "trader", "--db", url]
    )
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    repository = Repository.from_url(url)
    try:
        record = repository.verify_api_key(plaintext)
        assert record is not None
        assert (record.tenant_id, record.role, record.name) == ("acme", Role.TRADER, "cli")
        assert repository.get_tenant("acme") is not None

        again = runner.invoke(
            app,
            ["keys", "create", "--tenant", "acme", "--role", "analyst", "--name", "r", "--db", url],
        )
        assert again.exit_code == 0, again.output
        assert len(repository.list_api_keys("acme")) == 2
    finally:
        repository.close()


def test_keys_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = runner.invoke(app, ["keys", "create", "--tenant", "a", "--role", "boss", "--db", url])
    assert result.exit_code == 2
    assert "boss" in result.output
    assert "trader" in result.output


def _create(url: str, *extra: str) -> str:
    result = runner.invoke(
        app, ["keys", "create", "--tenant", "acme", "--role", "trader", "--db", url, *extra]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def _key_id(plaintext: str) -> str:
    return plaintext.split("_")[1]


def test_keys_list_shows_each_keys_state_and_never_a_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    kept, gone = _create(url, "--expires", "90d"), _create(url)
    assert (
        runner.invoke(
            app, ["keys", "revoke", "--tenant", "acme", _key_id(gone), "--db", url]
        ).exit_code
        == 0
    )
    listed = runner.invoke(app, ["keys", "list", "--tenant", "acme", "--db", url])
    assert listed.exit_code == 0, listed.output
    lines = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()[1:]}
    assert lines[_key_id(kept)][2] == "active"
    assert lines[_key_id(gone)][2] == "revoked"
    ahead = datetime.fromisoformat(lines[_key_id(kept)][5]) - datetime.now(UTC)
    assert timedelta(days=89) < ahead <= timedelta(days=90)
    assert lines[_key_id(gone)][5] == "-"
    for plaintext in (kept, gone):
        assert plaintext.split("_", 2)[2] not in listed.output


def test_keys_revoke_stops_a_key_and_names_an_unknown_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    plaintext = _create(url)
    result = runner.invoke(
        app, ["keys", "revoke", "--tenant", "acme", _key_id(plaintext), "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert f"revoked key {_key_id(plaintext)}" in result.stdout
    repository = Repository.from_url(url)
    try:
        assert repository.verify_api_key(plaintext) is None
    finally:
        repository.close()
    unknown = runner.invoke(app, ["keys", "revoke", "--tenant", "acme", "k0000", "--db", url])
    assert unknown.exit_code == 2
    assert "k0000" in unknown.output


def test_keys_rotate_prints_a_successor_and_retires_the_old_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    old = _create(url, "--name", "desk 4")
    result = runner.invoke(
        app,
        [
            "keys",
            "rotate",
            "--tenant",
            "acme",
            _key_id(old),
            "--expires",
            "2099-01-01T00:00Z",
            "--db",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    new = result.stdout.strip().splitlines()[-1]
    repository = Repository.from_url(url)
    try:
        assert repository.verify_api_key(old) is None
        record = repository.verify_api_key(new)
        assert record is not None
        assert (record.role, record.name) == (Role.TRADER, "desk 4")
        assert record.expires_at == datetime(2099, 1, 1, tzinfo=UTC)
    finally:
        repository.close()


@pytest.mark.parametrize("expires", ["tomorrow", "2099-01-01T00:00", "0d", "2020-01-01T00:00Z"])
def test_a_bad_expiry_is_refused_naming_it(tmp_path: Path, expires: str) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    result = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "trader",
            "--expires",
            expires,
            "--db",
            url,
        ],
    )
    assert result.exit_code == 2
    assert "expires" in result.output


def test_limits_set_list_and_clear(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite3'}"
    _create(url)
    result = runner.invoke(
        app, ["limits", "set", "--tenant", "acme", "max_bid_mw", "50", "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert "max_bid_mw = 50 MW" in result.stdout
    listed = runner.invoke(app, ["limits", "list", "--tenant", "acme", "--db", url])
    assert listed.stdout.splitlines()[1].split("\t")[:3] == ["max_bid_mw", "50", "MW"]
    bad = runner.invoke(app, ["limits", "set", "--tenant", "acme", "max_bid_mw", "0", "--db", url])
    assert bad.exit_code == 2
    assert "max_bid_mw" in bad.output
    kind = runner.invoke(app, ["limits", "set", "--tenant", "acme", "leverage", "5", "--db", url])
    assert kind.exit_code == 2
    assert "leverage" in kind.output
    assert (
        runner.invoke(
            app, ["limits", "clear", "--tenant", "acme", "max_bid_mw", "--db", url]
        ).exit_code
        == 0
    )
    again = runner.invoke(app, ["limits", "clear", "--tenant", "acme", "max_bid_mw", "--db", url])
    assert again.exit_code == 2
    repository = Repository.from_url(url)
    try:
        actions = [
            a.action for a in repository.list_audit("acme", subject="risk_limit max_bid_mw").items
        ]
    finally:
        repository.close()
    assert actions == ["risk_limit.set", "risk_limit.clear"]
