"""Bid-submission throughput and latency of a real `vpp serve` on loopback.

Starts ``vpp serve`` as a subprocess on a free loopback port (a temp SQLite file by default,
or ``--db URL``, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), creates a
trader key of a fresh tenant, waits for ``GET /healthz``, then runs ``--clients``
concurrent HTTP clients, spread over ``--processes`` load-generator processes (asyncio
and ``httpx.AsyncClient``, one connection per client), each posting one request after the
other to ``POST /v1/bids`` for ``--duration`` seconds. A request holds ``--batch`` day-ahead
single bids (one per quarter hour of a delivery day a few days ahead, so no gate has
passed). Requests during the first ``--warmup`` seconds are sent but not measured.

Prints the machine's core count and the options, then: requests/s and bids/s persisted
(only 201 answers count), latency p50/p95/p99/max [ms] of measured requests, answers by
status, and a persistence check: the bids the tenant holds (``GET /v1/bids`` total, and a
direct count on SQLite) must equal the bids of every 201 answer, warm-up included.

The load generator shares the machine with the server: on 2 cores its own CPU time counts
against the server's, which makes the figures conservative.

Run: ``python benchmarks/api.py`` (options: ``--help``). ``--profile FILE`` attaches
``py-spy record`` (if installed) to the server for the run and writes its raw
(collapsed-stack) output to FILE: wall time of every busy thread, or with ``--profile-gil``
only the thread holding the GIL (where the server's Python CPU time goes). Sampling slows
the server; measure without it.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

BERLIN = ZoneInfo("Europe/Berlin")
STARTUP_S = 60.0
DAYS_AHEAD = 3
QUARTER_HOURS = 92  # fewer than every day has (92 on the spring DST day), all valid
TARGET_BIDS_PER_S = 1000.0
TARGET_P99_MS = 50.0
TARGET_BIG_BATCH_DELAY_MS = 50.0
"""Issue 14's goals: bids/s persisted with p99 latency, and the most a large batch may delay
the other clients' requests (their p99 while one is in flight, less their p99 without)."""
BIG_BATCH_PAUSE_S = 1.5
"""How long the big-batch client waits after each answer before sending the next batch."""
SERVE_EXTRA: tuple[str, ...] = tuple(os.environ.get("VPP_BENCH_SERVE_ARGS", "").split())


@dataclass
class Options:
    """What the run does; see `_parse`."""

    clients: int
    processes: int
    batch: int
    duration_s: float
    warmup_s: float
    db: str | None
    idempotency: bool
    profile: Path | None
    profile_gil: bool
    keep: bool
    big_batch: int = 0
    """Bids of the one extra client's large batches (0: no such client)."""
    reference: bool = False


@dataclass
class WorkerResult:
    """What one load-generator process saw."""

    latencies_s: list[float] = field(default_factory=list)
    """Latency of each measured request [s]."""
    statuses: Counter[str] = field(default_factory=Counter)
    """Measured answers by status (or exception name)."""
    measured_requests: int = 0
    measured_bids_created: int = 0
    """Bids of measured 201 answers."""
    bids_created: int = 0
    """Bids of every 201 answer, warm-up included."""
    started_s: list[float] = field(default_factory=list)
    """When each measured request was sent [s, `time.monotonic`, the same in every process]."""
    big_spans_s: list[tuple[float, float, str]] = field(default_factory=list)
    """Each large batch: sent, answered [s, `time.monotonic`], status."""


