"""Schemathesis against a live `vpp serve` for a fixed time: no answer may be a 5xx.

Starts ``vpp serve`` on a free loopback port (a temp SQLite file, or ``--db URL`` for
PostgreSQL, in a schema of its own that is dropped afterwards), creates an admin key of a
fresh tenant (admin may call every route), and runs ``schemathesis run`` against the
server's own ``/openapi.json`` for ``--minutes`` minutes with the check
``not_a_server_error``, every generation mode (valid and invalid data) and
``--max-examples`` per operation, over and over until the time is up. ``GET /v1/events``
is left out: it streams until the client leaves (it has its own tests). The server runs
without the failed-login lock-out and the request quota, which would otherwise answer
most fuzzed requests 429 before they reach a route.

Prints schemathesis' summary and then one line: the responses by status class, read from
the run's NDJSON event log, and whether any was a 5xx. Exit 0 only when none was.

Run: ``python benchmarks/fuzz_live.py [--db URL] [--minutes 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import _drop_schema, _free_port, _own_schema, _wait_healthy, create_key, start_serve


def _statuses(ndjson: Path) -> Counter[str]:
    """Responses by status class (``2xx`` ...) in schemathesis' NDJSON event log."""
    found: Counter[str] = Counter()
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        for status in _response_statuses(json.loads(line)):
            found[f"{status // 100}xx"] += 1
    return found


def _response_statuses(node: object) -> list[int]:
    """Every ``status_code`` of a ``response`` object anywhere in an event."""
    if isinstance(node, dict):
        found = []
        response = node.get("response")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            found.append(response["status_code"])
        for key, value in node.items():
            if key != "response":
                found.extend(_response_statuses(value))
        return found
    if isinstance(node, list):
        return [status for item in node for status in _response_statuses(item)]
    return []


def run(db: str | None, minutes: float, max_examples: int) -> bool:
    """Serve, fuzz for `minutes`, report; True if no response was a 5xx."""
    workdir = Path(tempfile.mkdtemp(prefix="vpp-fuzz-live-"))
    url = db or f"sqlite:///{workdir / 'fuzz.sqlite3'}"
    schema = None
    if db is not None and db.startswith("postgres"):
        schema, url = _own_schema(db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    ndjson = workdir / "events.ndjson"
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    print(f"db: {url.split('@')[-1]}  minutes: {minutes:g}  max examples: {max_examples}")
    # The failed-login lock-out and the request quota would answer most fuzzed requests 429
    # before they reach a route: off for this run, so that every route is exercised.
    env = {**os.environ, "VPP_AUTH_FAILURES": "0", "VPP_TENANT_REQUESTS_PER_S": "0"}
    server = start_serve(url, port, log, env)
    try:
        _wait_healthy(server, base, log)
        key = create_key(url, tenant, "admin", env)
        fuzz = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--mode",
                "all",
                "--max-examples",
                str(max_examples),
                "--max-time",
                str(int(minutes * 60)),
                "--exclude-path",
                "/v1/events",
                "--header",
                f"X-API-Key: {key}",
                "--continue-on-failure",
                "--report",
                "ndjson",
                "--report-ndjson-path",
                str(ndjson),
            ],
            check=False,
            cwd=workdir,  # schemathesis keeps its cache (.schemathesis/) where it runs
        )
        statuses = _statuses(ndjson) if ndjson.exists() else Counter()
        errors = statuses.get("5xx", 0)
        print(
            "responses: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
            + f"; schemathesis exit {fuzz.returncode}; "
            + ("no 5xx" if errors == 0 and statuses else f"{errors} x 5xx: FAILED")
        )
        return errors == 0 and bool(statuses) and fuzz.returncode == 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if schema is not None:
            _drop_schema(db or "", schema)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run; exit 1 on any 5xx."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--minutes", type=float, default=3.0, help="fuzzing time (3)")
    parser.add_argument(
        "--max-examples", type=int, default=200, help="examples per operation and pass (200)"
    )
    args = parser.parse_args(argv)
    sys.exit(0 if run(args.db, args.minutes, args.max_examples) else 1)


if __name__ == "__main__":
    main()
