"""A small client of the trading API for commands that act on a running `vpp serve`.

What lives in the server's process (the engine's pools, the flags it obeys at its next
tick) is reached over HTTP with an API key, as a desk would: ``--url`` (default
``$VPP_API_URL``, else http://127.0.0.1:8000) and ``--key`` (default ``$VPP_API_KEY``).
Standard library only: the command line needs no HTTP client package.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer

from trading.cli.output import EXIT_INVALID_INPUT

URL_ENV = "VPP_API_URL"
KEY_ENV = "VPP_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 30.0
"""How long one request may take [s] before the command gives up."""

EXIT_UNREACHABLE = 3
"""Exit code when the server cannot be reached or answers with a server error."""

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help=f"the API's base URL; default ${URL_ENV} or {DEFAULT_URL}"),
]
KeyOption = Annotated[
    str | None, typer.Option("--key", help=f"an API key; default ${KEY_ENV}", show_default=False)
]


def call(method: str, path: str, url: str | None, key: str | None, body: Any | None = None) -> Any:
    """The JSON answer of ``method path``; on a refusal, the problem on stderr and exit 2
    (a client mistake: 4xx) or 3 (server away or failing)."""
    base = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        typer.echo(f"error: --url={base!r}: must start with http:// or https://", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    secret = key or os.environ.get(KEY_ENV)
    if not secret:
        typer.echo(f"error: --key: no API key given (nor ${KEY_ENV})", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"X-API-Key": secret, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        _report(refused)
        code = EXIT_INVALID_INPUT if 400 <= refused.code < 500 else EXIT_UNREACHABLE
        raise typer.Exit(code) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as away:
        reason = getattr(away, "reason", away)
        typer.echo(f"error: --url {base}: the API cannot be reached ({reason})", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None


def _report(refused: urllib.error.HTTPError) -> None:
    try:
        problem = json.loads(refused.read() or b"{}")
    except ValueError:
        problem = {}
    message = problem.get("message") or refused.reason
    typer.echo(f"error: {refused.code} {message}", err=True)
    for item in problem.get("problems", []):
        typer.echo(
            f"  {item.get('field')}={item.get('value')!r}: {item.get('rule')}",
            err=True,
        )
