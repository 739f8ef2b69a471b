"""The published JSON Schema of portfolio files (``docs/portfolio.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from regulatory.portfolio import Portfolio

SCHEMA_ID = "urn:vpp-engine:schema:portfolio:1"


def portfolio_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for YAML and JSON portfolio files."""
    schema = Portfolio.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "vpp-engine portfolio",
        **schema,
    }


def portfolio_json_schema_text() -> str:
    """The schema as stable, indented JSON text (what `vpp portfolio schema` prints)."""
    return json.dumps(portfolio_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
