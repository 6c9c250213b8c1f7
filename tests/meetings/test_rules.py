"""DOMAIN.md §1.4 / §2 arithmetic at its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.core.periods import Period
from apps.meetings import rules


@pytest.mark.parametrize(
    ("expected", "present", "yes", "quorum", "passed"),
    [
        (20, 10, 10, False, False),  # exactly half present: cannot vote
        (20, 11, 11, True, True),  # 11 of 20 expected: passes
        (20, 20, 10, True, False),  # yes = half of expected: not passed
        (20, 20, 11, True, True),
        (21, 11, 11, True, True),  # 11 > 10.5
        (21, 11, 10, True, False),
        (9, 5, 5, True, True),
    ],
)
def test_resolution_needs_majority_of_expected(expected, present, yes, quorum, passed):
    outcome = rules.resolution_outcome(expected_voting=expected, present_voting=present, yes=yes)
    assert (outcome.quorum_met, outcome.passed) == (quorum, passed)


@pytest.mark.parametrize(
    ("expected", "present", "yes", "valid", "elected"),
    [
        (10, 8, 8, False, False),  # 8 = 4/5 of 10: not more than 4/5
        (10, 9, 5, True, True),  # 5 > 9/2
        (10, 9, 4, True, False),
        (10, 10, 5, True, False),  # exactly half of those present
        (10, 10, 6, True, True),
        (20, 17, 9, True, True),
        (20, 16, 16, False, False),
    ],
)
def test_election_needs_four_fifths_present_and_majority_of_present(
    expected, present, yes, valid, elected
):
    outcome = rules.election_outcome(expected_voting=expected, present_voting=present, yes=yes)
    assert (outcome.quorum_met, outcome.passed) == (valid, elected)


def test_ballots_cannot_exceed_voters_present():
    rules.check_ballot_counts(yes=5, no=3, abstain=2, present_voting=10)
    with pytest.raises(ValidationError):
        rules.check_ballot_counts(yes=5, no=3, abstain=3, present_voting=10)


@pytest.mark.parametrize(
    ("excellent", "graded", "ok"),
    [(3, 9, True), (4, 9, False), (1, 3, True), (2, 5, False), (0, 0, True)],
)
def test_excellent_at_most_one_third_of_graded(db, excellent, graded, ok):
    grades = (
        ["excellent"] * excellent + ["qualified"] * (graded - excellent) + ["", ""]
    )  # two probationary
    if ok:
        rules.check_appraisal_grades(grades)
    else:
        with pytest.raises(ValidationError):
            rules.check_appraisal_grades(grades)


def test_sub_periods():
    q = Period.quarter(2024, 1)
    assert [p.key for p in rules.sub_periods("month", q)] == ["2024-01", "2024-02", "2024-03"]
    assert [p.key for p in rules.sub_periods("quarter", q)] == ["2024-Q1"]
    assert [p.key for p in rules.sub_periods("year", q)] == ["2024"]
    assert [p.key for p in rules.sub_periods("quarter", Period.year_of(2024))] == [
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
    ]


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (dt.date(2024, 3, 1), rules.PENDING),
        (dt.date(2024, 3, 24), rules.PENDING),  # 7 days left
        (dt.date(2024, 3, 25), rules.DUE_SOON),  # 6 days left
        (dt.date(2024, 3, 31), rules.DUE_SOON),  # last day of the quarter
        (dt.date(2024, 4, 1), rules.OVERDUE),
    ],
)
def test_period_status_around_quarter_end(db, today, status):
    q = Period.quarter(2024, 1)
    assert (
        rules.period_status(
            count=0, min_count=1, period=q, today=today, due_soon_days=7, exempt=False
        )
        == status
    )
    assert (
        rules.period_status(
            count=1, min_count=1, period=q, today=today, due_soon_days=7, exempt=False
        )
        == rules.MET
    )


def test_partial_period_exemption(db):
    q = Period.quarter(2024, 1)
    assert rules.partial_period_exempt(founded_on=dt.date(2024, 2, 29), abolished_on=None, period=q)
    assert not rules.partial_period_exempt(
        founded_on=dt.date(2024, 1, 1), abolished_on=None, period=q
    )
    assert rules.partial_period_exempt(founded_on=None, abolished_on=dt.date(2024, 3, 31), period=q)
    assert not rules.partial_period_exempt(
        founded_on=None, abolished_on=dt.date(2024, 4, 1), period=q
    )
