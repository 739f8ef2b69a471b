"""The repository's methods are the store's operations, each in a transaction of its own:
same parameters (less the session), same documentation, and one transaction per call."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from trading.store import ConflictError, Repository, upgrade
from trading.store.ops import keys, lifecycle, plans, portfolios, tenants
from trading.store.ops import limits as limit_ops

OPERATIONS = {
    "create_tenant": tenants.create_tenant,
    "get_tenant": tenants.get_tenant,
    "create_api_key": keys.create_api_key,
    "rotate_api_key": keys.rotate_api_key,
    "revoke_api_key": keys.revoke_api_key,
    "list_api_keys": keys.list_api_keys,
    "set_risk_limit": limit_ops.set_limit,
    "list_risk_limits": limit_ops.list_limits,
    "save_portfolio": portfolios.save_portfolio,
    "list_assets": portfolios.list_assets,
    "transition": lifecycle.transition,
    "record_clearing": lifecycle.record_clearing,
    "create_plan": plans.create_plan,
    "list_plans": plans.list_plans,
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_method_takes_what_its_operation_takes_but_the_session(name: str) -> None:
    method, operation = getattr(Repository, name), OPERATIONS[name]
    _session, *wanted = inspect.signature(operation).parameters.values()
    _self, *given = inspect.signature(method).parameters.values()

    assert given == wanted
    assert (
        inspect.signature(method).return_annotation
        == inspect.signature(operation).return_annotation
    )
    assert inspect.cleandoc(operation.__doc__ or "") in (method.__doc__ or "")


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    upgrade(url)
    return Repository.from_url(url)


def test_a_refused_write_leaves_nothing_and_the_next_call_runs_in_a_new_transaction(
    repo: Repository,
) -> None:
    repo.create_tenant("acme", "Acme Trading")
    with pytest.raises(ConflictError):
        repo.create_tenant("acme", "Acme again")
    key = repo.create_api_key("acme", "trader", "desk")

    assert repo.get_tenant("acme").name == "Acme Trading"
    assert [k.id for k in repo.list_api_keys("acme")] == [key.record.id]
    assert repo.verify_api_key(key.plaintext) == key.record
