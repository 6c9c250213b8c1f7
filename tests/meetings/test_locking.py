"""Edits after locking: no return of an accepted record, a returned record versioned on its
first edit, no deletion of a record ever reported, one version per editing session."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apps.meetings import services
from apps.meetings.models import Meeting, MeetingState, MeetingVersion
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_accepted_record_cannot_be_returned(tree, users, roster_a):
    m = hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 5))
    services.meeting_accept(actor=users.staff, meeting=m)
    with pytest.raises(ValidationError) as exc:
        services.meeting_return(actor=users.staff, meeting=m, comment="再看看")
    assert "已审核通过，不能退回" in str(exc.value)
    m.refresh_from_db()
    assert m.state == MeetingState.ACCEPTED


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_returned_record_is_versioned_on_first_edit(tree, users, roster_a):
    m = hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 5))
    services.meeting_return(actor=users.staff, meeting=m, comment="缺少签到表")
    services.meeting_record(actor=users.secretary, meeting=m, minutes="补充后的发言要点。")
    (v,) = MeetingVersion.objects.filter(meeting=m)
    assert v.number == 1 and v.reason == "按退回意见修改：缺少签到表"
    assert v.snapshot["minutes"].startswith("会议学习") and v.snapshot["state"] == "returned"
    services.meeting_record(actor=users.secretary, meeting=m, decisions="补充决定。")
    assert MeetingVersion.objects.filter(meeting=m).count() == 1  # one version per return
    m.refresh_from_db()
    assert m.version == 2
    services.meeting_submit(actor=users.secretary, meeting=m)
    call_command("check_rollups")


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_a_record_ever_reported_is_not_deleted(tree, users, roster_a, api_for):
    m = hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 5))
    with pytest.raises(ValidationError):
        services.meeting_delete(actor=users.staff, meeting=m, reason="重复录入")
    r = api_for(users.staff).delete(f"/api/v1/meetings/{m.pk}/?reason=重复录入")
    assert r.status_code == 400 and "不能删除" in r.content.decode()
    services.meeting_return(actor=users.staff, meeting=m, comment="重复录入")
    r = api_for(users.secretary).delete(f"/api/v1/meetings/{m.pk}/")
    assert r.status_code == 400 and "不能删除" in r.content.decode()
    assert Meeting.objects.filter(pk=m.pk).exists()
    services.meeting_cancel(actor=users.secretary, meeting=m, reason="重复录入")
    draft = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["theme_day"],
        when=at(2024, 3, 6),
        submit=False,
    )
    assert api_for(users.secretary).delete(f"/api/v1/meetings/{draft.pk}/").status_code == 204
    call_command("check_rollups")


def test_attendance_taps_on_a_locked_record_make_one_version(tree, users, roster_a, client_for):
    with time_machine.travel(at(2024, 3, 20, 10), tick=False) as clock:
        m = hold(
            actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 5)
        )
        services.meeting_accept(actor=users.staff, meeting=m)
        c = client_for(users.secretary)
        rows = list(m.attendances.order_by("member_id"))
        url = f"/meetings/{m.pk}/attendance/{{}}/"
        r = c.post(url.format(rows[0].member_id), {"status": "absent"}, HTTP_HX_REQUEST="true")
        assert r.status_code == 400 and "修改原因" in r.content.decode()
        for a in rows[:3]:
            clock.shift(dt.timedelta(minutes=2))
            r = c.post(
                url.format(a.member_id),
                {"status": "absent", "edit_reason": "更正出席情况"},
                HTTP_HX_REQUEST="true",
            )
            assert r.status_code == 200
        r = c.post(
            f"/meetings/{m.pk}/record/",
            {
                "host": rows[0].member_id,
                "recorder": rows[0].member_id,
                "minutes": "更正后的发言要点。",
                "reason": "更正出席情况",
            },
        )
        assert r.status_code == 302
        (v,) = MeetingVersion.objects.filter(meeting=m)
        assert v.snapshot["state"] == "accepted" and v.snapshot["counters"][1] == len(rows)
        m.refresh_from_db()
        assert (m.version, m.state, m.absent_count) == (2, MeetingState.SUBMITTED, 3)
        # another reason, or a review in between, or later: a new version
        services.meeting_record(actor=users.secretary, meeting=m, decisions="一", reason="补充决定")
        assert m.versions.count() == 2
        services.meeting_accept(actor=users.staff, meeting=m)
        services.meeting_record(actor=users.secretary, meeting=m, decisions="二", reason="补充决定")
        assert m.versions.count() == 3
        clock.shift(dt.timedelta(hours=1))
        services.meeting_record(actor=users.secretary, meeting=m, decisions="三", reason="补充决定")
        assert m.versions.count() == 4
        call_command("check_rollups")


def test_late_entry_is_measured_from_the_minutes(tree, users, roster_a):
    from apps.meetings.models import FlagCode

    with time_machine.travel(at(2024, 3, 1, 8), tick=False) as clock:
        m = services.meeting_plan(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["theme_day"],
            title="三月主题党日",
            starts_at=at(2024, 3, 1, 9),
            ends_at=at(2024, 3, 1, 10),
        )
        rows = list(m.attendances.all())
        with pytest.raises(ValidationError) as exc:  # not begun yet
            services.meeting_record(actor=users.secretary, meeting=m, minutes="预先写好的记录。")
        assert "会议尚未开始" in str(exc.value)
        clock.move_to(at(2024, 3, 1, 9, 5))
        services.meeting_record(  # sign-in on the day: not yet "recorded"
            actor=users.secretary,
            meeting=m,
            attendance=[{"member_id": a.member_id, "status": "present"} for a in rows],
        )
        m.refresh_from_db()
        assert m.recorded_at is None
        clock.move_to(at(2024, 3, 30, 9))
        services.meeting_record(
            actor=users.secretary,
            meeting=m,
            host_id=rows[0].member_id,
            recorder_id=rows[0].member_id,
            minutes="学习讨论。",
        )
        m.refresh_from_db()
        assert m.recorded_at == at(2024, 3, 30, 9)
        assert m.flags.filter(code=FlagCode.LATE_ENTRY).exists()
