"""`vpp cluster`: a local Ray cluster for trials, and the partitions' leases and nodes;
`vpp cluster roll`, a rolling restart on a simulated day in process (`cluster_roll`);
`simulate_on_cluster` behind `vpp simulate --partitions P --cluster local|ADDRESS`.

Ray is the optional extra ``vpp-engine[cluster]``; without it these commands say how to
install it and exit 2. The leases live in the engine's database (``--db``, default as
`trading.store.engine.database_url`), migrated to the newest revision first.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from dispatch.cluster.leases import PartitionLeases
from trading.cli.cluster_roll import roll_command
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json
from trading.store import upgrade
from trading.store.engine import create_engine_for
from trading.store.models import PartitionLeaseRow

cluster_app = typer.Typer(
    help="The dispatcher on a Ray cluster: start a local one, look at partitions and nodes; "
    "roll the partitions on a simulated day.",
    no_args_is_help=True,
)
cluster_app.command("roll")(roll_command)

NO_RAY = (
    "error: Ray is not installed: pip install 'vpp-engine[cluster]' (the dispatcher's "
    "cluster mode is an optional extra)"
)


def open_leases(url: str | None) -> PartitionLeases:
    """The lease operations on the database at `url` (module level: Ray ships it by
    reference to every node)."""
    return PartitionLeases(create_engine_for(url), PartitionLeaseRow.__table__)


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        typer.echo(NO_RAY, err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


@cluster_app.command("up")
def up_command(
    nodes: Annotated[int, typer.Option("--nodes", min=1, max=16, help="raylets")] = 2,
    slots: Annotated[int, typer.Option("--slots", min=1, help="partition slots per node")] = 8,
) -> None:
    """Start a local Ray cluster of NODES raylets on this machine and keep it up until
    interrupted; prints the address for `vpp simulate --cluster ADDRESS`."""
    _require_ray()
    from dispatch.cluster.ray_run import start_local_cluster

    cluster = start_local_cluster(nodes, slots)
    typer.echo(f"ray cluster up: {nodes} nodes, address {cluster.address} (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.shutdown()


@cluster_app.command("status")
def status_command(
    db: Annotated[str | None, typer.Option("--db", help="database URL of the leases")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address: list its nodes too")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Partitions, their owners, tokens and lease ages; with --address, the Ray nodes."""
    upgrade(db)
    leases = open_leases(db)
    now = datetime.now(UTC)
    try:
        rows = [
            {
                "partition": lease.partition,
                "owner": lease.owner,
                "token": lease.token,
                "held": lease.held_at(now),
                "age_s": None
                if lease.acquired_at is None
                else round((now - lease.acquired_at).total_seconds(), 3),
                "renewed_s_ago": None
                if lease.renewed_at is None
                else round((now - lease.renewed_at).total_seconds(), 3),
            }
            for lease in leases.all()
        ]
    finally:
        leases.engine.dispose()
    nodes: list[dict[str, Any]] = []
    if address is not None:
        _require_ray()
        import ray

        ray.init(address=address, log_to_driver=False)
        try:
            nodes = [
                {"node": n["NodeID"], "alive": n["Alive"], "address": n["NodeManagerAddress"]}
                for n in ray.nodes()
            ]
        finally:
            ray.shutdown()
    if json_out:
        print_json({"partitions": rows, "nodes": nodes})
        return
    out = console()
    for row in rows:
        out.print(
            f"{row['partition']}: owner {row['owner']} token {row['token']} "
            f"{'held' if row['held'] else 'free'}, age {row['age_s']} s, renewed "
            f"{row['renewed_s_ago']} s ago",
            markup=False,
        )
    for node in nodes:
        out.print(f"node {node['node']} {'alive' if node['alive'] else 'dead'}", markup=False)


def simulate_on_cluster(
    assets: int,
    partitions: int,
    cluster: str,
    kill_node_at_s: float | None,
    duration_s: float,
    seed: int,
    db: str | None,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """`vpp simulate --partitions ... --cluster ...`: the report of
    `dispatch.cluster.ray_run.run_on_ray`. Without `db`, the leases live in a fresh
    SQLite file of the run (every node of a local cluster shares this machine's disk)."""
    _require_ray()
    from dispatch.cluster.ray_run import run_on_ray
    from dispatch.simulation import SimulationOptions

    if db is None:
        if cluster != "local":
            typer.echo(
                "error: --db: a remote cluster needs a database every node reaches", err=True
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        folder = tempfile.mkdtemp(prefix="vpp-cluster-")
        db = f"sqlite:///{folder}/leases.sqlite3"
    upgrade(db)
    options = SimulationOptions(assets=assets, duration_s=duration_s, seed=seed, site_size=0)
    with _stdout_to_stderr():  # Ray's processes print on file descriptor 1: keep --json clean
        return run_on_ray(
            options,
            partitions,
            functools.partial(open_leases, db),
            address=cluster,
            kill_node_at_s=kill_node_at_s,
            metrics_port=metrics_port,
        )


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while the block runs (child processes too)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


__all__ = ["cluster_app", "open_leases", "simulate_on_cluster"]
