"""API keys: only a hash is stored; verification, revocation and tenant scope."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_factories import batch, portfolio_document
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import (
    Actor,
    AuditAction,
    InvalidInputError,
    NotFoundError,
    Repository,
    Role,
)
from trading.store.base import Base


def _every_stored_text(repo: Repository) -> list[str]:
    texts = []
    with repo.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                texts.extend(str(value) for value in row)
    return texts


def test_the_plaintext_is_returned_once_and_never_stored(repo: Repository, tenant: str) -> None:
    created = repo.create_api_key(tenant, "trader", "desk 1")
    secret = created.plaintext.split("_", 2)[2]
    assert created.plaintext.startswith(f"vpp_{created.record.id}_")
    assert len(secret) >= 43
    assert created.plaintext not in repr(created)
    texts = _every_stored_text(repo)
    assert not any(secret in text for text in texts)
    assert hashlib.sha256(secret.encode()).hexdigest() in texts
    if repo.engine.dialect.name == "sqlite":  # not in the file, nor in its write-ahead log
        database = Path(repo.engine.url.database)
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert secret.encode() not in path.read_bytes()


def test_a_key_verifies_until_it_is_revoked(repo: Repository, tenant: str) -> None:
    created = repo.create_api_key(tenant, Role.COMPLIANCE, "auditor")
    verified = repo.verify_api_key(created.plaintext)
    assert verified == created.record
    assert verified.actor.role is Role.COMPLIANCE
    assert verified.active
    revoked = repo.revoke_api_key(tenant, created.record.id)
    assert revoked.revoked_at is not None
    assert not revoked.active
    assert repo.verify_api_key(created.plaintext) is None
    assert repo.revoke_api_key(tenant, created.record.id) == revoked  # again: no change
    actions = [a.action for a in repo.list_audit(tenant).items]
    assert actions.count(AuditAction.API_KEY_REVOKE) == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # wrong secret
        lambda key: key.replace("vpp_", "xyz_", 1),  # wrong prefix
        lambda key: "vpp_kdoesnotexist_" + key.split("_", 2)[2],  # unknown id
        lambda key: "",
        lambda key: "vpp__",
        lambda key: key.split("_", 2)[2],  # the secret alone
    ],
)
def test_wrong_keys_do_not_verify(repo: Repository, tenant: str, mangle) -> None:
    created = repo.create_api_key(tenant, "analyst", "reader")
    assert repo.verify_api_key(mangle(created.plaintext)) is None


def test_keys_belong_to_one_tenant(repo: Repository, tenant: str) -> None:
    repo.create_tenant("other", "Other")
    mine = repo.create_api_key(tenant, "admin", "root")
    with pytest.raises(NotFoundError, match=r"api key .* does not exist for tenant 'other'"):
        repo.revoke_api_key("other", mine.record.id)
    assert repo.list_api_keys("other") == []
    assert repo.list_api_keys(tenant) == [mine.record]
    with pytest.raises(InvalidInputError, match="tenant_id='other' is not the acting key's"):
        repo.create_api_key("other", "trader", "sneaky", actor=mine.record.actor)


def test_revoked_keys_can_no_longer_act(repo: Repository, tenant: str) -> None:
    key = repo.create_api_key(tenant, "trader", "desk").record
    bid_id = repo.add_bids(tenant, key.id, batch(1), "req-1").bid_ids[0]
    repo.revoke_api_key(tenant, key.id)
    with pytest.raises(InvalidInputError, match="was revoked"):
        repo.add_bids(tenant, key.id, batch(1), "req-2")
    with pytest.raises(InvalidInputError, match="was revoked"):
        repo.transition(bid_id, "submitted", key.actor)
    with pytest.raises(InvalidInputError, match="was revoked"):
        repo.save_portfolio(key.actor, portfolio_document(tenant))


def test_an_actor_with_another_tenants_key_is_refused(repo: Repository, tenant: str) -> None:
    repo.create_tenant("other", "Other")
    theirs = repo.create_api_key("other", "admin", "root").record
    forged = Actor(tenant_id=tenant, key_id=theirs.id, role=Role.ADMIN)
    with pytest.raises(InvalidInputError, match=f"key_id='{theirs.id}' is not an API key of"):
        repo.save_portfolio(forged, portfolio_document(tenant))
    assert repo.list_audit(tenant, key_id=theirs.id).total == 0


def test_roles_are_checked(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match="role='superuser' must be one of trader"):
        repo.create_api_key(tenant, "superuser", "x")


def test_key_creation_is_audited_with_who_did_it(repo: Repository, tenant: str) -> None:
    admin = repo.create_api_key(tenant, "admin", "root").record
    trader = repo.create_api_key(tenant, "trader", "desk", actor=admin.actor).record
    row = repo.list_audit(tenant, subject=f"api_key {trader.id}").items[0]
    assert (row.action, row.key_id, row.role) == (AuditAction.API_KEY_CREATE, admin.id, "admin")
    assert row.details == {"role": "trader", "name": "desk"}
