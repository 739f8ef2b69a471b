"""Every refusal as a 4xx with a body naming what went wrong: field, value, rule.

`ApiError` is raised by routes; the store's errors and FastAPI's request validation are
translated here, so that no client mistake ends as a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from regulatory.problems import format_value
from trading.store import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    TransitionError,
    WriterClosedError,
)
from trading.store.ops.keys import KeyRefusedError


class ApiError(Exception):
    """A refusal with its HTTP status; `body` extends the ``error``/``message`` body."""

    def __init__(
        self, status: int, error: str, message: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.body = dict(body or {})

    def response(self) -> JSONResponse:
        """The JSON response of this refusal."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        content = {"error": self.error, "message": self.message, **self.body}
        return JSONResponse(content, status_code=self.status, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    """``body.0.volume_mw`` for pydantic's ``("body", 0, "single", "volume_mw")``."""
    parts = [str(p) for p in loc]
    tags = {"single", "curve", "block", "balancing_capacity", "balancing_energy"}
    kept = [p for i, p in enumerate(parts) if not (p in tags and i > 0)]
    kept = [p for p in kept if not p.startswith("list[") and not p.startswith("tagged-union[")]
    return ".".join(kept)


def _one_branch(errors: Sequence[Any], body: object) -> list[Any]:
    """The complaints about the shape the body has: one bid, or a list of bids.

    A body of one bid or a list fails both branches of the union; only the branch of the
    shape actually sent is worth reading.
    """
    found = list(errors)
    if isinstance(body, dict):
        kept = [e for e in found if not _list_branch(e)]
    elif isinstance(body, list):
        kept = [e for e in found if _list_branch(e)]
    else:
        return found
    return kept or found


def _list_branch(item: Any) -> bool:
    loc = tuple(item.get("loc", ()))
    return len(loc) > 1 and loc[0] == "body" and str(loc[1]).startswith("list[")


def validation_problems(error: RequestValidationError) -> list[dict[str, Any]]:
    """One problem per complaint of FastAPI's request validation: field, value, rule."""
    problems = []
    for item in _one_branch(error.errors(), error.body):
        value = item.get("input")
        if item.get("type") == "json_invalid":
            ctx = item.get("ctx") or {}
            at = item["loc"][1] if len(item.get("loc", ())) > 1 else "?"
            value = f"invalid JSON at character {at} ({ctx.get('error', 'parse error')})"
            item = {**item, "loc": ("body",)}
        problems.append(
            {
                "subject": "request",
                "field": _location(tuple(item.get("loc", ()))),
                "value": format_value(value),
                "rule": item.get("msg", "invalid"),
            }
        )
    return problems


def _store_error(error: StoreError) -> tuple[int, str]:
    match error:
        case KeyRefusedError():  # revoked or expired since the request was authenticated
            return 401, "Unauthorized"
        case NotFoundError():
            return 404, "NotFound"
        case InvalidInputError():
            return 422, "InvalidInput"
        case TransitionError():
            return 409, "TransitionRefused"
        case IdempotencyKeyReusedError():
            return 409, "IdempotencyKeyReused"
        case ConflictError():
            return 409, "Conflict"
    return 400, type(error).__name__


def install_error_handlers(app: FastAPI) -> None:
    """Answer every known refusal with its 4xx and a readable body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc)
        first = problems[0] if problems else {"field": "request", "value": "", "rule": ""}
        message = f"{first['field']}={first['value']}: {first['rule']}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        return ApiError(422, "InvalidRequest", message, {"problems": problems}).response()

    @app.exception_handler(StoreError)
    async def _store_refusal(request: Request, exc: StoreError) -> JSONResponse:
        status, name = _store_error(exc)
        body = exc.as_dict()
        body.pop("error", None)
        body.pop("message", None)
        return ApiError(status, name, str(exc), body).response()

    @app.exception_handler(WriterClosedError)
    async def _shutting_down(request: Request, exc: WriterClosedError) -> JSONResponse:
        message = "the server is shutting down and stores nothing more; retry shortly"
        answer = ApiError(503, "ServiceUnavailable", message).response()
        answer.headers["Retry-After"] = "5"
        return answer

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = "NotFound" if exc.status_code == 404 else "HTTPError"
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"path={request.url.path} is not an endpoint of this API"
        return ApiError(exc.status_code, name, message).response()
