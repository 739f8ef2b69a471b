"""The reviewers list: who may approve a rule record, read from TOML with clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from markets.reviewers import (
    REVIEWERS_FILE,
    ReviewersFileError,
    approval_problems,
    load_reviewers,
    person,
)


def test_the_projects_list_registers_the_merge_reviewer():
    (coordinator,) = load_reviewers()
    assert coordinator.name == "vpp-engine coordinator"
    assert coordinator.active_on(date(2026, 12, 6))
    assert REVIEWERS_FILE.name == "reviewers.toml"


def test_a_name_is_the_text_before_its_parenthesis_case_and_spaces_aside():
    assert person(" B.  Reviewer (merge review of branch x)") == "b. reviewer"
    assert person("b. reviewer") == person("B. Reviewer")


def test_an_approval_by_a_registered_reviewer_other_than_the_author_is_clean():
    reviewers = load_reviewers()
    assert (
        approval_problems(
            "h17audit", "vpp-engine coordinator (merge)", date(2026, 12, 6), reviewers
        )
        == []
    )
    assert approval_problems("h17audit", None, date(2026, 12, 6), reviewers) == [
        "no approved_by (another person than the author)"
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[reviewer]]\nrole = 'r'\nsince = 2026-01-01\n", "reviewer #1: name=None"),
        ("[[reviewer]]\nname = 'A'\nsince = 2026-01-01\n", "reviewer #1 (A): role=None"),
        ("[[reviewer]]\nname = 'A'\nrole = 'r'\nsince = 'soon'\n", "since='soon' must be a date"),
        (
            "[[reviewer]]\nname = 'A'\nrole = 'r'\nsince = 2026-01-01\nuntil = 2025-01-01\n",
            "until=datetime.date(2025, 1, 1) must be a date after since=2026-01-01",
        ),
        (
            "[[reviewer]]\nname='A'\nrole='r'\nsince=2026-01-01\n"
            "[[reviewer]]\nname='a '\nrole='r'\nsince=2026-01-01\n",
            "a listed twice",
        ),
        ("[[reviewer]\n", "not valid TOML"),
    ],
)
def test_a_bad_reviewers_list_is_refused_naming_the_entry_and_field(
    tmp_path: Path, text: str, says: str
):
    path = tmp_path / "reviewers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReviewersFileError, match="reviewers list") as caught:
        load_reviewers(path)
    assert says in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_reviewers_list_is_refused(tmp_path: Path):
    with pytest.raises(ReviewersFileError, match="cannot read it"):
        load_reviewers(tmp_path / "nowhere.toml")
