from __future__ import annotations

import datetime as dt

import pytest

from apps.core.periods import SHANGHAI
from apps.meetings import services
from apps.meetings.models import MeetingKind
from apps.members.models import MemberStatus
from tests.factories import MemberFactory


def at(y, m, d, hh=9, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def roster_a(tree, users):
    """branch_a: 8 full members (the `member` user's record and 7 more; 3 in group_a) and 2
    probationary."""
    from apps.members.models import Member

    full = [MemberFactory(branch=tree.branch_a, name=f"甲{i:02d}") for i in range(7)]
    for m in full[:3]:
        m.party_group = tree.group_a
        m.save()
    prob = [
        MemberFactory(branch=tree.branch_a, name=f"预{i}", status=MemberStatus.PROBATIONARY)
        for i in range(2)
    ]
    return [*full, *Member.objects.filter(user=users.member), *prob]


def hold(
    *,
    actor,
    branch,
    kinds,
    when,
    minutes="会议学习了有关文件精神，结合支部实际进行了讨论，大家踊跃发言。",
    party_group=None,
    statuses=None,
    submit=True,
    attendee_ids=None,
    **record,
):
    """Plan, record (all present unless `statuses` given) and submit a meeting. `attendee_ids`
    picks the expected people (a 谈心谈话 has none by default)."""
    meeting = services.meeting_plan(
        actor=actor,
        branch=branch,
        kinds=kinds,
        title="测试会议",
        starts_at=when,
        ends_at=when + dt.timedelta(hours=1),
        party_group=party_group,
        unplanned_reason="临时召开",
        attendee_ids=attendee_ids,
    )
    rows = list(meeting.attendances.all())
    statuses = statuses or {}
    attendance = [
        {
            "member_id": a.member_id,
            "status": statuses.get(a.member_id, "present"),
            "reason": "出差" if statuses.get(a.member_id) == "leave" else "",
        }
        for a in rows
    ]
    host = rows[0].member_id if rows else None
    record.setdefault("lecturer_id", host if MeetingKind.LECTURE in meeting.kinds else None)
    meeting = services.meeting_record(
        actor=actor,
        meeting=meeting,
        attendance=attendance,
        host_id=host,
        recorder_id=host,
        minutes=minutes,
        **record,
    )
    if submit:
        meeting = services.meeting_submit(actor=actor, meeting=meeting)
    return meeting
