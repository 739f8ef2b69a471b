"""Readable validation problems: every error names its subject, field, value and rule.

A `Problem` is a value, not an exception, so that a loader can collect all of them and
report them at once. Pydantic's own errors are translated into problems here, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

PHYSICAL_CONSISTENCY = "physical_consistency"
"""Pydantic error type raised by cross-field checks; its context carries `FieldIssue`s."""


@dataclass(frozen=True)
class FieldIssue:
    """One broken rule on one field of a model: `field=value rule`."""

    field: str
    value: Any
    rule: str


@dataclass(frozen=True)
class Problem:
    """A problem found in user input.

    `subject` says what the problem is about (``asset bat-07``, ``site de-1``,
    ``portfolio``); `line` is the 1-based line in the source file where known.
    """

    subject: str
    field: str
    value: Any
    rule: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        if self.field:
            return f"{self.subject}: {self.field}={format_value(self.value)} {self.rule}{where}"
        return f"{self.subject}: {self.rule}{where}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for `--json` output and API bodies."""
        return {
            "subject": self.subject,
            "field": self.field,
            "value": _jsonable(self.value),
            "rule": self.rule,
            "line": self.line,
            "message": str(self),
        }


class ProblemsError(ValueError):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s)" + (f" in {source}" if source else "")
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


def format_value(value: Any) -> str:
    """Render a value the way a user wrote it: numbers bare, text quoted."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool | int | float) or value is None:
        return str(value)
    text = repr(value) if not isinstance(value, dict | list) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def raise_if_inconsistent(issues: Iterable[FieldIssue]) -> None:
    """Raise a pydantic-compatible error carrying every cross-field issue found."""
    found = list(issues)
    if found:
        summary = "; ".join(f"{i.field}={format_value(i.value)} {i.rule}" for i in found)
        raise PydanticCustomError(
            PHYSICAL_CONSISTENCY, "{summary}", {"summary": summary, "issues": found}
        )


def problems_from_validation_error(
    error: ValidationError, subject: str, line: int | None = None, prefix: str = ""
) -> list[Problem]:
    """Translate a pydantic `ValidationError` into problems about `subject`.

    `prefix` is prepended to field paths (for errors found inside a nested object).
    """
    problems: list[Problem] = []
    for err in error.errors(include_url=False):
        if err["type"] == PHYSICAL_CONSISTENCY:
            base = _field_path(err["loc"], prefix)
            for issue in err["ctx"]["issues"]:
                field = f"{base}.{issue.field}" if base else issue.field
                problems.append(Problem(subject, field, issue.value, issue.rule, line))
            continue
        field = _field_path(err["loc"], prefix)
        problems.append(Problem(subject, field, _input_value(err), _rule_text(err), line))
    return problems


def _field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('prequalifications', 0, 'mw') -> 'prequalifications[0].mw'."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _input_value(err: Any) -> Any:
    if err["type"] == "missing":
        return None
    return err.get("input")


def _rule_text(err: Any) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field here (check the spelling)"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        return f"is not a known kind; expected one of {expected}"
    if kind == "union_tag_not_found":
        return "is required: every asset needs a kind"
    for lead, replacement in (
        ("Input should be ", "must be "),
        ("Value should be ", "must be "),
        ("String should ", "must "),
        ("List should ", "must "),
        ("Tuple should ", "must "),
    ):
        if msg.startswith(lead):
            return replacement + msg[len(lead) :]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else kind


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
