"""The reference beside `benchmarks/api.py`: an empty FastAPI endpoint on the same path.

It parses the JSON body and answers 201, nothing else: what the machine, uvicorn, FastAPI
and the load generator cost by themselves, measured in the same run as the real server.
Run by the benchmark as ``uvicorn benchmarks._reference_app:app``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive."""
    return {"status": "ok"}


@app.post("/v1/bids", status_code=201)
async def bids(body: Any = Body()) -> dict[str, int]:  # noqa: B008 - FastAPI's idiom
    """How many bids arrived; nothing is validated or stored."""
    return {"bids": len(body) if isinstance(body, list) else 1}
