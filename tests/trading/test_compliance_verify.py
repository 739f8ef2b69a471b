"""`trading.compliance.export.verify`: any change to any byte of any exported file fails,
naming that file and no other; an export verifies as written."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markets.registry import default_registry as market_registry
from regulatory.registry import default_registry as regulatory_registry
from trading.compliance.export import MANIFEST, export, verify
from trading.store import Repository, upgrade

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of an empty database: the rule files are large, the period's empty."""
    root = tmp_path_factory.mktemp("export")
    url = f"sqlite:///{root / 'store.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    try:
        export(repository, market_registry(), regulatory_registry(), SINCE, UNTIL, root / "out")
    finally:
        repository.close()
    return root / "out"


def test_an_export_verifies_as_written(exported: Path) -> None:
    assert verify(exported) == []
    names = sorted(p.name for p in exported.iterdir())
    assert MANIFEST in names
    assert len(names) == 9  # four tables as CSV and JSON, and the manifest


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_changed_byte_fails_naming_its_file_only(exported: Path, data: st.DataObject) -> None:
    files = sorted(p.name for p in exported.iterdir() if p.name != MANIFEST)
    name = data.draw(st.sampled_from(files), label="file")
    size = (exported / name).stat().st_size
    position = data.draw(st.integers(0, size - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "out"
        shutil.copytree(exported, copy)
        content = bytearray((copy / name).read_bytes())
        content[position] ^= flip
        (copy / name).write_bytes(bytes(content))
        failures = verify(copy)
    assert [f.file for f in failures] == [name]
    assert "SHA-256" in failures[0].reason
