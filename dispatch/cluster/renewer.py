"""A partition lease renewed by a process of its own, so that its owner's pauses do not
lapse it.

Renewing on a thread of the owner's process is not enough: a thread needs the owner's GIL,
and a garbage collection holds the GIL from start to end. At 20,000 assets in 4 partitions
on the shared 2-core machine the owners' full collections took up to 2.3 s of wall time;
renewals every 0.5 s then went out late, found the 2 s lease expired, and the partitions
were lost although nothing had failed (`docs/scale.md`). Four owners of one fleet grow
their heaps at the same pace, so their collections, and their lapses, came together.

`RenewerProcess` starts ``python -m dispatch.cluster.renewer`` (a child holding its own
database connection) and talks to it over its standard input and output:

- the owner hands it the lease once acquired; the child renews it every quarter of the
  TTL and reports each renewal, or the loss (another owner took it, or it expired before
  a renewal got through), after which it stops;
- the owner's event loop sends a heartbeat every quarter of the TTL (`beat`). The child
  renews only while the last heartbeat is at most `max_stall_s` old: an owner whose loop
  stopped (deadlocked, or paused for longer than any collection should take) is not
  controlling its partition and must not keep it. Detection of such an owner takes
  `max_stall_s` + TTL; of a dead one (its pipe closes) the TTL alone;
- a database error is retried at the next interval (the lease lapses by itself if they
  go on for a TTL).

The fencing token, not the renewer, keeps two owners from both commanding a device: a
renewer that outlived its owner's control cannot make a stale owner's writes land once
another owner took the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import Engine, event

from dispatch.cluster.leases import Lease, LeaseLostError, PartitionLeases

LeasesFactory = Callable[[], PartitionLeases]
"""Opens the lease table in the calling process; picklable (a module-level function or
a `functools.partial` of one)."""

_HEADER = struct.Struct(">I")


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _exactly(stream: BinaryIO, size: int) -> bytes | None:
    """`size` bytes from `stream` (unbuffered reads may return fewer); None at its end."""
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(stream: BinaryIO) -> Any:
    """The next message; None at the end of the stream."""
    header = _exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    data = _exactly(stream, size)
    return None if data is None else pickle.loads(data)


class RenewerProcess:
    """The owner's side of the renewer (see the module docstring)."""

    def __init__(
        self, leases_factory: LeasesFactory, ttl_s: float, *, max_stall_s: float | None = None
    ) -> None:
        if not ttl_s > 0:
            raise ValueError(f"ttl_s={ttl_s}: a lease's time to live must be > 0 s")
        self.factory = leases_factory
        self.ttl_s = ttl_s
        self.max_stall_s = max_stall_s if max_stall_s is not None else max(5.0, 2.5 * ttl_s)
        """How long the owner's loop may go without a heartbeat before the lease is let go
        [s]: longer than the longest collection, shorter than an operator's patience."""
        self.lease: Lease | None = None
        self.lost_at_posix: float | None = None
        """When the child found the lease lost [POSIX s]; None while it holds it."""
        self.lost_reason: str | None = None
        self.latencies_s: list[float] = []
        """Each renewal's round trip to the database [s], as the child measured it."""
        self.gaps_s: list[float] = []
        """Time between the starts of consecutive renewals [s]."""
        self.errors: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None
        self._on_lost: Callable[[], Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._write_lock = threading.Lock()

    # --- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the child; it opens the database and waits for a lease (`hand`). Started
        ahead of need (a partition actor keeps one warm), since the child takes seconds to
        import the engine on a busy machine; a second call does nothing."""
        if self._process is not None:
            return
        # The child imports what this process can (the factory is pickled by reference).
        path = os.pathsep.join(p for p in sys.path if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.cluster.renewer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._write(("open", self.factory, self.ttl_s, self.max_stall_s))
        self._reader = threading.Thread(target=self._read, name="vpp-renewer", daemon=True)
        self._reader.start()

    async def ready(self, timeout_s: float = 60.0) -> None:
        """Wait until the child has its database connection (raises `TimeoutError`)."""
        started = time.monotonic()
        while not self._ready.is_set():
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"the lease renewer exited with {self._process.returncode}: "
                    + "; ".join(self.errors)
                )
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"the lease renewer was not ready within {timeout_s:g} s")
            await asyncio.sleep(0.05)

    def hand(
        self, lease: Lease, loop: asyncio.AbstractEventLoop, on_lost: Callable[[], Any]
    ) -> None:
        """Renew `lease` from now on; `on_lost` is called on `loop` once it is lost."""
        self.lease = lease
        self._loop = loop
        self._on_lost = on_lost
        self._write(("lease", lease, time.time()))

    def beat(self) -> None:
        """The owner's loop is alive (call it at least every quarter of the TTL)."""
        self._write(("beat", time.time()))

    async def beating(self) -> None:
        """Beat every quarter of the TTL until cancelled."""
        while True:
            self.beat()
            await asyncio.sleep(self.ttl_s / 4)

    def stop(self) -> Lease | None:
        """Stop renewing and end the child; the lease as last renewed (None if lost)."""
        if self._process is None:
            return self.lease
        with contextlib.suppress(OSError, ValueError):
            self._write(("stop",))
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._process = None
        return None if self.lost_at_posix is not None else self.lease

    def abandon(self) -> None:
        """Close the pipe without a word, as the owner's death would (for tests)."""
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()

    # --- the pipe ------------------------------------------------------------------------

    def _write(self, message: Any) -> None:
        if self._process is None or self._process.stdin is None:
            raise RuntimeError("the lease renewer is not running")
        with self._write_lock:
            _send(self._process.stdin, message)  # type: ignore[arg-type]

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        stdout: BinaryIO = self._process.stdout  # type: ignore[assignment]
        while (message := _receive(stdout)) is not None:
            kind = message[0]
            if kind == "ready":
                self._ready.set()
            elif kind == "renewed":
                _, self.lease, latency, gap = message
                self.latencies_s.append(latency)
                if gap is not None:
                    self.gaps_s.append(gap)
            elif kind == "lost":
                _, self.lost_at_posix, self.lost_reason = message
                if self._loop is not None and self._on_lost is not None:
                    with contextlib.suppress(RuntimeError):  # the loop already closed
                        self._loop.call_soon_threadsafe(self._on_lost)
            elif kind == "error":
                self.errors.append(message[1])


# --- the child ---------------------------------------------------------------------------


def _child(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """The renewer's loop (see the module docstring); the exit status."""
    message = _receive(stdin)
    if message is None or message[0] != "open":
        return 2
    _, factory, ttl_s, max_stall_s = message
    try:
        leases: PartitionLeases = factory()
    except Exception as exc:  # reported to the owner, which gives up
        _send(stdout, ("error", f"cannot open the lease table: {type(exc).__name__}: {exc}"))
        return 1
    relax_durability(leases.engine)
    _send(stdout, ("ready",))
    selector = selectors.DefaultSelector()
    selector.register(stdin, selectors.EVENT_READ)
    lease: Lease | None = None
    beat_posix = time.time()
    due = float("inf")
    last_start: float | None = None
    while True:
        wait = None if lease is None else max(0.0, due - time.monotonic())
        if selector.select(wait):
            message = _receive(stdin)
            if message is None or message[0] == "stop":
                return 0  # the owner is gone or done: the lease runs out by itself
            if message[0] == "lease":
                _, lease, beat_posix = message
                due = time.monotonic() + ttl_s / 4
            elif message[0] == "beat":
                beat_posix = message[1]
            continue
        if lease is None:
            continue
        due = time.monotonic() + ttl_s / 4
        if time.time() - beat_posix > max_stall_s:
            stalled = time.time() - beat_posix
            _send(stdout, ("lost", time.time(), f"owner stalled {stalled:.1f} s: let go"))
            return 0
        started = time.monotonic()
        try:
            lease = leases.renew(lease, datetime.now(UTC), ttl_s)
        except LeaseLostError as exc:
            _send(stdout, ("lost", time.time(), str(exc)))
            return 0
        except Exception as exc:  # the database: retried next interval
            _send(stdout, ("error", f"renewal failed: {type(exc).__name__}: {exc}"))
            continue
        gap = None if last_start is None else started - last_start
        last_start = started
        _send(stdout, ("renewed", lease, time.monotonic() - started, gap))


def relax_durability(engine: Engine) -> None:
    """Commit the renewals on `engine` without waiting for the disk: SQLite
    ``synchronous=NORMAL`` (in WAL mode a commit no longer waits for a fsync), PostgreSQL
    ``synchronous_commit=off``. A renewal lost in a crash of the database only makes the
    lease end sooner, which is safe; the token's changes (acquire, take over) stay
    durable on the owner's own connection. At 20,000 assets all four owners' renewals
    once took 2.3-2.5 s together, the lease file's commits stalled behind the disk, and
    every lease lapsed with nothing failed (`docs/scale.md`)."""
    engine.dispose()
    dialect = engine.dialect.name

    @event.listens_for(engine, "connect")
    def _relax(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous=NORMAL")
        elif dialect == "postgresql":
            cursor.execute("SET synchronous_commit TO OFF")
            dbapi_connection.commit()  # a session setting, kept past the first transaction
        cursor.close()


def main() -> None:
    """Entry point of ``python -m dispatch.cluster.renewer``: the pipe to the owner on
    file descriptors 0 and 1, unbuffered (the selector sees what is not yet read); what
    anything else prints goes to standard error, not into the pipe."""
    pipe_out = os.dup(1)
    os.dup2(2, 1)
    with open(0, "rb", buffering=0) as stdin, open(pipe_out, "wb", buffering=0) as stdout:
        sys.exit(_child(stdin, stdout))


if __name__ == "__main__":
    main()


__all__ = ["LeasesFactory", "RenewerProcess", "relax_durability"]
