"""Shared test configuration: where optional resources are, and skip rules for them.

- ``realdata``: needs the real historical data in ``../shared/data`` (or ``VPP_SHARED_DATA``).
- ``postgres``: needs PostgreSQL on 127.0.0.1:5432 (or ``VPP_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VPP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SAMPLE_PORTFOLIO = REPO_ROOT / "data" / "sample_portfolio.yaml"

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _structlog_restored() -> Iterator[None]:
    """Each test gets back the event configuration it started with: a command run in a test
    (e.g. `vpp simulate` through the CLI runner) may point events at a stream the runner
    closes afterwards, and a later test's events must not be written there."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1.0):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip marked tests, with the reason, where their resource is missing."""
    no_data = pytest.mark.skip(
        reason=f"real data not found at {SHARED_DATA} (set VPP_SHARED_DATA to its folder)"
    )
    no_pg = pytest.mark.skip(reason="PostgreSQL is not reachable on 127.0.0.1:5432")
    data_present = SHARED_DATA.is_dir()
    pg_present: bool | None = None
    for item in items:
        if "realdata" in item.keywords and not data_present:
            item.add_marker(no_data)
        if "postgres" in item.keywords:
            if pg_present is None:
                pg_present = _postgres_reachable()
            if not pg_present:
                item.add_marker(no_pg)


@pytest.fixture
def sample_portfolio_path() -> Path:
    """The project's sample portfolio file."""
    return SAMPLE_PORTFOLIO
