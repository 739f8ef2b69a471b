"""The wheel ships every migration file, so an installed engine can migrate its database."""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

from trading.store.migrate import MIGRATIONS_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_holds_every_migration_file() -> None:
    shipped = {f.distribution_path for f in WheelBuilder(str(ROOT)).recurse_included_files()}
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in MIGRATIONS_DIR.rglob("*")
        if path.is_file() and path.suffix in {".py", ".mako"}
    }
    assert "trading/store/migrations/versions/0001_initial.py" in sources
    assert sources <= shipped
    assert not any("__pycache__" in path for path in shipped)
