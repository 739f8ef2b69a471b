"""Who may approve a rule record: the reviewers list, and the four-eyes rule on names.

A market rule record or a regulatory rule-set version recorded on or after
`markets.conformance.PROVENANCE_REQUIRED_FROM` names its approver in ``approved_by``.
That approver must be a person or role registered in a reviewers list
(``markets/reviewers.toml`` for vpp-engine; a plugin package may keep its own and pass
it to the conformance kit), registered on the day the record was recorded, and another
person than the author (``recorded_by``).

Names are compared on the text before any parenthesis, case and spaces aside:
``"vpp-engine coordinator (merge review of branch wt-h17audit)"`` names the reviewer
``vpp-engine coordinator``; the parenthesis says in what capacity.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REVIEWERS_FILE = Path(__file__).with_name("reviewers.toml")
"""vpp-engine's own reviewers list."""


class ReviewersFileError(ValueError):
    """A reviewers list that cannot be read; the message names the file and the entry."""


@dataclass(frozen=True)
class Reviewer:
    """A person or role who may approve rule records from `since` (until `until`)."""

    name: str
    role: str
    since: date
    until: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the reviewer was registered on `day`."""
        return self.since <= day and (self.until is None or day < self.until)


def person(name: str) -> str:
    """The person or role a name field names: its text before any parenthesis, in
    lower case with single spaces (``"B. Reviewer (merge review)"`` -> ``"b. reviewer"``)."""
    return " ".join(name.split("(", 1)[0].split()).casefold()


def load_reviewers(path: Path | None = None) -> tuple[Reviewer, ...]:
    """The reviewers of the TOML list at `path` (default `REVIEWERS_FILE`).

    Each ``[[reviewer]]`` has ``name``, ``role`` and ``since`` (a date), optionally
    ``until``. A missing file, bad TOML or a bad entry is a `ReviewersFileError` naming
    the file, the entry and the field.
    """
    where = path or REVIEWERS_FILE
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReviewersFileError(f"reviewers list {where}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReviewersFileError(f"reviewers list {where}: not valid TOML ({exc})") from None
    found = []
    for index, entry in enumerate(data.get("reviewer", [])):
        label = f"reviewers list {where}: reviewer #{index + 1}"
        name, role = entry.get("name"), entry.get("role")
        since, until = entry.get("since"), entry.get("until")
        if not isinstance(name, str) or not person(name):
            raise ReviewersFileError(f"{label}: name={name!r} must be a non-empty text")
        if not isinstance(role, str) or not role.strip():
            raise ReviewersFileError(f"{label} ({name}): role={role!r} must be a non-empty text")
        if not isinstance(since, date):
            raise ReviewersFileError(f"{label} ({name}): since={since!r} must be a date")
        if until is not None and (not isinstance(until, date) or until <= since):
            raise ReviewersFileError(
                f"{label} ({name}): until={until!r} must be a date after since={since}"
            )
        found.append(Reviewer(name=name.strip(), role=role.strip(), since=since, until=until))
    names = [person(r.name) for r in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ReviewersFileError(f"reviewers list {where}: {', '.join(duplicates)} listed twice")
    return tuple(found)


def approval_problems(
    recorded_by: str, approved_by: str | None, recorded_at: date, reviewers: tuple[Reviewer, ...]
) -> list[str]:
    """What is wrong with a record's approval, in words; [] = a registered reviewer other
    than the author approved it."""
    if approved_by is None or not approved_by.strip():
        return ["no approved_by (another person than the author)"]
    problems = []
    approver = person(approved_by)
    registered = [r for r in reviewers if person(r.name) == approver]
    if not registered:
        known = ", ".join(r.name for r in reviewers) or "none"
        problems.append(
            f"approved_by={approved_by!r} names no registered reviewer (registered: {known})"
        )
    elif not any(r.active_on(recorded_at) for r in registered):
        problems.append(
            f"approved_by={approved_by!r} was not a registered reviewer on {recorded_at}"
        )
    if approver == person(recorded_by):
        problems.append(
            f"approved_by={approved_by!r} is the author (recorded_by={recorded_by!r}): "
            "four eyes: another person approves"
        )
    return problems
