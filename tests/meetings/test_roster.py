"""Who may be on a meeting: party members only (预备 and 正式 on the roster); 支委会 defaults to
the committee and needs more than half of it present; 谈心谈话 is a lighter record."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.meetings import services
from apps.members.models import MemberStatus
from tests.factories import MemberFactory
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_only_party_members_in_good_standing(tree, users, roster_a):
    outsiders = [
        MemberFactory(branch=tree.branch_a, name=f"非{s}", status=s)
        for s in (MemberStatus.APPLICANT, MemberStatus.REMOVED, MemberStatus.DECEASED)
    ]
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    assert not m.attendances.filter(member__in=outsiders).exists()
    for person in outsiders:
        with pytest.raises(ValidationError) as exc:
            services.appraisal_record(
                actor=users.secretary,
                meeting=m,
                grades=[{"member_id": person.pk, "grade": "qualified"}],
            )
        assert "只能选择本支部的党员" in str(exc.value)
        with pytest.raises(ValidationError):
            services.meeting_record(
                actor=users.secretary,
                meeting=m,
                attendance=[{"member_id": person.pk, "status": "present"}],
            )
        with pytest.raises(ValidationError):
            services.meeting_plan(
                actor=users.secretary,
                branch=tree.branch_a,
                kinds=["theme_day"],
                title="主题党日",
                starts_at=at(2024, 12, 25),
                ends_at=at(2024, 12, 25, 10),
                attendee_ids=[person.pk],
            )
        with pytest.raises(ValidationError):
            services.meeting_record(actor=users.secretary, meeting=m, host_id=person.pk)
    assert m.attendances.count() == len(roster_a)