def _day_products(day: date, count: int) -> list[str]:
    """The DE day-ahead products of the first `count` quarter hours of market-local `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    return [
        f"DE:day_ahead:SDAC:{start + timedelta(minutes=15 * i):%Y-%m-%dT%H:%M}Z"
        for i in range(count)
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _vpp(*args: str) -> list[str]:
    return [sys.executable, "-m", "trading.cli", *args]


async def _client(
    http: httpx.AsyncClient,
    name: str,
    products: list[str],
    options: Options,
    measure_from: float,
    stop_at: float,
    result: WorkerResult,
) -> None:
    sent = 0
    while time.perf_counter() < stop_at:
        body = [
            {
                "type": "single",
                "product_id": products[(sent + i) % len(products)],
                "volume_mw": 1.5,
                "price_eur_per_mwh": 42.0 + (sent % 50),
                "bid_id": f"{name}/{sent}/{i}",
            }
            for i in range(options.batch)
        ]
        headers = {"Idempotency-Key": f"{name}/{sent}"} if options.idempotency else {}
        sent += 1
        started = time.perf_counter()
        sent_at = time.monotonic()
        try:
            answer = await http.post(
                "/v1/bids", json=body[0] if options.batch == 1 else body, headers=headers
            )
            status = str(answer.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        elapsed = time.perf_counter() - started
        created = options.batch if status == "201" else 0
        result.bids_created += created
        if started >= measure_from:
            result.measured_requests += 1
            result.measured_bids_created += created
            result.latencies_s.append(elapsed)
            result.started_s.append(sent_at)
            result.statuses[status] += 1


async def _big_client(
    http: httpx.AsyncClient,
    products: list[str],
    options: Options,
    stop_at: float,
    result: WorkerResult,
) -> None:
    """Posts a batch of `options.big_batch` bids, waits `BIG_BATCH_PAUSE_S`, and again."""
    sent = 0
    await asyncio.sleep(BIG_BATCH_PAUSE_S)
    while time.perf_counter() < stop_at:
        body = [
            {
                "type": "single",
                "product_id": products[i % len(products)],
                "volume_mw": 0.1,
                "price_eur_per_mwh": 40.0,
                "bid_id": f"big/{sent}/{i}",
            }
            for i in range(options.big_batch)
        ]
        sent += 1
        begun = time.monotonic()
        try:
            answer = await http.post("/v1/bids", json=body, timeout=300)
            status = str(answer.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        result.big_spans_s.append((begun, time.monotonic(), status))
        if status == "201":
            result.bids_created += options.big_batch
        await asyncio.sleep(BIG_BATCH_PAUSE_S)


async def _load(
    worker: int, clients: int, base: str, key: str, options: Options, start_at: float
) -> WorkerResult:
    result = WorkerResult()
    day = datetime.now(BERLIN).date() + timedelta(days=DAYS_AHEAD)
    products = _day_products(day, QUARTER_HOURS)
    connections = clients + 1  # the big-batch client's own
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(60.0)
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=timeout
    ) as http:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        now = time.perf_counter()
        measure_from = now + options.warmup_s
        stop_at = measure_from + options.duration_s
        clients_of = [
            _client(http, f"w{worker}c{c}", products, options, measure_from, stop_at, result)
            for c in range(clients)
        ]
        if worker == 0 and options.big_batch:
            clients_of.append(_big_client(http, products, options, stop_at, result))
        await asyncio.gather(*clients_of)
    return result


def _worker(
    worker: int, clients: int, base: str, key: str, options: Options, start_at: float
) -> WorkerResult:
    return asyncio.run(_load(worker, clients, base, key, options, start_at))


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None:
            raise SystemExit(f"vpp serve exited {process.returncode}: {_tail(log)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"vpp serve did not answer in {STARTUP_S} s: {_tail(log)}")
        time.sleep(0.2)


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


def _stored_bids(base: str, key: str) -> int:
    """The tenant's bids, as `GET /v1/bids` counts them (walking every page)."""
    headers = {"X-API-Key": key}
    limit = 1000
    page = 1
    seen = 0
    while True:
        answer = httpx.get(
            f"{base}/v1/bids",
            params={"page": page, "limit": limit},
            headers=headers,
            timeout=120,
        )
        answer.raise_for_status()
        data = answer.json()
        seen += len(data["items"])
        if len(data["items"]) < limit:
            if seen != data["total"]:
                raise SystemExit(f"pages hold {seen} bids but total says {data['total']}")
            return seen
        page += 1


