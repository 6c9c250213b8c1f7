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


def _committee(tree, members, positions=("secretary", "deputy_secretary", "member")):
    import datetime as dt

    from apps.organizations.models import CommitteePosition

    for m, p in zip(members, positions, strict=False):
        CommitteePosition.objects.create(
            org=tree.branch_a, member=m, position=p, started_on=dt.date(2023, 1, 1)
        )


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_committee_meeting_roster_and_quorum(tree, users, roster_a, client_for):
    full = [x for x in roster_a if x.status == MemberStatus.FULL]
    _committee(tree, full[:3])
    from apps.organizations.models import CommitteePosition

    CommitteePosition.objects.create(  # a group leader is not on the 支委会
        org=tree.branch_a, member=full[5], position="group_leader", started_on=at(2023, 1, 1).date()
    )
    CommitteePosition.objects.create(  # nor someone who left the committee
        org=tree.branch_a,
        member=full[6],
        position="member",
        started_on=at(2022, 1, 1).date(),
        ended_on=at(2023, 1, 1).date(),
    )
    m = services.meeting_plan(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["committee_meeting"],
        title="支委会研究发展党员工作",
        starts_at=at(2024, 3, 12),
        ends_at=at(2024, 3, 12, 10),
        unplanned_reason="临时召开",
    )
    assert sorted(m.attendances.values_list("member_id", flat=True)) == sorted(
        x.pk for x in full[:3]
    )
    services.meeting_record(
        actor=users.secretary,
        meeting=m,
        host_id=full[0].pk,
        recorder_id=full[1].pk,
        minutes="研究了发展对象人选。",
        attendance=[
            {"member_id": full[0].pk, "status": "present"},
            {"member_id": full[1].pk, "status": "leave", "reason": "出差"},
            {"member_id": full[2].pk, "status": "absent"},
        ],
    )
    r = client_for(users.secretary).post(f"/meetings/{m.pk}/submit/")
    assert r.status_code == 400
    assert "支部委员会会议须半数以上委员到会：委员3人，到会1人" in r.content.decode()
    services.meeting_record(
        actor=users.secretary,
        meeting=m,
        attendance=[{"member_id": full[1].pk, "status": "online"}],
    )
    services.meeting_submit(actor=users.secretary, meeting=m)  # 2 of 3: more than half


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_committee_quorum_without_a_registered_committee(tree, users, roster_a):
    full = [x for x in roster_a if x.status == MemberStatus.FULL]
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["committee_meeting"],
        when=at(2024, 3, 12),
        submit=False,
        statuses={x.pk: "absent" for x in roster_a[:5]},  # 5 of 10 present: not more than half
    )
    assert m.expected_count == len(roster_a)  # no committee registered: the whole roster
    with pytest.raises(ValidationError) as exc:
        services.meeting_submit(actor=users.secretary, meeting=m)
    assert "委员10人，到会5人" in str(exc.value)
    services.meeting_record(
        actor=users.secretary,
        meeting=m,
        attendance=[{"member_id": full[0].pk, "status": "present"}],
    )
    services.meeting_submit(actor=users.secretary, meeting=m)


@time_machine.travel(at(2024, 4, 20), tick=False)
def test_talk_is_a_lighter_record(tree, users, roster_a, client_for):
    c = client_for(users.secretary)
    r = c.post(
        "/meetings/plan/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["talk"],
            "title": "支委与党员谈心谈话",
            "day": "2024-04-18",
            "start": "09:00",
            "end": "10:00",
            "unplanned_reason": "临时安排",
        },
    )
    assert r.status_code == 302
    from apps.meetings.models import Meeting

    m = Meeting.objects.get()
    assert m.attendances.count() == 0  # the secretary picks the participants
    page = c.get(f"/meetings/{m.pk}/record/").content.decode()
    assert "添加谈话双方" in page and "谈话要点" in page and "授课人" not in page
    a, b = roster_a[0], roster_a[1]
    services.meeting_attendees(actor=users.secretary, meeting=m, add_ids=[a.pk])
    services.meeting_record(
        actor=users.secretary, meeting=m, attendance=[{"member_id": a.pk, "status": "present"}]
    )
    r = c.post(f"/meetings/{m.pk}/submit/")
    body = r.content.decode()
    assert r.status_code == 400 and "谈心谈话须有两人及以上参加" in body
    assert "请填写主持人" not in body and "请填写讨论发言要点" not in body
    services.meeting_attendees(actor=users.secretary, meeting=m, add_ids=[b.pk])
    r = c.post(
        f"/meetings/{m.pk}/attendance/{b.pk}/", {"status": "present"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    assert c.post(f"/meetings/{m.pk}/submit/").status_code == 302
    m.refresh_from_db()
    assert m.state == "submitted" and m.host_id is None and m.minutes == ""
