"""A server killed while it writes a large batch in chunks leaves nothing of it visible,
and the restarted server sweeps the chunks, so the batch sent again is stored once.

A real `vpp serve` on an SQLite file takes one batch of 5,000 bids; the test watches the
file and sends SIGKILL once some of its chunks are in but the batch is not yet published
(no answer was given). The chunks are then in the tables, unpublished; after the restart
they are gone, no read ever shows part of the batch, and the batch sent again under its
``Idempotency-Key`` is stored whole, each bid once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from serve_process import create_key, quarter_hour, start_server
from test_kill_restart import delivery_day, stored_bids

BATCH = 5000
ATTEMPTS = 3
"""Runs tried before giving up on catching the server between two chunks."""


def _batch() -> list[dict[str, Any]]:
    day = delivery_day()
    return [
        {
            "type": "single",
            "product_id": quarter_hour(day, n % 92),
            "volume_mw": round(0.1 * (1 + n % 50), 1),
            "price_eur_per_mwh": float(10 + n % 200),
            "bid_id": f"big/{n}",
        }
        for n in range(BATCH)
    ]


def _counts(path: Path) -> tuple[int, int]:
    """(unpublished submissions, bid rows) in the file, read as another process would."""
    db = sqlite3.connect(path, timeout=5)
    try:
        unpublished = db.execute(
            "SELECT count(*) FROM bid_submissions WHERE published_at IS NULL"
        ).fetchone()[0]
        bids = db.execute("SELECT count(*) FROM bids").fetchone()[0]
    finally:
        db.close()
    return unpublished, bids


def _post(base: str, key: str, body: list[dict[str, Any]], answers: list[Any]) -> None:
    try:
        answers.append(
            httpx.post(
                f"{base}/v1/bids",
                json=body,
                headers={"X-API-Key": key, "Idempotency-Key": "big-batch"},
                timeout=120,
            )
        )
    except httpx.TransportError as exc:
        answers.append(exc)


def test_sigkill_between_chunks_leaves_no_part_of_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "books.sqlite3"
    url = f"sqlite:///{path}"
    log = tmp_path / "serve.log"
    key = create_key(url)
    batch = _batch()
    caught: tuple[int, int] | None = None
    for _ in range(ATTEMPTS):
        server = start_server(url, log)
        answers: list[Any] = []
        try:
            poster = threading.Thread(
                target=_post, args=(server.base, key, batch, answers), daemon=True
            )
            poster.start()
            while poster.is_alive():
                unpublished, bids = _counts(path)
                if unpublished and bids:
                    server.kill()
                    caught = _counts(path)
                    break
                time.sleep(0.005)
            poster.join(timeout=120)
        finally:
            server.stop()
        if caught is not None:
            break
        # the batch was answered before it could be caught between chunks: start over
        assert answers, "the batch got no answer and was not caught either"
        assert isinstance(answers[0], httpx.Response), answers
        assert answers[0].status_code == 201, answers[0].text
        path.unlink()
        for extra in tmp_path.glob("books.sqlite3-*"):
            extra.unlink()
        key = create_key(url)
    assert caught is not None, f"never caught between two chunks in {ATTEMPTS} runs"
    unpublished, partial = caught
    assert unpublished == 1
    assert 0 < partial < BATCH  # killed between two chunks: part of it is in the tables
    assert answers  # the poster saw the connection drop: nothing was acknowledged
    assert isinstance(answers[0], httpx.TransportError)

    restarted = start_server(url, log)
    try:
        assert _counts(path) == (0, 0)  # swept at start, before any request
        assert "unpublished_batches_swept" in restarted.tail()
        assert stored_bids(restarted, key) == []
        again: list[Any] = []
        _post(restarted.base, key, batch, again)
        (answer,) = again
        assert isinstance(answer, httpx.Response)
        assert answer.status_code == 201, answer.text
        stored = stored_bids(restarted, key)
    finally:
        restarted.stop()
    copies = Counter(s["bid"]["bid_id"] for s in stored)
    assert len(stored) == BATCH
    assert max(copies.values()) == 1
    assert {s["id"] for s in stored} == {b["id"] for b in answer.json()["bids"]}
