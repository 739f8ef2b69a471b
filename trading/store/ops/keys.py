"""API keys: create (the plaintext is returned once), verify, list, revoke, rotate.

A key reads ``vpp_<key id>_<secret>``. The secret is 256 random bits; only its SHA-256
is stored (a fast hash suffices for a random secret of that size: there is nothing to
guess). Verification looks the key up by its id and compares the hashes in constant time.
A key may carry an expiry instant [UTC]: from then on it verifies no more and may not act,
as a revoked key. Rotating a key makes a new one of the same tenant, role and name and
revokes the old one (at once, or lets it expire after a grace period).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulatory.problems import Problem
from trading.store.checks import check_enum
from trading.store.errors import InvalidInputError, NotFoundError, invalid
from trading.store.inputs import Actor
from trading.store.models import ApiKeyRow
from trading.store.ops.audit import audit
from trading.store.ops.tenants import require_tenant
from trading.store.records import ApiKeyRecord, NewApiKey
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, Role

PREFIX = "vpp"
_UNKNOWN_KEY_HASH = hashlib.sha256(b"no such key").hexdigest()


MAX_GRACE_S = 7 * 24 * 3600.0
"""The longest a rotated key may keep working beside its successor [s]."""


class KeyRefusedError(InvalidInputError):
    """The acting key is revoked, expired, or not the tenant's: it may not act (the API's 401)."""


def acting_for(tenant_id: str, actor: Actor | None) -> Actor:
    """Who acts on `tenant_id`'s keys: `actor`, or the engine itself when None; an actor of
    another tenant is refused."""
    if actor is None:
        return Actor.system(tenant_id)
    if actor.tenant_id != tenant_id:
        rule = f"is not the acting key's tenant {actor.tenant_id!r}"
        raise invalid("api key", "tenant_id", tenant_id, rule)
    return actor


def key_refused(subject: str, key_id: object, rule: str) -> KeyRefusedError:
    """One-problem `KeyRefusedError` naming the key."""
    return KeyRefusedError([Problem(subject, "key_id", key_id, rule)])


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """`expires_at` in UTC; `InvalidInputError` if it is naive or not after `now`."""
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime) or expires_at.utcoffset() is None:
        raise invalid("api key", "expires_at", expires_at, "must be a timezone-aware instant")
    if expires_at <= now:
        rule = f"must be after now ({now.isoformat()})"
        raise invalid("api key", "expires_at", expires_at.isoformat(), rule)
    return expires_at.astimezone(now.tzinfo)


def secret_hash(secret: str) -> str:
    """Hex SHA-256 of a key's secret part."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """(key id, secret) of ``vpp_<id>_<secret>``; None if `plaintext` is not of that form."""
    if not isinstance(plaintext, str):
        return None
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def create_api_key(
    session: Session,
    tenant_id: str,
    role: Role | str,
    name: str,
    actor: Actor | None = None,
    *,
    expires_at: datetime | None = None,
) -> NewApiKey:
    """A new key of `tenant_id` with `role`; its plaintext is in the result, and nowhere else.

    `actor` None: the engine itself (`acting_for`). `expires_at` [aware, after now]: the
    key stops working then; None: never.
    """
    who = acting_for(tenant_id, actor)
    require_tenant(session, tenant_id)
    actor = key_actor(session, tenant_id, who.key_id, "api key")
    return _new_key(session, tenant_id, role, name, actor, expires_at)


def _new_key(
    session: Session,
    tenant_id: str,
    role: Role | str,
    name: str,
    actor: Actor,
    expires_at: datetime | None,
    details: dict[str, str] | None = None,
) -> NewApiKey:
    role = check_enum(Role, "api key", "role", role)
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise invalid("api key", "name", name, "must be text of 1 to 200 characters")
    now = utc_now()
    expires_at = check_expiry(expires_at, now)
    key_id = "k" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        tenant_id=tenant_id,
        role=role.value,
        name=name.strip(),
        secret_sha256=secret_hash(secret),
        created_at=now,
        revoked_at=None,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        AuditAction.API_KEY_CREATE,
        f"api_key {key_id}",
        {
            "role": role.value,
            "name": row.name,
            **({} if expires_at is None else {"expires_at": expires_at.isoformat()}),
            **(details or {}),
        },
    )
    return NewApiKey(ApiKeyRecord.of(row), f"{PREFIX}_{key_id}_{secret}")


def verify_api_key(session: Session, plaintext: str) -> ApiKeyRecord | None:
    """The key `plaintext` names, if it exists, matches, is not revoked and not expired."""
    parsed = parse_key(plaintext)
    key_id, secret = parsed if parsed is not None else ("", plaintext or "")
    row = session.get(ApiKeyRow, key_id) if key_id else None
    expected = row.secret_sha256 if row is not None else _UNKNOWN_KEY_HASH
    matches = hmac.compare_digest(expected, secret_hash(str(secret)))
    if row is None or not matches or row.revoked_at is not None:
        return None
    if row.expires_at is not None and utc_now() >= row.expires_at:
        return None
    return ApiKeyRecord.of(row)


