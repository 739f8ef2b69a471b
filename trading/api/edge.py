"""The API's edge: what a request must be before any route reads it.

`EdgeGuard` is an ASGI middleware; in order, it refuses

1. a path or query parameter holding NUL, a lone surrogate or a control character
   (422 naming the parameter: ``path.bid_id``, ``query.product``);
2. a body announced larger than `max_body_bytes` (``Content-Length``; 413, nothing read);
3. a write under ``/v1/`` without a valid API key (401, before the body is read, so an
   unauthenticated upload costs nothing; the key is looked up through the app's
   `KeyCache`, read-only, and the routes check it again with its role);
4. a body that turns out larger than `max_body_bytes` while it is read (chunked uploads;
   413, reading stops there, so memory stays bounded by the limit);
5. a JSON body with a duplicate key or text no database can store (422 naming the field,
   see `trading.api.strict_json`).

A JSON body that passes is handed on already parsed: `EdgeRoute` (the route class of the
API's routers) gives the routes that document instead of parsing the bytes again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trading.api.errors import problem_response
from trading.api.strict_json import JsonRefusedError, loads_strict
from trading.store.text import shown, text_rule

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body the API reads [bytes] (a 5,000-bid batch is about 0.7 MB)."""

PARSED_JSON = "vpp.parsed_json"
"""Scope key of the body's document, once `EdgeGuard` has read it strictly."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods whose requests may carry a body."""

OFF_LOOP_BYTES = 64 * 1024
"""Bodies larger than this are parsed in a worker thread, not on the event loop [bytes]."""

MAX_PARAM_CHARS = 500
"""The longest path or query parameter the API takes [characters]."""


class _TooLargeError(Exception):
    pass


class _DisconnectedError(Exception):
    pass


class EdgeGuard:
    """The checks of the module docstring, before the app sees a request."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes={max_body_bytes} must be at least 1")
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _parameter_problem(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        announced = _content_length(headers)
        if announced is not None and announced > self.max_body_bytes:
            await self._too_large(announced)(scope, receive, send)
            return
        if scope["path"].startswith("/v1/"):
            refusal = await _key_problem(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        try:
            body = await self._read(receive)
        except _TooLargeError:
            await self._too_large(None)(scope, receive, send)
            return
        except _DisconnectedError:
            return  # the client left mid-body: nobody to answer, nothing to do
        if body and _is_json(headers):
            try:
                if len(body) > OFF_LOOP_BYTES:  # a big batch: the loop keeps serving others
                    scope[PARSED_JSON] = await run_in_threadpool(loads_strict, body)
                else:
                    scope[PARSED_JSON] = loads_strict(body)
            except JsonRefusedError as refused:
                await _refused(refused.field, refused.value, refused.rule)(scope, receive, send)
                return
            except json.JSONDecodeError:
                pass  # not JSON: the route's own parse names where it breaks
            except (ValueError, RecursionError) as exc:  # bad UTF-8, huge numbers, nesting
                rule = f"must be JSON text in UTF-8 ({shown(str(exc) or type(exc).__name__)})"
                await _refused("body", f"{len(body)} bytes", rule)(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _DisconnectedError
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self, announced: int | None) -> Response:
        sent = f"{announced} bytes" if announced is not None else "more than that"
        message = f"the request body may hold at most {self.max_body_bytes} bytes; it holds {sent}"
        limit = f"at most {self.max_body_bytes} bytes"
        body = {"field": "body", "value": sent, "rule": limit, "limit": self.max_body_bytes}
        return problem_response(
            413, "ContentTooLarge", message, body, headers={"Connection": "close"}
        )


def _content_length(headers: Headers) -> int | None:
    text = headers.get("content-length")
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _is_json(headers: Headers) -> bool:
    kind = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _refused(field: str, value: str, rule: str) -> Response:
    message = f"{field}={value}: {rule}"
    problem = {"subject": "request", "field": field, "value": value, "rule": rule}
    return problem_response(422, "InvalidRequest", message, {"problems": [problem]})


def _parameter_problem(scope: Scope) -> Response | None:
    """422 for the first path or query parameter breaking a text rule, else None."""
    for name, value in _path_parameters(scope):
        rule = text_rule(value, strict=True, max_chars=MAX_PARAM_CHARS)
        if rule is not None:
            return _refused(f"path.{name}" if name else "path", shown(value), rule)
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        rule = text_rule(name, strict=True, max_chars=MAX_PARAM_CHARS)
        if rule is not None:
            return _refused(f"query.{shown(name)}", shown(name), f"a parameter name {rule}")
        rule = text_rule(value, strict=True, max_chars=MAX_PARAM_CHARS)
        if rule is not None:
            return _refused(f"query.{shown(name)}", shown(value), rule)
    return None


def _path_parameters(scope: Scope) -> list[tuple[str, str]]:
    """The path's parameters by name if a route's template matches it, else the whole path."""
    path = scope.get("path", "")
    if text_rule(path, strict=True, max_chars=4 * MAX_PARAM_CHARS) is None:
        return []
    for pattern in _path_patterns(scope.get("app")):
        found = pattern.fullmatch(path)
        if found is not None and found.groupdict():
            return list(found.groupdict().items())
    return [("", path)]


def _path_patterns(app: Any) -> list[re.Pattern[str]]:
    """The compiled path templates of `app`'s routes, included routers' too (remembered)."""
    cached = getattr(getattr(app, "state", None), "edge_path_patterns", None)
    if cached is not None:
        return cached
    patterns: list[re.Pattern[str]] = []
    pending = list(getattr(app, "routes", ()))
    while pending:
        route = pending.pop()
        regex = getattr(route, "path_regex", None)
        if isinstance(regex, re.Pattern) and regex.groupindex:
            patterns.append(regex)
        inner = getattr(route, "original_router", None) or route
        if inner is not route or not isinstance(regex, re.Pattern):
            pending.extend(getattr(inner, "routes", ()))
    if app is not None and hasattr(app, "state"):
        app.state.edge_path_patterns = patterns
    return patterns


async def _key_problem(scope: Scope, headers: Headers) -> Response | None:
    """401 if the request names no API key, or one the app's `KeyCache` does not know."""
    plaintext = headers.get("x-api-key")
    if not plaintext:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        plaintext = credentials.strip() if scheme.lower() == "bearer" else ""
    if not plaintext:
        message = "missing API key: send X-API-Key or Authorization: Bearer"
        return problem_response(401, "Unauthorized", message)
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    keys = getattr(services, "keys", None)
    if keys is None:
        return None
    record = keys.cached(plaintext)
    if record is None:  # a database read: off the event loop
        record = await run_in_threadpool(keys.verify, plaintext)
    if record is None:
        return problem_response(401, "Unauthorized", "the API key is unknown or revoked")
    return None


class _ParsedRequest(Request):
    """A request whose JSON body `EdgeGuard` has parsed already."""

    async def json(self) -> Any:
        if PARSED_JSON in self.scope:
            return self.scope[PARSED_JSON]
        return await super().json()


class EdgeRoute(APIRoute):
    """An `APIRoute` that takes the body `EdgeGuard` parsed instead of parsing it again."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_ParsedRequest(request.scope, request.receive))

        return route


__all__ = ["DEFAULT_MAX_BODY_BYTES", "PARSED_JSON", "EdgeGuard", "EdgeRoute"]
