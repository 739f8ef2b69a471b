"""`vpp keys create`: a key printed once, usable at once, tenant created if new."""

from __future__ import annotations

from pathlib import Path

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
