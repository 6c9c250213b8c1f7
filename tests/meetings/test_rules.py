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


@pytest.mark.parametrize(
    ("seats", "candidates", "ok"),
    [
        (1, 1, False),  # 等额: refused
        (1, 2, True),
        (3, 3, False),
        (3, 4, True),  # 3 × 1.2 = 3.6 → 4
        (5, 5, False),
        (5, 6, True),  # exactly 20 % more
        (7, 8, False),  # 7 × 1.2 = 8.4 → 9
        (7, 9, True),
        (0, 3, False),  # seats missing
    ],
)
def test_election_needs_more_candidates_than_seats(db, seats, candidates, ok):
    if ok:
        rules.check_candidate_margin(candidates=candidates, seats=seats)
    else:
        with pytest.raises(ValidationError):
            rules.check_candidate_margin(candidates=candidates, seats=seats)


def _elect(seats, votes, *, expected=10, present=10):
    results = rules.election_results(
        expected_voting=expected,
        present_voting=present,
        seats=seats,
        candidates=[(chr(65 + i), y) for i, y in enumerate(votes)],
    )
    return (
        "".join(r.title for r in results if r.elected),
        "".join(r.title for r in results if r.runoff),
    )


@pytest.mark.parametrize(
    ("seats", "votes", "present", "elected", "runoff"),
    [
        (3, [9, 8, 7, 6], 10, "ABC", ""),  # all past half: top three take the seats
        (3, [9, 8, 7, 7], 10, "AB", "CD"),  # tie at the cut-off: neither, a further round
        (3, [9, 7, 7, 6], 10, "ABC", ""),  # tie inside the seats: both elected
        (3, [9, 8, 5, 4], 10, "AB", ""),  # 5 is exactly half of 10 present: not elected
        (3, [9, 8, 6, 5], 11, "ABC", ""),  # 6 > 5.5 of 11 present; 5 is not
        (1, [6, 6], 10, "", "AB"),  # one seat, two tied past half
        (2, [9, 5, 5], 10, "A", ""),  # tied but not past half: no further round for them
        (2, [7, 6, 6, 6], 10, "A", "BCD"),  # three tied for the last seat
        (4, [10, 10, 10, 10, 10], 10, "", "ABCDE"),  # everybody tied for four seats
        (2, [6, 6, 3], 10, "AB", ""),  # the tie fills the seats exactly
    ],
)
def test_election_top_votes_up_to_seats_and_ties_at_cut_off(seats, votes, present, elected, runoff):
    assert _elect(seats, votes, present=present) == (elected, runoff)


def test_election_invalid_without_four_fifths_present():
    results = rules.election_results(
        expected_voting=10, present_voting=8, seats=1, candidates=[("A", 8), ("B", 0)]
    )
    assert [(r.quorum_met, r.elected, r.runoff) for r in results] == [(False, False, False)] * 2


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
