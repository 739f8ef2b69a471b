"""`VppSettings`: every VPP_* variable in one object, documented in docs/configuration.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.protocols.mapsources import env_dirs
from trading.api.ratelimit import AccessLimits
from trading.settings import VppSettings
from trading.store.engine import database_url

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented_variables() -> dict[str, str]:
    """Variable -> field, from the table of docs/configuration.md."""
    rows = re.findall(r"^\| `(VPP_[A-Z_]+)` \| `([a-z_]+)` \|", DOC.read_text(), re.M)
    return dict(rows)


def test_the_table_documents_every_setting_under_its_variable() -> None:
    expected = {VppSettings.env_name(field): field for field in VppSettings.model_fields}
    assert documented_variables() == expected


def test_existing_variable_names_are_kept() -> None:
    assert set(documented_variables()) >= {
        "VPP_DB_URL",
        "VPP_MAX_BODY_BYTES",
        "VPP_AUTH_FAILURES",
        "VPP_AUTH_WINDOW_S",
        "VPP_TENANT_REQUESTS_PER_S",
        "VPP_TENANT_PLANS",
        "VPP_METRICS_PORT",
        "VPP_REGISTER_MAPS",
    }


def test_the_process_environment_is_read_and_empty_means_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VPP_TENANT_PLANS", "2")
    monkeypatch.setenv("VPP_METRICS_PORT", "")
    settings = VppSettings.from_environ()
    assert settings.tenant_plans == 2
    assert settings.metrics_port is None
    assert AccessLimits.from_env().tenant_plans == 2


def test_modules_read_their_setting_through_the_object(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VPP_DB_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert database_url().database == str(tmp_path / "x.sqlite3")
    monkeypatch.setenv("VPP_REGISTER_MAPS", f"{tmp_path}{os.pathsep} ")
    assert env_dirs() == [tmp_path]


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("VPP_MAX_BODY_BYTES", "0", "greater than or equal to 1"),
        ("VPP_AUTH_WINDOW_S", "ten", "valid integer"),
        ("VPP_METRICS_PORT", "65536", "less than or equal to 65535"),
    ],
)
def test_a_bad_value_names_variable_value_and_rule(variable: str, value: str, rule: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{variable}={value!r}")) as caught:
        VppSettings.from_environ({variable: value})
    assert rule in str(caught.value)


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_a_port_is_accepted_exactly_from_0_to_65535(port: int) -> None:
    environ = {"VPP_METRICS_PORT": f" {port} "}
    if 0 <= port <= 65535:
        assert VppSettings.from_environ(environ).metrics_port == port
    else:
        with pytest.raises(ValueError, match="VPP_METRICS_PORT"):
            VppSettings.from_environ(environ)
