"""Every error answer as a JSON problem body (RFC 9457 style) naming field, value and rule.

`ApiError` is raised by routes; the store's errors, FastAPI's request validation, routing's
404/405, a database that cannot be reached (503 with ``Retry-After``) and any unexpected
exception (500) are translated here, so that no answer is ever plain text and no client
mistake ends as a 500. A body holds ``type`` (``urn:vpp-engine:problem:<error>``),
``title``, ``status`` and ``detail`` (RFC 9457), the same as ``error`` and ``message``
(the names earlier clients read), and ``field``, ``value`` and ``rule`` of the first
problem where there is one (every problem in ``problems``). Media type
``application/problem+json``; text is ASCII-escaped, so a refused lone surrogate can be
repeated back without breaking the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from regulatory.problems import format_value
from trading.store import (
    BidIdTakenError,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    TransitionError,
    WriterClosedError,
)
from trading.store.ops.keys import KeyRefusedError
from trading.store.text import shown

PROBLEM_TYPE = "urn:vpp-engine:problem:"
"""Prefix of every problem body's ``type``; the error's name follows."""

RETRY_AFTER_S = 5
"""What ``Retry-After`` tells a client while the server or its database is away [s]."""


class ProblemResponse(JSONResponse):
    """A JSON problem body: ``application/problem+json``, ASCII-escaped."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, default=str).encode("ascii")


def problem_response(
    status: int,
    error: str,
    message: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """The answer of a refusal: an RFC 9457 body, plus `body`'s own fields."""
    extra = dict(body or {})
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = error
    content: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{error}",
        "title": title,
        "status": status,
        "detail": message,
        "error": error,
        "message": message,
    }
    problems = extra.get("problems")
    if isinstance(problems, list) and problems and isinstance(problems[0], dict):
        first = problems[0]
        for name in ("field", "value", "rule"):
            if name in first:
                content[name] = first[name]
    content.update(extra)
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return ProblemResponse(content, status_code=status, headers=headers)


class ApiError(Exception):
    """A refusal with its HTTP status; `body` extends the problem body."""

    def __init__(
        self, status: int, error: str, message: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.body = dict(body or {})

    def response(self) -> ProblemResponse:
        """The JSON problem response of this refusal."""
        return problem_response(self.status, self.error, self.message, self.body)


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
                "value": shown(format_value(value)),
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
        case BidIdTakenError():
            return 409, "BidIdTaken"
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
        return problem_response(
            503, "ServiceUnavailable", message, headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = {404: "NotFound", 405: "MethodNotAllowed", 413: "ContentTooLarge"}.get(
            exc.status_code, "HTTPError"
        )
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body: dict[str, Any] = {}
        if exc.status_code == 404:
            message = f"path={shown(request.url.path)} is not an endpoint of this API"
            body = {"field": "path", "value": shown(request.url.path), "rule": "no such route"}
        elif exc.status_code == 405:
            message = f"method={request.method} is not allowed on {shown(request.url.path)}"
            body = {"field": "method", "value": request.method, "rule": message}
        return problem_response(exc.status_code, name, message, body, headers=exc.headers)

    @app.exception_handler(DataError)
    async def _not_storable(request: Request, exc: DataError) -> JSONResponse:
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid data"
        message = f"the database refused a value of the request: {shown(detail)}"
        return problem_response(422, "NotStorable", message, {"rule": detail})

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not _unreachable(exc):
            raise exc
        return database_away()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and _unreachable(exc):
            return database_away()
        _log.error("unhandled_exception", path=request.url.path, exc_info=exc)
        message = "the server failed on this request; it is logged, and nothing was changed"
        return problem_response(500, "InternalServerError", message)


_log = structlog.get_logger(__name__)


def _unreachable(error: DBAPIError) -> bool:
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)


def database_away() -> ProblemResponse:
    """503 with ``Retry-After``: the database cannot be reached right now."""
    message = "the database cannot be reached right now; retry shortly"
    return problem_response(
        503, "DatabaseUnavailable", message, headers={"Retry-After": str(RETRY_AFTER_S)}
    )
