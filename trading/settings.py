"""The server's and the command line's settings from the environment, in one object.

`VppSettings` is every ``VPP_*`` variable the engine reads (docs/configuration.md is the
table): the dispatcher's (`dispatch.settings.DispatchSettings`) plus the trading API's.
Read it with `VppSettings.from_environ()`; an empty variable counts as unset, and a bad
value is a `ValueError` naming the variable, the value and the rule. Command-line options
(``--db``...) win over the environment where both exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from dispatch.settings import DispatchSettings

WholeNumber = Annotated[int, Field(ge=0)]


class VppSettings(DispatchSettings):
    """Every setting of `vpp serve`, the API and the commands, by environment variable."""

    db_url: str | None = None
    """``VPP_DB_URL``: database URL (SQLite or PostgreSQL); unset: the user's SQLite file."""
    max_body_bytes: Annotated[int | None, Field(ge=1)] = None
    """``VPP_MAX_BODY_BYTES``: largest request body the API reads [bytes];
    larger: 413. Unset: 4 MiB (`trading.api.app.DEFAULT_MAX_BODY_BYTES`)."""
    auth_failures: WholeNumber = 20
    """``VPP_AUTH_FAILURES``: failed authentications of one client within
    `auth_window_s` before 429 [count]; 0: no limit."""
    auth_window_s: WholeNumber = 10
    """``VPP_AUTH_WINDOW_S``: window failed authentications are counted in [s]."""
    tenant_requests_per_s: WholeNumber = 2000
    """``VPP_TENANT_REQUESTS_PER_S``: authenticated requests per tenant per second before
    429 [1/s]; 0: no limit."""
    switch_interval_ms: Annotated[float, Field(gt=0, le=100)] = 0.5
    """``VPP_SWITCH_INTERVAL_MS``: how long one thread of `vpp serve` may hold the
    interpreter lock while another waits for it [ms] (Python's own default: 5). Short, so
    that the event loop answers requests while a worker thread checks or writes a large
    batch: every wait for the lock costs the loop up to this long."""
    tenant_plans: WholeNumber = 4
    """``VPP_TENANT_PLANS``: queued or running plans per tenant before ``POST /v1/plans``
    answers 429 [count]; 0: no limit."""
    tso: Literal["loopback", "iec104"] = "loopback"
    """``VPP_TSO``: where the engine's aFRR activation comes from: ``loopback`` (the real
    German activation pattern on the band sold) or ``iec104`` (each pool an IEC 104
    controlled station the TSO connects to; needs the extra ``vpp-engine[iec104]``)."""
    tso_host: str = "127.0.0.1"
    """``VPP_TSO_HOST``: interface the pools' IEC 104 stations listen on."""
    tso_port: Annotated[int, Field(ge=1, le=65535)] = 2404
    """``VPP_TSO_PORT``: TCP port of the first pool's IEC 104 station; the next pools take
    the ports after it, in the order they start."""
