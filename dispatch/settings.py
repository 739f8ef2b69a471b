"""The dispatcher's settings from the environment: one object, one place per variable.

`DispatchSettings` holds what every command that dispatches reads from ``VPP_*``
environment variables; `trading.settings.VppSettings` extends it with the server's. Each
field is the variable's name without ``VPP_``, lower case (``metrics_port`` is
``VPP_METRICS_PORT``). An empty variable counts as unset. docs/configuration.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "VPP_"


class EnvSettings(BaseSettings):
    """Settings read from ``VPP_<FIELD>`` variables, with errors naming the variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable of `field` (``metrics_port`` -> ``VPP_METRICS_PORT``)."""
        return f"{ENV_PREFIX}{field.upper()}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from `environ` (default: the process environment).

        `ValueError` naming the variable, its value and the rule it breaks.
        """
        try:
            if environ is None:
                return cls()
            given = {
                field: text
                for field in cls.model_fields
                if (text := environ.get(cls.env_name(field))) is not None and text.strip()
            }
            return cls.model_validate(given)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            raise ValueError(
                f"{cls.env_name(field)}={error.get('input')!r}: {error['msg']}"
            ) from None


class DispatchSettings(EnvSettings):
    """What commands that dispatch read from the environment."""

    metrics_port: Annotated[int | None, Field(ge=0, le=65535)] = None
    """``VPP_METRICS_PORT``: serve Prometheus ``/metrics`` on this TCP port (0: any free
    port); unset: not served."""
    register_maps: str = ""
    """``VPP_REGISTER_MAPS``: directories of register-map YAML files, separated by the
    platform's path separator (``:`` on POSIX, ``;`` on Windows)."""
