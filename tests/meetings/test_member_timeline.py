"""A reported 民主评议 grade shows on the member's page (its timeline)."""

from __future__ import annotations

import pytest
import time_machine

from apps.members.models import MemberStatus
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_reported_grade_is_on_the_member_page(tree, users, roster_a, client_for):
    from apps.meetings import services

    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    full = [x for x in roster_a if x.status == MemberStatus.FULL]
    prob = [x for x in roster_a if x.status != MemberStatus.FULL]
    services.appraisal_record(
        actor=users.secretary,
        meeting=m,
        grades=[{"member_id": full[0].pk, "grade": "excellent"}]
        + [{"member_id": x.pk, "grade": "qualified"} for x in full[1:]]
        + [{"member_id": x.pk, "grade": ""} for x in prob],
    )
    page = client_for(users.secretary).get(f"/members/{full[0].pk}/").content.decode()
    assert "民主评议" not in page  # not reported yet
    services.meeting_submit(actor=users.secretary, meeting=m)
    page = client_for(users.secretary).get(f"/members/{full[0].pk}/").content.decode()
    assert "民主评议：优秀" in page and "2024" in page
    page = client_for(users.secretary).get(f"/members/{prob[0].pk}/").content.decode()
    assert "参加评议（不评定等次）" in page