def _percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank `q`-quantile (0 < q <= 1) of ascending `sorted_values`."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _start_profiler(pid: int, options: Options) -> subprocess.Popen[bytes] | None:
    if options.profile is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy not found: running without --profile")
        return None
    seconds = int(options.warmup_s + options.duration_s + 1)
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "100",
            *(["--gil"] if options.profile_gil else ["--threads"]),
            "--format",
            "raw",
            "--output",
            str(options.profile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _own_schema(url: str) -> tuple[str, str]:
    """A new PostgreSQL schema for the run, and `url` with its search_path set to it."""
    import sqlalchemy as sa

    schema = f"vpp_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    finally:
        admin.dispose()
    scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, scoped.render_as_string(hide_password=False)


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def run(options: Options) -> bool:
    """Run the benchmark; True if every check passed and the target was met."""
    workdir = Path(tempfile.mkdtemp(prefix="vpp-bench-api-"))
    sqlite_file = workdir / "bench.sqlite3"
    url = options.db or f"sqlite:///{sqlite_file}"
    schema = None
    if options.db is not None and options.db.startswith("postgres"):
        schema, url = _own_schema(options.db)  # dropped afterwards: the database stays clean
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = workdir / "serve.log"
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    shown_db = url if options.db is None else url.split("@")[-1]
    print(
        f"options: clients={options.clients} processes={options.processes} "
        f"batch={options.batch} duration={options.duration_s:g} s "
        f"warmup={options.warmup_s:g} s idempotency={options.idempotency} db={shown_db}"
    )
    server = start_serve(url, port, log, env, *SERVE_EXTRA)
    try:
        _wait_healthy(server, base, log)
        key = create_key(url, tenant, "trader", env)
        profiler = _start_profiler(server.pid, options)
        cpu_before = _cpu_s(server.pid)
        results = _generate_load(base, key, options)
        cpu_used = _cpu_s(server.pid) - cpu_before
        if profiler is not None:
            profiler.wait(timeout=120)
            print(f"profile: {options.profile}")
        ok = _report(results, options, base, key, sqlite_file if options.db is None else None)
        _report_cpu(cpu_used, results)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    try:
        if options.reference:
            _reference(options, env, workdir)
        return ok
    finally:
        if schema is not None and not options.keep:
            _drop_schema(options.db or "", schema)
        if options.keep:
            print(f"kept: {workdir} (server log: {log})" + (f", schema {schema}" if schema else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def start_serve(
    url: str, port: int, log: Path, env: dict[str, str], *extra: str
) -> subprocess.Popen[bytes]:
    """``vpp serve`` on `url` at 127.0.0.1:`port`, its output to `log`."""
    with log.open("w") as log_file:
        return subprocess.Popen(
            _vpp("serve", "--db", url, "--host", "127.0.0.1", "--port", str(port), *extra),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )


def create_key(url: str, tenant: str, role: str, env: dict[str, str]) -> str:
    """The plaintext of a new API key of `role` for a new `tenant` (``vpp keys create``)."""
    created = subprocess.run(
        _vpp("keys", "create", "--tenant", tenant, "--role", role, "--db", url),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


def _reference(options: Options, env: dict[str, str], workdir: Path) -> None:
    """The same load against an empty endpoint (`benchmarks._reference_app`), printed."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "reference.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks._reference_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        _wait_healthy(server, base, log)
        results = _generate_load(base, "none", replace(options, big_batch=0))
    finally:
        server.terminate()
        server.wait(timeout=20)
    latencies = sorted(t for r in results for t in r.latencies_s)
    requests = sum(r.measured_requests for r in results)
    p99 = _percentile(latencies, 0.99) * 1000
    print(
        f"reference, an empty FastAPI endpoint under the same load: "
        f"{requests / options.duration_s:.1f} requests/s, p99 {p99:.1f} ms "
        "(what this machine and the load generator allow at most)"
    )


def _cpu_s(pid: int) -> float:
    """CPU time [s] (user + system) process `pid` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report_cpu(cpu_s: float, results: list[WorkerResult]) -> None:
    """The server's CPU time per stored bid: a figure that the machine's load moves far
    less than bids/s or latency (the server waits longer under load, but works as much)."""
    bids = sum(r.bids_created for r in results)
    if bids:
        print(
            f"server CPU: {cpu_s:.2f} s over the run (warm-up included) = "
            f"{1000 * cpu_s / bids:.3f} ms per stored bid"
        )


def _generate_load(base: str, key: str, options: Options) -> list[WorkerResult]:
    shares = [
        options.clients // options.processes + (1 if w < options.clients % options.processes else 0)
        for w in range(options.processes)
    ]
    start_at = time.time() + 1.0  # every process starts at once, after importing
    context = multiprocessing.get_context("spawn")
    with context.Pool(options.processes) as pool:
        pending = [
            pool.apply_async(_worker, (w, n, base, key, options, start_at))
            for w, n in enumerate(shares)
            if n > 0
        ]
        return [p.get() for p in pending]


def _report(
    results: list[WorkerResult], options: Options, base: str, key: str, sqlite_file: Path | None
) -> bool:
    latencies = sorted(t for r in results for t in r.latencies_s)
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
    requests = sum(r.measured_requests for r in results)
    bids = sum(r.measured_bids_created for r in results)
    created_total = sum(r.bids_created for r in results)
    requests_per_s = requests / options.duration_s
    bids_per_s = bids / options.duration_s
    p50, p95, p99 = (_percentile(latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
    top = (latencies[-1] * 1000) if latencies else float("nan")
    mean = statistics.fmean(latencies) * 1000 if latencies else float("nan")
    print(f"requests: {requests} in {options.duration_s:g} s = {requests_per_s:.1f} requests/s")
    print(f"bids persisted (201): {bids} = {bids_per_s:.1f} bids/s")
    print(
        f"latency [ms]: mean {mean:.1f}  p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {top:.1f}"
    )
    print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    stored = _stored_bids(base, key)
    direct = None
    if sqlite_file is not None:
        with sqlite3.connect(sqlite_file) as db:
            (direct,) = db.execute("SELECT count(*) FROM bids").fetchone()
    print(
        f"persistence: 201 answers carried {created_total} bids (warm-up included); "
        f"GET /v1/bids holds {stored}" + ("" if direct is None else f"; SQLite holds {direct}")
    )
    persisted = stored == created_total and (direct is None or direct == created_total)
    if not persisted:
        print("PERSISTENCE MISMATCH")
    met = bids_per_s >= TARGET_BIDS_PER_S and p99 <= TARGET_P99_MS
    print(
        f"target >= {TARGET_BIDS_PER_S:g} bids/s with p99 <= {TARGET_P99_MS:g} ms: "
        + ("met" if met else "NOT met")
    )
    if options.big_batch:
        met = _report_big_batches(results, options) and met
    return persisted and met


def _report_big_batches(results: list[WorkerResult], options: Options) -> bool:
    """How much the large batches delayed the other clients' requests; True if within target."""
    spans = sorted(span for r in results for span in r.big_spans_s)
    took = sorted(end - begun for begun, end, _ in spans)
    big_statuses = Counter(status for _, _, status in spans)
    during: list[float] = []
    outside: list[float] = []
    for r in results:
        for sent_at, latency in zip(r.started_s, r.latencies_s, strict=True):
            overlaps = any(begun <= sent_at + latency and sent_at <= end for begun, end, _ in spans)
            (during if overlaps else outside).append(latency)
    during.sort()
    outside.sort()
    print(
        f"big batches: {len(spans)} of {options.big_batch} bids, answers "
        + ", ".join(f"{s}: {n}" for s, n in sorted(big_statuses.items()))
        + f"; each took p50 {_percentile(took, 0.5) * 1000:.0f} ms, "
        f"max {(took[-1] if took else float('nan')) * 1000:.0f} ms"
    )
    p99_during = _percentile(during, 0.99) * 1000
    p99_outside = _percentile(outside, 0.99) * 1000
    delay = p99_during - p99_outside
    print(
        f"other clients' requests: {len(during)} while a big batch was in flight, p99 "
        f"{p99_during:.1f} ms, max {(during[-1] if during else float('nan')) * 1000:.1f} ms; "
        f"{len(outside)} without, p99 {p99_outside:.1f} ms"
    )
    met = bool(spans) and bool(during) and delay <= TARGET_BIG_BATCH_DELAY_MS
    print(
        f"delay by a big batch (p99 during - p99 without): {delay:.1f} ms; target <= "
        f"{TARGET_BIG_BATCH_DELAY_MS:g} ms: " + ("met" if met else "NOT met")
    )
    return met


def _parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes (2)")
    parser.add_argument("--batch", type=int, default=1, help="bids per request (1)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (2)")
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument(
        "--idempotency", action="store_true", help="send an Idempotency-Key with each request"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy raw profile of the server to FILE"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="profile only the thread holding the GIL (where CPU goes), not wall time",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and log")
    parser.add_argument(
        "--big-batch",
        type=int,
        default=0,
        help="one more client posts batches of this many bids (e.g. 5000), to measure how "
        "much they delay the others (0: none)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="afterwards, the same load against an empty FastAPI endpoint (the machine's ceiling)",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.processes < 1 or args.batch < 1 or args.duration <= 0:
        parser.error("--clients, --processes, --batch and --duration must be positive")
    return Options(
        clients=args.clients,
        processes=min(args.processes, args.clients),
        batch=args.batch,
        duration_s=args.duration,
        warmup_s=max(0.0, args.warmup),
        db=args.db,
        idempotency=args.idempotency,
        profile=args.profile,
        profile_gil=args.profile_gil,
        keep=args.keep,
        big_batch=max(0, args.big_batch),
        reference=args.reference,
    )


def main(argv: list[str] | None = None) -> None:
    """Run with the command line's options; exit 1 if a check failed or the target was missed."""
    ok = run(_parse(argv))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
