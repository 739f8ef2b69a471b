"""`vpp cluster status` and the cluster options of `vpp simulate`: leases as stored,
bad options exit 2 naming the option, value and rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from trading.cli import app
from trading.cli.cluster import open_leases
from trading.store import upgrade

runner = CliRunner()


def test_status_shows_partitions_owners_tokens_and_lease_ages(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.sqlite3'}"
    upgrade(url)
    leases = open_leases(url)
    leases.ensure(["p.0", "p.1"])
    leases.acquire("p.0", "node-a", datetime.now(UTC), ttl_s=60)
    leases.engine.dispose()
    result = runner.invoke(app, ["cluster", "status", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["partition"]: r for r in json.loads(result.stdout)["partitions"]}
    assert (rows["p.0"]["owner"], rows["p.0"]["token"], rows["p.0"]["held"]) == ("node-a", 1, True)
    assert 0 <= rows["p.0"]["age_s"] < 60
    assert (rows["p.1"]["owner"], rows["p.1"]["held"], rows["p.1"]["age_s"]) == (None, False, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partitions", "2"], "--partitions and --cluster go together"),
        (["--partitions", "2", "--cluster", "local", "--kill-node", "soon"], "'soon' must be"),
        (["--partitions", "2", "--cluster", "local", "--kill-node", "99s"], "0 < AT < 30"),
        (["--partitions", "2", "--cluster", "10.0.0.1:6379", "--kill-node", "5s"], "only with"),
        (["--partitions", "50", "--cluster", "local"], "50 is more than --assets 20"),
        (["--partitions", "2", "--cluster", "local", "--faults", "trip:0.1"], "not with --cluster"),
    ],
)
def test_bad_cluster_options_exit_2_naming_them(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", "--assets", "20", "--duration", "30", *args])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-engine"], "--cluster: the engine's pools run on the cluster; not with --no-engine"),
        (["--tso", "iec104"], "--cluster: the TSO's stations attach to in-process pools"),
    ],
)
def test_serve_cluster_with_an_option_it_does_not_support_exits_2_naming_it(
    args: list[str], message: str, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    result = runner.invoke(app, ["serve", "--db", url, "--cluster", "10.0.0.1:6379", *args])
    assert result.exit_code == 2
    assert message in result.stderr
