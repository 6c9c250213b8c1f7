"""A generated tree with members of every kind, for the rollup and report tests."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from apps.members.models import Education, Gender, MemberStatus, Occupation
from tests.factories import MemberFactory

AS_OF = dt.date(2026, 9, 30)


def _member_kwargs(rng: random.Random) -> dict:
    status = rng.choice(
        [MemberStatus.FULL] * 6
        + [MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED, MemberStatus.SUSPENDED]
        + [
            MemberStatus.APPLICANT,
            MemberStatus.ACTIVIST,
            MemberStatus.CANDIDATE,
            MemberStatus.REMOVED,
            MemberStatus.DECEASED,
        ]
    )
    birth = (
        None
        if rng.random() < 0.05
        else dt.date(rng.randint(1935, 2007), rng.randint(1, 12), rng.randint(1, 28))
    )
    confirmed = None
    if status in (MemberStatus.FULL, MemberStatus.SUSPENDED) and rng.random() > 0.05:
        confirmed = dt.date(rng.randint(1960, 2026), rng.randint(1, 12), rng.randint(1, 28))
    return {
        "status": status,
        "gender": rng.choice([Gender.MALE, Gender.FEMALE]),
        "birth_date": birth,
        "confirmed_on": confirmed,
        # blank for some: the dashboards count them as 未填写
        "education": rng.choice([*Education.values, ""]),
        "occupation": rng.choice([*Occupation.values, ""]),
    }


@pytest.fixture
def populated(tree):
    """tree + 60 members spread over the branches and the party group, with edge cases:
    someone turning 31 on AS_OF, someone confirmed exactly 5 years before AS_OF."""
    rng = random.Random(7)
    places = [
        (tree.branch_a, None),
        (tree.branch_a, tree.group_a),
        (tree.branch_b, None),
        (tree.branch_c, None),
    ]
    for i in range(60):
        branch, group = places[i % len(places)]
        MemberFactory(branch=branch, party_group=group, **_member_kwargs(rng))
    MemberFactory(
        branch=tree.branch_b,
        status=MemberStatus.FULL,
        birth_date=dt.date(1995, 9, 30),
        confirmed_on=dt.date(2021, 9, 30),
    )
    MemberFactory(
        branch=tree.branch_b,
        status=MemberStatus.FULL,
        birth_date=dt.date(1995, 10, 1),
        confirmed_on=dt.date(2021, 10, 1),
    )
    return tree
