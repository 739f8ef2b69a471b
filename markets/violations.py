"""`Violation`: one market rule a bid breaks, with the rule's limit and the bid's value."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from regulatory.rules import Confidence


class Violation(BaseModel):
    """A broken rule. `rule` is ``<market>.<parameter>``, e.g. ``day_ahead.price_max``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    field: str = Field(description="the bid field at fault, e.g. 'points[2].price_eur_per_mwh'")
    limit: str = Field(description="the rule's limit, with its unit")
    value: str = Field(description="the bid's value")
    message: str
    product_id: str | None = None
    source: str | None = Field(default=None, description="where the rule was read")
    valid_from: date | None = Field(default=None, description="since when the rule applies")
    confidence: Confidence | None = None
    rule_id: str | None = Field(
        default=None,
        description="id of the rule record that judged the bid (markets.rules.rule_id); None "
        "for checks that are not a dated market rule (the bid's shape, the engine's guards)",
    )

    def __str__(self) -> str:
        text = f"{self.rule}: {self.field}={self.value}, limit {self.limit}: {self.message}"
        if self.source is None:
            return text
        since = f", from {self.valid_from.isoformat()}" if self.valid_from else ""
        return f"{text} [{self.source}{since}, {self.confidence or 'unknown confidence'}]"
