"""Meeting reminders (attendees the day before and 2 hours before, the host when still unrecorded
2 days after the date) and compliance reminders (7 days before a period ends, overdue,
escalated), with time frozen: quarter and month ends, a meeting at 23:30 Beijing time on a
quarter's last day, quiet hours, moved / cancelled / deleted / recorded meetings."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.core.periods import SHANGHAI
from apps.meetings import services as meetings
from apps.meetings.models import Attendance, Exemption, Meeting, MeetingKind, MeetingState
from apps.notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    InboxItem,
    Reminder,
    ReminderState,
)
from apps.notifications.rules import reminders_meeting_sync
from apps.notifications.services import deliveries_dispatch, reminders_sweep
from tests.factories import MemberFactory
from tests.meetings.conftest import hold
from tests.notifications.conftest import drain
from tests.notifications.test_rules import sweep

pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def people(tree, users):
    """The secretary is also a member of branch_a (an attendee); the ordinary member has a
    phone, so the attendee reminders go out by SMS too."""
    MemberFactory(branch=tree.branch_a, user=users.secretary, name="书记本人")
    users.member.set_phone("13812345678")
    users.member.save()
    return users


def plan(actor, branch, starts_at, *, now, title="主题党日活动", **kwargs) -> Meeting:
    with time_machine.travel(now, tick=False):
        return meetings.meeting_plan(
            actor=actor,
            branch=branch,
            kinds=[MeetingKind.THEME_DAY],
            title=title,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            **kwargs,
        )


def rows(meeting, state=ReminderState.ACTIVE):
    return sorted(
        Reminder.objects.filter(
            subject_type="meetings.meeting", subject_id=meeting.pk, state=state
        ).values_list("rule", "occurrence", "recipient_id", "due_at")
    )


def dispatch_at(when: dt.datetime, queued: list[int]) -> list[str]:
    with time_machine.travel(when, tick=False):
        deliveries_dispatch()
        return drain(queued)


# --- attendees: the day before and 2 hours before ---------------------------------------------


def test_planning_writes_the_reminders_in_the_same_transaction(tree, people):
    # 23:30 Beijing time on the last day of Q3 (15:30 UTC): every date is the local one.
    start = at(2026, 9, 30, 23, 30)
    meeting = plan(people.secretary, tree.branch_a, start, now=at(2026, 9, 20, 10))
    key = "2026-09-30T23:30"
    assert rows(meeting) == sorted(
        [
            ("meeting.upcoming", f"{key}/24h", people.member.pk, at(2026, 9, 29, 23, 30)),
            ("meeting.upcoming", f"{key}/24h", people.secretary.pk, at(2026, 9, 29, 23, 30)),
            ("meeting.upcoming", f"{key}/2h", people.member.pk, at(2026, 9, 30, 21, 30)),
            ("meeting.upcoming", f"{key}/2h", people.secretary.pk, at(2026, 9, 30, 21, 30)),
            # host not named yet: the branch's secretary; 2 days after the local date, 09:00
            ("meeting.unrecorded", "2026-09-30", people.secretary.pk, at(2026, 10, 2, 9)),
        ]
    )
    reminder = Reminder.objects.get(
        rule="meeting.upcoming", occurrence=f"{key}/24h", recipient=people.member
    )
    assert reminder.title == "会议提醒：9月30日（周三）23:30召开主题党日活动"
    assert reminder.url == f"/meetings/{meeting.pk}/"


def test_day_before_inbox_at_23_30_sms_held_until_07_00(tree, people, queued):
    meeting = plan(
        people.secretary, tree.branch_a, at(2026, 9, 30, 23, 30), now=at(2026, 9, 20, 10)
    )
    sms = Delivery.objects.get(
        reminder__subject_id=meeting.pk,
        reminder__occurrence="2026-09-30T23:30/24h",
        channel=Channel.SMS,
    )
    assert sms.due_at == at(2026, 9, 30, 7)  # 23:30 is inside the quiet hours (22:00-07:00)
    assert dispatch_at(at(2026, 9, 29, 23, 29), queued) == []
    assert dispatch_at(at(2026, 9, 29, 23, 30), queued) == ["sent", "sent"]  # two inboxes
    assert InboxItem.objects.filter(user=people.member).count() == 1
    assert dispatch_at(at(2026, 9, 30, 6, 59), queued) == []
    assert dispatch_at(at(2026, 9, 30, 7, 0), queued) == ["sent"]
    sms.refresh_from_db()
    assert sms.state == DeliveryState.SENT
    # 2 hours before: 21:30, not quiet, inbox and SMS at once.
    assert dispatch_at(at(2026, 9, 30, 21, 30), queued) == ["sent", "sent", "sent"]


def test_late_planning_sends_what_still_makes_sense(tree, people):
    # Planned 20 hours ahead: the day-before stage is due at once, the 2-hour one at 13:00.
    meeting = plan(people.secretary, tree.branch_a, at(2026, 3, 31, 15), now=at(2026, 3, 30, 19))
    assert {(o, d) for r, o, _u, d in rows(meeting) if r == "meeting.upcoming"} == {
        ("2026-03-31T15:00/24h", at(2026, 3, 30, 15)),
        ("2026-03-31T15:00/2h", at(2026, 3, 31, 13)),
    }
    # Planned 3 hours ahead: "the day before" is meaningless; only the 2-hour stage.
    soon = plan(people.secretary, tree.branch_a, at(2026, 3, 31, 16), now=at(2026, 3, 31, 13))
    assert {o for r, o, *_ in rows(soon) if r == "meeting.upcoming"} == {"2026-03-31T16:00/2h"}
    # Planned 30 minutes ahead: the 2-hour stage, due at once.
    now = plan(people.secretary, tree.branch_a, at(2026, 3, 31, 17), now=at(2026, 3, 31, 16, 30))
    assert {(o, d) for r, o, _u, d in rows(now) if r == "meeting.upcoming"} == {
        ("2026-03-31T17:00/2h", at(2026, 3, 31, 15))
    }


def test_lead_times_are_settings(tree, people, settings):
    settings.NOTIFICATIONS_MEETING_LEAD_HOURS = [48]
    settings.NOTIFICATIONS_MEETING_UNRECORDED_DAYS = 3
    meeting = plan(people.secretary, tree.branch_a, at(2026, 6, 30, 9), now=at(2026, 6, 1, 9))
    got = {(r, o, d) for r, o, _u, d in rows(meeting)}
    assert got == {
        ("meeting.upcoming", "2026-06-30T09:00/48h", at(2026, 6, 28, 9)),
        ("meeting.unrecorded", "2026-06-30", at(2026, 7, 3, 9)),
    }


def test_moved_meeting_moves_its_pending_reminders_and_back_again(tree, people, queued):
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    with time_machine.travel(at(2026, 5, 2, 9), tick=False):
        meetings.meeting_move(
            actor=people.secretary,
            meeting=meeting,
            starts_at=at(2026, 5, 12, 9),
            ends_at=at(2026, 5, 12, 10),
        )
    withdrawn = rows(meeting, ReminderState.WITHDRAWN)
    assert {o for _r, o, *_ in withdrawn} == {
        "2026-05-10T14:00/24h",
        "2026-05-10T14:00/2h",
        "2026-05-10",
    }
    assert Reminder.objects.filter(state=ReminderState.WITHDRAWN).first().withdrawn_reason == (
        "会议已改期"
    )
    assert {o for _r, o, *_ in rows(meeting)} == {
        "2026-05-12T09:00/24h",
        "2026-05-12T09:00/2h",
        "2026-05-12",
    }
    # Nothing is sent for the old time.
    assert dispatch_at(at(2026, 5, 10, 14), queued) == []
    # Moved back: the old reminders come back, pending at their times; the others go.
    with time_machine.travel(at(2026, 5, 3, 9), tick=False):
        meetings.meeting_move(
            actor=people.secretary,
            meeting=meeting,
            starts_at=at(2026, 5, 10, 14),
            ends_at=at(2026, 5, 10, 15),
        )
    assert {o for _r, o, *_ in rows(meeting)} == {
        "2026-05-10T14:00/24h",
        "2026-05-10T14:00/2h",
        "2026-05-10",
    }
    assert dispatch_at(at(2026, 5, 9, 14), queued) == ["sent"] * 3  # 2 inboxes + 1 SMS


def test_already_sent_reminder_stays_and_the_new_time_is_announced(tree, people, queued):
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    dispatch_at(at(2026, 5, 9, 14), queued)  # the day-before reminder went out
    with time_machine.travel(at(2026, 5, 9, 18), tick=False):
        meetings.meeting_move(
            actor=people.secretary,
            meeting=meeting,
            starts_at=at(2026, 5, 17, 14),
            ends_at=at(2026, 5, 17, 15),
        )
    sent = Reminder.objects.filter(occurrence="2026-05-10T14:00/24h")
    assert sent.count() == 2 and all(r.state == ReminderState.ACTIVE for r in sent)  # history
    assert dispatch_at(at(2026, 5, 16, 14), queued) == ["sent"] * 3
    titles = list(
        InboxItem.objects.filter(user=people.member)
        .order_by("created_at")
        .values_list("title", flat=True)
    )
    assert titles == [
        "会议提醒：5月10日（周日）14:00召开主题党日活动",
        "会议提醒：5月17日（周日）14:00召开主题党日活动",
    ]


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_cancelled_or_deleted_meeting_withdraws_everything(tree, people, queued, how):
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    pk = meeting.pk
    with time_machine.travel(at(2026, 5, 2, 9), tick=False):
        if how == "cancel":
            meetings.meeting_cancel(actor=people.secretary, meeting=meeting, reason="上级临时通知")
        else:
            meetings.meeting_delete(actor=people.secretary, meeting=meeting)
    assert not Reminder.objects.filter(subject_id=pk, state=ReminderState.ACTIVE).exists()
    assert set(
        Delivery.objects.filter(reminder__subject_id=pk).values_list("state", flat=True)
    ) == {DeliveryState.WITHDRAWN}
    assert dispatch_at(at(2026, 5, 13, 9), queued) == []
    assert InboxItem.objects.count() == 0


def test_recorded_meeting_withdraws_the_hosts_unrecorded_reminder(tree, people, queued):
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    dispatch_at(at(2026, 5, 10, 13), queued)  # attendee reminders sent
    with time_machine.travel(at(2026, 5, 11, 20), tick=False):
        meetings.meeting_record(actor=people.secretary, meeting=meeting, minutes="学习了文件。")
    unrecorded = Reminder.objects.get(rule="meeting.unrecorded", subject_id=meeting.pk)
    assert unrecorded.state == ReminderState.WITHDRAWN
    assert unrecorded.withdrawn_reason == "会议已记录"
    assert dispatch_at(at(2026, 5, 12, 9), queued) == []


def test_unrecorded_goes_to_the_named_host(tree, people):
    host = MemberFactory(branch=tree.branch_a, user=people.committee, name="主持人")
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    with time_machine.travel(at(2026, 5, 11, 9), tick=False):
        meetings.meeting_record(actor=people.secretary, meeting=meeting, host_id=host.pk)
        # Recording withdraws it; put the meeting back to planned to see who it goes to.
        Meeting.objects.filter(pk=meeting.pk).update(state=MeetingState.PLANNED)
        reminders_meeting_sync(meeting_id=meeting.pk, event="planned")
    assert [(r, u) for r, _o, u, _d in rows(meeting) if r == "meeting.unrecorded"] == [
        ("meeting.unrecorded", people.committee.pk)
    ]


def test_stale_reminder_is_not_sent_when_the_meeting_changed_behind_the_services(
    tree, people, queued
):
    meeting = plan(people.secretary, tree.branch_a, at(2026, 5, 10, 14), now=at(2026, 5, 1, 9))
    # A bulk edit (admin, data repair) moves the meeting without the service.
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=at(2026, 5, 20, 14), ends_at=at(2026, 5, 20, 15)
    )
    with time_machine.travel(at(2026, 5, 9, 14), tick=False):
        deliveries_dispatch()
        assert set(drain(queued)) == {"withdrawn"}
    assert InboxItem.objects.count() == 0


# --- the sweeper backstop (meetings written in bulk, e.g. the demo's COPY) ---------------------


def bulk_meeting(branch, starts_at, members, *, planned_at) -> Meeting:
    meeting = Meeting.objects.create(
        branch=branch,
        kinds=[MeetingKind.THEME_DAY],
        title="批量导入的会议",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        state=MeetingState.PLANNED,
        planned_at=planned_at,
    )
    Attendance.objects.bulk_create([Attendance(meeting=meeting, member=m) for m in members])
    return meeting


def test_sweeper_writes_missing_attendee_reminders_inside_the_window(tree, people):
    member = people.member.member
    bulk_meeting(tree.branch_a, at(2026, 12, 31, 23, 30), [member], planned_at=at(2026, 12, 1))
    assert sweep("meeting.upcoming", dt.date(2026, 12, 30), hour=23) == []  # > 24 h ahead
    with time_machine.travel(at(2026, 12, 30, 23, 31), tick=False):
        assert reminders_sweep(rule_key="meeting.upcoming") == 2  # both stages, for the member
    assert sweep("meeting.upcoming", dt.date(2026, 12, 31), hour=22) == []  # idempotent


def test_sweeper_unrecorded_two_days_after_the_local_date(tree, people):
    # 00:30 on 1 October Beijing time is still 30 September in UTC: its date is 1 October.
    bulk_meeting(tree.branch_a, at(2026, 10, 1, 0, 30), [], planned_at=at(2026, 9, 1))
    bulk_meeting(tree.branch_a, at(2026, 9, 30, 23, 30), [], planned_at=at(2026, 9, 1))
    assert sweep("meeting.unrecorded", dt.date(2026, 10, 2), hour=8) == []
    assert sweep("meeting.unrecorded", dt.date(2026, 10, 2), hour=9) == [
        ("meeting.unrecorded", people.secretary.pk)
    ]
    assert Reminder.objects.get().occurrence == "2026-09-30"
    assert sweep("meeting.unrecorded", dt.date(2026, 10, 3), hour=9) == [
        ("meeting.unrecorded", people.secretary.pk)
    ]
    # Written at most 7 days late by the sweeper.
    bulk_meeting(tree.branch_a, at(2026, 9, 1, 9), [], planned_at=at(2026, 8, 1))
    assert sweep("meeting.unrecorded", dt.date(2026, 10, 3), hour=10) == []


def test_no_unrecorded_reminder_for_a_meeting_entered_after_it_was_held(tree, people):
    meeting = plan(
        people.secretary,
        tree.branch_a,
        at(2026, 5, 1, 9),
        now=at(2026, 5, 6, 9),
        unplanned_reason="临时召开",
    )
    assert [r for r, *_ in rows(meeting)] == []  # past start: no attendee reminder either


# --- compliance --------------------------------------------------------------------------------


def test_compliance_seven_days_before_a_quarter_end(tree, people):
    # branch_a: 主题党日 and 党小组会 monthly, 党员大会 and 党课 quarterly; nothing held.
    assert sweep("compliance.due_soon", dt.date(2026, 9, 22)) == []
    got = sweep("compliance.due_soon", dt.date(2026, 9, 23))
    assert ("compliance.due_soon", people.secretary.pk) in got
    assert ("compliance.due_soon", people.outsider.pk) in got  # branch_c's secretary
    reminder = Reminder.objects.get(recipient=people.secretary)
    assert reminder.occurrence == "2026-Q3"  # September and Q3 end the same day: one reminder
    assert reminder.due_at == at(2026, 9, 23, 9)
    assert reminder.title == "2026年第3季度将于2026年9月30日结束，尚有4项会议要求未完成"
    assert "2026年9月：主题党日" in reminder.body and "2026年第3季度：党课" in reminder.body
    assert sweep("compliance.due_soon", dt.date(2026, 9, 30)) == []  # once


def test_compliance_month_end_and_year_end(tree, people):
    got = sweep("compliance.due_soon", dt.date(2026, 2, 21))  # 28 February - 7
    assert ("compliance.due_soon", people.secretary.pk) in got
    assert Reminder.objects.get(recipient=people.secretary).occurrence == "2026-02"
    got = sweep("compliance.due_soon", dt.date(2026, 12, 24))
    reminder = Reminder.objects.filter(recipient=people.secretary).order_by("-id").first()
    assert reminder.occurrence == "2026"
    assert "2026年：组织生活会" in reminder.body and "2026年12月：主题党日" in reminder.body


def test_compliance_overdue_then_escalated_to_the_superior_staff(tree, people):
    assert sweep("compliance.overdue", dt.date(2026, 9, 30)) == []
    got = sweep("compliance.overdue", dt.date(2026, 10, 1))
    assert ("compliance.overdue", people.secretary.pk) in got
    overdue = Reminder.objects.get(rule="compliance.overdue", recipient=people.secretary)
    assert overdue.due_at == at(2026, 10, 1, 9) and overdue.level == "danger"

    def escalated(day):
        sweep("compliance.escalated", day)
        return sorted(
            Reminder.objects.filter(rule="compliance.escalated", occurrence="2026-Q3").values_list(
                "subject_id", "recipient_id"
            )
        )

    assert escalated(dt.date(2026, 10, 10)) == []
    # One message to town_a's org_staff for its two late branches (the secretaries get nothing
    # more); branch_c's town has no staff: the county's nearest staff would be told (none here).
    assert escalated(dt.date(2026, 10, 11)) == [(tree.town_a.pk, people.staff.pk)]
    reminder = Reminder.objects.get(rule="compliance.escalated", occurrence="2026-Q3")
    assert reminder.title == "下属2个党支部2026年第3季度会议要求逾期10天仍未完成"
    assert reminder.body == (
        "甲村党支部（党小组会、主题党日、支部党员大会、党课）；"
        "乙村党支部（主题党日、支部党员大会、党课）。请督促落实“三会一课”制度。"
    )
    assert reminder.due_at == at(2026, 10, 11, 9)


def test_escalation_withdrawn_at_send_time_once_every_branch_caught_up(tree, people, queued):
    sweep("compliance.escalated", dt.date(2026, 10, 11), hour=8)
    for branch in (tree.branch_a, tree.branch_b):
        for key in ("2026-09", "2026-Q3"):
            Exemption.objects.create(
                branch=branch,
                kind="",
                period_key=key,
                reason="受灾",
                approved_by=people.admin,
                approved_on=dt.date(2026, 10, 11),
            )
    with time_machine.travel(at(2026, 10, 11, 9), tick=False):
        deliveries_dispatch()
        drain(queued)
    assert not InboxItem.objects.filter(user=people.staff, title__contains="第3季度").exists()


def test_compliance_met_requirements_send_nothing(tree, people):
    MemberFactory(branch=tree.branch_a, party_group=tree.group_a, name="小组成员")
    with time_machine.travel(at(2026, 8, 20, 20), tick=False):
        hold(
            actor=people.secretary,
            branch=tree.branch_a,
            kinds=[MeetingKind.THEME_DAY],
            when=at(2026, 8, 5, 9),
        )
        hold(
            actor=people.secretary,
            branch=tree.branch_a,
            kinds=[MeetingKind.GROUP],
            party_group=tree.group_a,
            when=at(2026, 8, 6, 9),
        )
    got = sweep("compliance.due_soon", dt.date(2026, 8, 24))
    assert ("compliance.due_soon", people.secretary.pk) not in got
    assert ("compliance.due_soon", people.outsider.pk) in got


def test_compliance_reminder_withdrawn_at_send_time_once_met(tree, people, queued):
    sweep("compliance.due_soon", dt.date(2026, 8, 24), hour=8)
    Exemption.objects.create(
        branch=tree.branch_a,
        kind="",
        period_key="2026-08",
        reason="村两委换届",
        approved_by=people.staff,
        approved_on=dt.date(2026, 8, 24),
    )
    with time_machine.travel(at(2026, 8, 24, 9), tick=False):
        deliveries_dispatch()
        results = drain(queued)
    assert "withdrawn" in results
    assert not InboxItem.objects.filter(user=people.secretary).exists()
    assert InboxItem.objects.filter(user=people.outsider).exists()
