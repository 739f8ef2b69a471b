"""Large batches (over `OFF_LOOP_BIDS`, read into bids in a worker thread) are answered
exactly as small ones: a shape error in the last bid refuses the whole batch naming it."""

from __future__ import annotations

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, single

from trading.api.bids import OFF_LOOP_BIDS
from trading.store import Repository
from trading.store.inputs import MAX_BIDS_PER_CALL


def _batch(count: int, prefix: str) -> list[dict]:
    return [single(i % 8, bid_id=f"{prefix}/{i}") for i in range(count)]


def test_a_shape_error_in_the_last_of_5000_bids_refuses_the_batch_as_in_a_small_one(
    api: AsgiClient, repo: Repository
) -> None:
    big = _batch(MAX_BIDS_PER_CALL, "big")
    big[-1] = big[-1] | {"volume_mw": "lots"}
    small = _batch(2, "small")
    small[-1] = small[-1] | {"volume_mw": "lots"}
    refused_big = api.post("/v1/bids", json=big)
    refused_small = api.post("/v1/bids", json=small)
    assert refused_big.status_code == refused_small.status_code == 422
    index = str(MAX_BIDS_PER_CALL - 1)
    assert index in refused_big.text
    assert "volume_mw" in refused_big.text
    assert refused_big.json() == _renumbered(refused_small.json(), "1", index)
    assert repo.list_bids("acme", limit=1).total == 0


def test_a_batch_over_the_threshold_is_stored_whole(api: AsgiClient, repo: Repository) -> None:
    bids = _batch(OFF_LOOP_BIDS + 1, "edge")
    answer = api.post("/v1/bids", json=bids)
    assert answer.status_code == 201
    stored = answer.json()["bids"]
    assert [b["bid"]["bid_id"] for b in stored] == [b["bid_id"] for b in bids]
    assert [b["bid"]["volume_mw"] for b in stored] == [b["volume_mw"] for b in bids]
    assert repo.list_bids("acme", limit=1).total == len(bids)


def _renumbered(body: object, old: str, new: str) -> object:
    """`body` with the batch index `old` written `new` wherever an error names it."""
    if isinstance(body, dict):
        return {k: _renumbered(v, old, new) for k, v in body.items()}
    if isinstance(body, list):
        return [_renumbered(v, old, new) for v in body]
    if body == int(old):
        return int(new)
    if isinstance(body, str):
        return body.replace(f".{old}.", f".{new}.").replace(f"[{old}]", f"[{new}]")
    return body
