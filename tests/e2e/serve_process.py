"""A `vpp serve` process for end-to-end tests: start it, wait until it answers, stop it.

Not a test module: the e2e tests import it (test folders have no ``__init__.py``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

BERLIN = ZoneInfo("Europe/Berlin")
STARTUP_S = 60.0
"""How long a server may take to answer /healthz (upgrade, imports, plugins) [s]."""


def vpp(*args: str) -> list[str]:
    """The command line of ``vpp ARGS`` in this interpreter (no installed script needed)."""
    return [sys.executable, "-m", "trading.cli", *args]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def quarter_hour(day: date, index: int = 0) -> str:
    """The DE day-ahead product of quarter hour `index` of market-local `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    start = datetime.fromtimestamp(start.timestamp() + 900 * index, UTC)
    return f"DE:day_ahead:SDAC:{start:%Y-%m-%dT%H:%M}Z"


def create_key(url: str, tenant: str = "acme", role: str = "trader") -> str:
    """A new API key of `tenant` and `role` in the database at `url`, via `vpp keys create`."""
    created = subprocess.run(
        vpp("keys", "create", "--tenant", tenant, "--role", role, "--db", url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


@dataclass
class ServerProcess:
    """A running `vpp serve` on loopback; `base` is its URL, `log` where it writes."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def tail(self, chars: int = 3000) -> str:
        """The end of the server's output, for failure messages."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def start_server(url: str, log: Path, *extra: str) -> ServerProcess:
    """Start `vpp serve` on `url` and a free port; return once /healthz answers 200.

    Raises `RuntimeError` with the server's output if it exits or does not answer in
    `STARTUP_S`.
    """
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            vpp("serve", "--db", url, "--host", "127.0.0.1", "--port", str(port), *extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"vpp serve exited {process.returncode}: {server.tail()}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"vpp serve did not answer in {STARTUP_S} s: {server.tail()}")
        time.sleep(0.2)