def revoke_api_key(
    session: Session, tenant_id: str, key_id: str, actor: Actor | None = None
) -> ApiKeyRecord:
    """Revoke the tenant's key `key_id` (again: no change); it never verifies afterwards.
    `actor` None: the engine itself."""
    actor = key_actor(session, tenant_id, acting_for(tenant_id, actor).key_id, "api key")
    row = _own_key(session, tenant_id, key_id)
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        audit(session, actor, AuditAction.API_KEY_REVOKE, f"api_key {key_id}")
    return ApiKeyRecord.of(row)


def rotate_api_key(
    session: Session,
    tenant_id: str,
    key_id: str,
    actor: Actor | None = None,
    *,
    expires_at: datetime | None = None,
    grace_s: float = 0.0,
) -> NewApiKey:
    """A successor of the tenant's key `key_id` (same role and name, expiry `expires_at`).

    The old key is revoked at once (`grace_s` 0), or expires `grace_s` seconds from now
    (at most `MAX_GRACE_S`; an earlier expiry of its own stays), so that a desk can
    switch over. A revoked or expired key cannot be rotated: create a new one. `actor`
    None: the engine itself.
    """
    actor = key_actor(session, tenant_id, acting_for(tenant_id, actor).key_id, "api key")
    if isinstance(grace_s, bool) or not isinstance(grace_s, int | float):
        raise invalid("api key", "grace_s", grace_s, "must be a number of seconds")
    if not 0 <= grace_s <= MAX_GRACE_S:
        raise invalid("api key", "grace_s", grace_s, f"must be from 0 to {MAX_GRACE_S:g} s")
    old = _own_key(session, tenant_id, key_id)
    now = utc_now()
    if old.revoked_at is not None or (old.expires_at is not None and now >= old.expires_at):
        raise invalid("api key", "key_id", key_id, "is revoked or expired; create a new key")
    new = _new_key(
        session, tenant_id, old.role, old.name, actor, expires_at, {"rotated_from": old.id}
    )
    if grace_s == 0:
        old.revoked_at = now
    else:
        ends = now + timedelta(seconds=grace_s)
        old.expires_at = ends if old.expires_at is None else min(old.expires_at, ends)
    audit(
        session,
        actor,
        AuditAction.API_KEY_ROTATE,
        f"api_key {key_id}",
        {
            "successor": new.record.id,
            "old_key_ends": (old.revoked_at or old.expires_at or now).isoformat(),
        },
    )
    return new


def _own_key(session: Session, tenant_id: str, key_id: str) -> ApiKeyRow:
    row = session.scalar(
        select(ApiKeyRow)
        .where(ApiKeyRow.id == key_id, ApiKeyRow.tenant_id == tenant_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("api key", str(key_id), tenant_id)
    return row


def list_api_keys(session: Session, tenant_id: str) -> list[ApiKeyRecord]:
    """The tenant's keys, revoked ones included, oldest first."""
    rows = session.scalars(
        select(ApiKeyRow)
        .where(ApiKeyRow.tenant_id == tenant_id)
        .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    )
    return [ApiKeyRecord.of(r) for r in rows]


def key_actor(session: Session, tenant_id: str, key_id: str | None, subject: str) -> Actor:
    """The actor for `key_id` of `tenant_id`, its role as stored (the engine itself if None).

    Every write checks its actor here, so the audit log names only keys that could act:
    `KeyRefusedError` if the key does not exist, is another tenant's, is revoked or expired.
    """
    if key_id is None:
        return Actor.system(tenant_id)
    row = session.get(ApiKeyRow, key_id) if isinstance(key_id, str) else None
    refusal = refused_because(
        tenant_id, None if row is None else (row.tenant_id, row.revoked_at, row.expires_at)
    )
    if refusal is not None:
        raise key_refused(subject, key_id, refusal)
    assert row is not None
    return Actor(tenant_id=tenant_id, key_id=row.id, role=Role(row.role))


def refused_because(
    tenant_id: str, facts: tuple[str, datetime | None, datetime | None] | None
) -> str | None:
    """Why a key with (tenant, revoked_at, expires_at) `facts` may not act for `tenant_id`."""
    if facts is None or facts[0] != tenant_id:
        return f"is not an API key of tenant {tenant_id!r}"
    if facts[1] is not None:
        return "was revoked and may no longer act"
    if facts[2] is not None and utc_now() >= facts[2]:
        return f"expired at {facts[2].isoformat()} and may no longer act"
    return None
