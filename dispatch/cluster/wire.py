"""The wire between a server's devices and partitions elsewhere: JSON lines over TCP.

`vpp serve --cluster` keeps its embedded fleet (the simulated devices, which its meters
read) and the pools' coordinator in the server; the partitions run on a Ray cluster. Each
partition reaches the server as it would reach a field of devices: a `FieldClient` sends
batches of writes and reads (`dispatch.cluster.link.FieldLink` makes them) and its tick's
report, a `FieldServer` on the server's event loop answers them. No Ray here: the
partitions may run on any node that reaches the server's address.

One request a line, ``{"id": n, "op": "exchange", "writes": [...], "reads": [...]}`` or
``{"id": n, "op": "report", "args": [partition, t, target, measured, available]}``; one
answer a line, ``{"id": n, "result": ...}`` or ``{"id": n, "error": "..."}``; several may
be in flight on one connection (answered in order, matched by id). Units as in
`dispatch.cluster.field` (MW, POSIX s) and `dispatch.cluster.coordinator` (MW, s).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from dispatch.cluster.field import Exchanged, Write

LINE_LIMIT = 64 * 1024 * 1024
"""The longest line either side accepts [bytes] (a batch of thousands of readings)."""

ExchangeFn = Callable[[Sequence[Write], Sequence[str]], Exchanged]
ReportFn = Callable[[str, float, float, float, float], float]


class FieldServer:
    """Answers partitions' batches with `exchange` and their reports with `report`, both
    called on the event loop that runs the server (see the module docstring)."""

    def __init__(self, exchange: ExchangeFn, report: ReportFn) -> None:
        self.exchange = exchange
        self.report = report
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int = 0) -> tuple[str, int]:
        """Listen on `host`:`port` (0: a free port); the address listened on."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=LINE_LIMIT)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := await reader.readline():
                writer.write(self._answer(line) + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the partition went away (or sent a line beyond the limit)
        finally:
            self._writers.discard(writer)
            writer.close()

    def _answer(self, line: bytes) -> bytes:
        self.requests += 1
        ident = None
        try:
            request = json.loads(line)
            ident = request["id"]
            if request["op"] == "exchange":
                result: Any = self.exchange(request["writes"], request["reads"])
            elif request["op"] == "report":
                result = self.report(*request["args"])
            else:
                raise ValueError(f"op={request['op']!r}: must be exchange or report")
        except Exception as exc:  # told to the partition, which counts it as no answer
            return json.dumps({"id": ident, "error": f"{type(exc).__name__}: {exc}"}).encode()
        return json.dumps({"id": ident, "result": result}).encode()


class FieldClient:
    """A partition's end of the wire to `host`:`port`: `exchange` for its `FieldLink`,
    `report` for its coordinator; connects at the first call and again after a loss (the
    calls in flight then fail with `ConnectionError`)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()

    async def exchange(self, writes: list[Write], reads: list[str]) -> Exchanged:
        """Apply `writes`, then read `reads`, at the server's devices."""
        answers, readings = await self._call({"op": "exchange", "writes": writes, "reads": reads})
        return [tuple(a) for a in answers], [None if r is None else tuple(r) for r in readings]

    async def report(
        self, partition: str, t: float, target: float, measured: float, available: float
    ) -> float:
        """A tick's report to the coordinator [s, MW]; the partition's share [MW]."""
        args = [partition, t, target, measured, available]
        return float(await self._call({"op": "report", "args": args}))

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)

    async def _call(self, request: dict[str, Any]) -> Any:
        writer = await self._connected()
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            writer.write(json.dumps({"id": ident, **request}).encode() + b"\n")
            await writer.drain()
            return await future
        finally:
            self._pending.pop(ident, None)

    async def _connected(self) -> asyncio.StreamWriter:
        async with self._connecting:
            if self._writer is None or self._writer.is_closing():
                reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, limit=LINE_LIMIT
                )
                self._reading = asyncio.ensure_future(self._read(reader))
            return self._writer

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                answer = json.loads(line)
                future = self._pending.get(answer.get("id"))
                if future is None or future.done():
                    continue
                if "error" in answer:
                    future.set_exception(RuntimeError(answer["error"]))
                else:
                    future.set_result(answer["result"])
        except (ConnectionError, ValueError):
            pass
        finally:
            if self._writer is not None:
                self._writer.close()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the field's server closed the wire"))


__all__ = ["FieldClient", "FieldServer"]
