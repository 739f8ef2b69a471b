"""Who may knock how often: failed logins per client address, requests and plans per tenant.

`AccessLimits` holds the figures (from ``VPP_*`` environment variables, see `from_env`).
`AccessGuard` keeps moving windows in memory (`trading.api.moving_window`), per process:

- failed authentications per client address: each one is logged (``auth_failed`` with the
  address and the reason, never the key) and counted; once an address has
  `auth_failures` failures within `auth_window_s` seconds, every request from it whose key
  is not already verified in the key cache answers 429 with ``Retry-After`` (the seconds
  until its oldest counted failure leaves the window). A key that works keeps working from
  an address that is locked out only while the key cache remembers it, so a blocked
  address cannot use the lock-out window to test keys.
- requests per tenant: at most `tenant_requests_per_s` authenticated requests per second
  per tenant (moving window); over it, 429 with ``Retry-After``.
- plans per tenant: at most `tenant_plans` queued or running plans (counted in the
  store, so across processes); one more is a 429.

The client address is the connection's peer (``request.client.host``); behind a reverse
proxy run uvicorn with ``--forwarded-allow-ips`` so that it is the proxy's client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

import structlog
from fastapi.responses import JSONResponse

from trading.api.errors import ApiError
from trading.api.moving_window import MovingWindow
from trading.settings import VppSettings

ENV_NAMES = {
    "auth_failures": "VPP_AUTH_FAILURES",
    "auth_window_s": "VPP_AUTH_WINDOW_S",
    "tenant_requests_per_s": "VPP_TENANT_REQUESTS_PER_S",
    "tenant_plans": "VPP_TENANT_PLANS",
}
"""The environment variable of each `AccessLimits` field."""


@dataclass(frozen=True)
class AccessLimits:
    """The figures of `AccessGuard`; 0 turns a limit off."""

    auth_failures: int = 20
    """Failed authentications of one client address within `auth_window_s` before 429."""
    auth_window_s: int = 10
    """The window failed authentications are counted in [s]."""
    tenant_requests_per_s: int = 2000
    """Authenticated requests per tenant per second before 429."""
    tenant_plans: int = 4
    """Queued or running plans per tenant before ``POST /v1/plans`` answers 429."""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{item.name}={value!r}: must be a whole number >= 0")
        if self.auth_failures and not self.auth_window_s:
            raise ValueError("auth_window_s=0: must be at least 1 while auth_failures is set")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessLimits:
        """The defaults, overridden by ``VPP_AUTH_FAILURES``, ``VPP_AUTH_WINDOW_S``,
        ``VPP_TENANT_REQUESTS_PER_S`` and ``VPP_TENANT_PLANS`` where set."""
        settings = VppSettings.from_environ(environ)
        try:
            return cls(**{name: getattr(settings, name) for name in ENV_NAMES})
        except ValueError as exc:
            name = str(exc).split("=", 1)[0]
            raise ValueError(f"{ENV_NAMES.get(name, name)}: {exc}") from None


class TooManyRequestsError(ApiError):
    """A 429 with ``Retry-After`` [s, whole, at least 1]."""

    def __init__(self, message: str, retry_after_s: float, body: dict[str, object]) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(
            429, "TooManyRequests", message, {**body, "retry_after_s": self.retry_after}
        )

    def response(self) -> JSONResponse:
        """The JSON body, and ``Retry-After``."""
        answer = super().response()
        answer.headers["Retry-After"] = str(self.retry_after)
        return answer


class AccessGuard:
    """Counts failed logins per address and requests per tenant (see the module doc)."""

    def __init__(self, limits: AccessLimits | None = None) -> None:
        self.limits = limits if limits is not None else AccessLimits()
        self._failures: MovingWindow | None = None
        if self.limits.auth_failures:
            self._failures = MovingWindow(self.limits.auth_failures, self.limits.auth_window_s)
        self._requests: MovingWindow | None = None
        if self.limits.tenant_requests_per_s:
            self._requests = MovingWindow(self.limits.tenant_requests_per_s, 1.0)
        self._log = structlog.get_logger(__name__)

    def check_address(self, address: str) -> None:
        """`TooManyRequestsError` if `address` has used up its failed authentications."""
        if self._failures is None or self._failures.test(address):
            return
        retry = self._failures.reset_in(address)
        raise TooManyRequestsError(
            f"client {address}: {self.limits.auth_failures} failed authentications within "
            f"{self.limits.auth_window_s} s; retry in {math.ceil(retry)} s",
            retry,
            {"limit": "auth_failures", "value": self.limits.auth_failures},
        )

    def failed(self, address: str, reason: str) -> None:
        """Log and count a failed authentication of `address` (`reason`: what was wrong)."""
        self._log.warning("auth_failed", client=address, reason=reason)
        if self._failures is not None:
            self._failures.hit(address)

    def admit(self, tenant_id: str) -> None:
        """Count a request of `tenant_id`; `TooManyRequestsError` over its quota."""
        if self._requests is None or self._requests.hit(tenant_id):
            return
        retry = self._requests.reset_in(tenant_id)
        raise TooManyRequestsError(
            f"tenant {tenant_id!r}: over {self.limits.tenant_requests_per_s} requests per second",
            retry,
            {"limit": "tenant_requests_per_s", "value": self.limits.tenant_requests_per_s},
        )

    def check_plans(self, tenant_id: str, unfinished: int) -> None:
        """`TooManyRequestsError` if `unfinished` queued or running plans leave no room."""
        if not self.limits.tenant_plans or unfinished < self.limits.tenant_plans:
            return
        raise TooManyRequestsError(
            f"tenant {tenant_id!r} has {unfinished} queued or running plans, the most it may "
            f"have is {self.limits.tenant_plans}; wait for one to finish or cancel one "
            "(DELETE /v1/plans/{id})",
            5,
            {"limit": "tenant_plans", "value": self.limits.tenant_plans, "figure": unfinished},
        )
