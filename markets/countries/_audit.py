"""Provenance shared by the records of the rule audit of 2026-12-06 (issue 17).

Each correcting record carries these times and names; its own source, reference and
confidence are written where it is. The author is the session that read the sources; the
approver is the coordinator whose merge review admits the records into the project (four
eyes: docs/compliance.md). A record the merge does not admit never exists.
"""

from __future__ import annotations

from datetime import date
from typing import Any

AUDIT_DAY = date(2026, 12, 6)
"""Knowledge time of the audit's records: the day they were recorded."""

AUDIT_REVIEW_BY = date(2027, 1, 31)
"""By when the audit's uncertain records are checked again."""

AUDIT: dict[str, Any] = {
    "recorded_at": AUDIT_DAY,
    "retrieved_on": AUDIT_DAY,
    "recorded_by": "i17-rules (rule-audit session of issue 17)",
    "approved_by": "vpp-engine coordinator (merge review of branch i17-rules)",
}
"""Keyword arguments of `markets.rules.rule` for an audit record."""
