"""What the store refuses, as exceptions a user can read: subject, field, value and rule.

Every error here is a client mistake the API answers with a 4xx and a body; the
`as_dict` of each is that body. Input errors reuse `regulatory.ProblemsError`, so that a
bad bid batch reports every broken field at once, like a bad portfolio file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from regulatory.problems import Problem, ProblemsError, format_value


class StoreError(Exception):
    """Base of the store's refusals."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for API bodies."""
        return {"error": type(self).__name__, "message": str(self)}


class InvalidInputError(ProblemsError, StoreError):
    """Input broke one or more rules; `problems` names each field, value and rule."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form with every problem."""
        return {
            "error": type(self).__name__,
            "message": str(self),
            "problems": [p.as_dict() for p in self.problems],
        }


def invalid(subject: str, field: str, value: object, rule: str) -> InvalidInputError:
    """One-problem `InvalidInputError`."""
    return InvalidInputError([Problem(subject, field, value, rule)])


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise `InvalidInputError` with every problem, if there is any."""
    found = list(problems)
    if found:
        raise InvalidInputError(found)


class NotFoundError(StoreError, LookupError):
    """No `kind` with this id exists for the tenant (another tenant's rows count as absent)."""

    def __init__(self, kind: str, ident: str, tenant_id: str | None = None) -> None:
        self.kind, self.ident, self.tenant_id = kind, ident, tenant_id
        where = f" for tenant {tenant_id!r}" if tenant_id is not None else ""
        super().__init__(f"{kind} {ident!r} does not exist{where}")


class TransitionError(StoreError):
    """A status move the lifecycle does not allow, naming from, to and what is allowed."""

    def __init__(
        self, subject: str, from_status: str, to_status: str, allowed: Iterable[str]
    ) -> None:
        self.subject, self.from_status, self.to_status = subject, from_status, to_status
        self.allowed = tuple(sorted(allowed))
        options = ", ".join(self.allowed) if self.allowed else f"nothing ({from_status} is final)"
        super().__init__(
            f"{subject}: status {from_status} -> {to_status} is not an allowed transition; "
            f"from {from_status} it may move to {options}"
        )


class IdempotencyKeyReusedError(StoreError):
    """The idempotency key was used before, by this tenant, for a different request."""

    def __init__(self, tenant_id: str, key: str) -> None:
        self.tenant_id, self.key = tenant_id, key
        super().__init__(
            f"idempotency_key={format_value(key)} was already used by tenant {tenant_id!r} "
            "for a different request; a key may only be replayed with the identical request"
        )


class ConflictError(StoreError):
    """The request contradicts what is stored (a second, different clearing; a plan in use)."""

    def __init__(self, subject: str, rule: str) -> None:
        self.subject, self.rule = subject, rule
        super().__init__(f"{subject}: {rule}")


class BidIdTakenError(ConflictError):
    """The tenant already has a bid under this ``bid_id`` with a different body."""

    def __init__(self, tenant_id: str, bid_id: str, stored_id: str) -> None:
        self.tenant_id, self.bid_id, self.stored_id = tenant_id, bid_id, stored_id
        super().__init__(
            f"bid_id={format_value(bid_id)}",
            f"already names bid {stored_id!r} of tenant {tenant_id!r}, with a different body; "
            "a bid_id names one bid of a tenant (resend the identical bid to get it back, "
            "or choose a new bid_id)",
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form naming the field, the value and the rule."""
        return {
            **super().as_dict(),
            "field": "bid_id",
            "value": self.bid_id,
            "rule": "unique per tenant: the same bid_id is answered only for the same bid",
            "bid": self.stored_id,
        }
