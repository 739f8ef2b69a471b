"""Background work of the API: a thread pool for plan runs, and where their prices come from.

`JobRunner` runs callables on a small thread pool and remembers what is still running, so
that a test (or a clean shutdown) can `wait` for every job before it reads the results.
A job can be cancelled by its name: one that has not started never runs; one that runs
sees its `stop_event` set and stops at its next safe point (a plan run: before it reads
prices, before it solves, and by discarding its result after the solve: a solve that has
started is not interrupted).
`PriceSource` is what a plan run reads its forecast prices from; `FolderPrices` reads a
folder laid out like the project's sample prices (``day_ahead.csv``, ``intraday.csv``,
``afrr.csv``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from pathlib import Path
from typing import Protocol

import structlog
import typer

from trading.optimiser.inputs import PriceInputs

DEFAULT_WORKERS = 2
"""Plan runs at once; the solver itself already uses the machine's cores per run."""


class JobRunner:
    """Runs jobs on a thread pool; `wait` blocks until every job submitted so far is done."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vpp-job")
        self._lock = threading.Lock()
        self._running: set[Future[None]] = set()
        self._named: dict[str, Future[None]] = {}
        self._stops: dict[str, threading.Event] = {}
        self._log = structlog.get_logger(__name__)

    def submit(self, job: Callable[[], None], name: str) -> Future[None]:
        """Run `job` in the background; an exception it raises is logged, never lost."""

        def run() -> None:
            try:
                job()
            except Exception:
                self._log.exception("job_failed", job=name)
                raise

        with self._lock:
            future = self._pool.submit(run)
            self._running.add(future)
            self._named[name] = future
        future.add_done_callback(lambda done: self._forget(done, name))
        return future

    def stop_event(self, name: str) -> threading.Event:
        """The event set when the job `name` is cancelled (made on first use)."""
        with self._lock:
            return self._stops.setdefault(name, threading.Event())

    def cancel(self, name: str) -> bool:
        """Cancel the job `name`: it never starts if it has not; else its `stop_event` is
        set. True if the job had not started (it will not run)."""
        self.stop_event(name).set()
        with self._lock:
            future = self._named.get(name)
        return future is not None and future.cancel()

    def _forget(self, future: Future[None], name: str) -> None:
        with self._lock:
            self._running.discard(future)
            if self._named.get(name) is future:
                del self._named[name]
                self._stops.pop(name, None)

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until every job submitted so far has finished (or `timeout_s` passed)."""
        with self._lock:
            pending = list(self._running)
        wait_all(pending, timeout=timeout_s)

    def shutdown(self) -> None:
        """Finish the running jobs and take no more."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class PriceSource(Protocol):
    """Forecast prices of a plan run for the portfolio's bidding zones."""

    def prices(self, zones: set[str], markets: Sequence[str]) -> PriceInputs:
        """Every series of `zones` the source holds; a missing day shows in the optimiser."""
        ...


class PriceSourceError(Exception):
    """The price source could not be read."""


class FolderPrices:
    """Prices from a folder like ``data/sample_prices`` (default: the project's samples)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = None if folder is None else Path(folder)

    @property
    def folder(self) -> Path:
        """The folder read; the sample prices are looked up only when first needed."""
        if self._folder is None:
            from trading.samples import sample_prices_dir

            self._folder = sample_prices_dir()
        return self._folder

    def _file(self, name: str) -> Path | None:
        path = self.folder / name
        return path if path.is_file() else None

    def prices(self, zones: set[str], markets: Sequence[str]) -> PriceInputs:
        """Read the folder's files for `zones`; `PriceSourceError` if a file is unreadable."""
        from trading.cli.optimise import load_prices

        try:
            return load_prices(
                self._file("day_ahead.csv"),
                self._file("intraday.csv"),
                self._file("afrr.csv"),
                zones,
                tuple(markets),
            )
        except typer.Exit:
            raise PriceSourceError(
                f"prices folder {self.folder}: the files could not be read for "
                f"markets {', '.join(markets)}"
            ) from None
