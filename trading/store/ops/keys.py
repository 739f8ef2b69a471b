"""API keys: create (the plaintext is returned once), verify, revoke.

A key reads ``vpp_<key id>_<secret>``. The secret is 256 random bits; only its SHA-256
is stored (a fast hash suffices for a random secret of that size: there is nothing to
guess). Verification looks the key up by its id and compares the hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.store.checks import check_enum
from trading.store.errors import NotFoundError, invalid
from trading.store.inputs import Actor
from trading.store.models import ApiKeyRow
from trading.store.ops.audit import audit
from trading.store.ops.tenants import require_tenant
from trading.store.records import ApiKeyRecord, NewApiKey
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, Role

PREFIX = "vpp"
_UNKNOWN_KEY_HASH = hashlib.sha256(b"no such key").hexdigest()


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
    session: Session, tenant_id: str, role: Role | str, name: str, actor: Actor
) -> NewApiKey:
    """A new key of `tenant_id` with `role`; its plaintext is in the result, and nowhere else."""
    require_tenant(session, tenant_id)
    actor = key_actor(session, tenant_id, actor.key_id, "api key")
    role = check_enum(Role, "api key", "role", role)
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise invalid("api key", "name", name, "must be text of 1 to 200 characters")
    key_id = "k" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        tenant_id=tenant_id,
        role=role.value,
        name=name.strip(),
        secret_sha256=secret_hash(secret),
        created_at=utc_now(),
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        AuditAction.API_KEY_CREATE,
        f"api_key {key_id}",
        {"role": role.value, "name": row.name},
    )
    return NewApiKey(ApiKeyRecord.of(row), f"{PREFIX}_{key_id}_{secret}")


def verify_api_key(session: Session, plaintext: str) -> ApiKeyRecord | None:
    """The key `plaintext` names, if it exists, matches and is not revoked; else None."""
    parsed = parse_key(plaintext)
    key_id, secret = parsed if parsed is not None else ("", plaintext or "")
    row = session.get(ApiKeyRow, key_id) if key_id else None
    expected = row.secret_sha256 if row is not None else _UNKNOWN_KEY_HASH
    matches = hmac.compare_digest(expected, secret_hash(str(secret)))
    if row is None or not matches or row.revoked_at is not None:
        return None
    return ApiKeyRecord.of(row)


def revoke_api_key(session: Session, tenant_id: str, key_id: str, actor: Actor) -> ApiKeyRecord:
    """Revoke the tenant's key `key_id` (again: no change); it never verifies afterwards."""
    actor = key_actor(session, tenant_id, actor.key_id, "api key")
    row = session.scalar(
        select(ApiKeyRow)
        .where(ApiKeyRow.id == key_id, ApiKeyRow.tenant_id == tenant_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("api key", str(key_id), tenant_id)
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        audit(session, actor, AuditAction.API_KEY_REVOKE, f"api_key {key_id}")
    return ApiKeyRecord.of(row)


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
    `InvalidInputError` if the key does not exist, is another tenant's, or is revoked.
    """
    if key_id is None:
        return Actor.system(tenant_id)
    row = session.get(ApiKeyRow, key_id) if isinstance(key_id, str) else None
    if row is None or row.tenant_id != tenant_id:
        raise invalid(subject, "key_id", key_id, f"is not an API key of tenant {tenant_id!r}")
    if row.revoked_at is not None:
        raise invalid(subject, "key_id", key_id, "was revoked and may no longer act")
    return Actor(tenant_id=tenant_id, key_id=row.id, role=Role(row.role))
