"""A reminder whose subject changed after it was written is not sent stale: each rule's
`still_valid` is checked by the sender at send time (time frozen), and `reminders_member_changed`
withdraws the moot ones in the members service's transaction. Subjects are changed here with
plain UPDATEs, as a write that bypassed the services would."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.accounts.models import Role
from apps.members.models import DevelopmentStep, ManagementStatus, Member, MemberStatus, Step
from apps.notifications.models import Delivery, DeliveryState, InboxItem, Reminder, ReminderState
from apps.notifications.rules import reminders_member_changed, reminders_member_status_changed
from apps.notifications.services import deliveries_dispatch
from apps.organizations.models import Term, TermState
from tests.factories import MemberFactory, make_user
from tests.notifications.conftest import drain
from tests.notifications.test_member_rules import _ledger
from tests.notifications.test_rules import at, make_term, sweep

pytestmark = pytest.mark.django_db


def send_at(queued, when: dt.datetime) -> list[str]:
    with time_machine.travel(when, tick=False):
        deliveries_dispatch()
        return drain(queued)


# --- lost contact -----------------------------------------------------------------------------


def lost(tree, since=dt.date(2025, 8, 31)):
    return MemberFactory(
        branch=tree.branch_a,
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since=since,
    )


def test_lost_contact_reminder_withdrawn_when_contact_is_restored(tree, users, queued):
    member = lost(tree)
    kept = lost(tree)
    assert sweep("member.lost_contact", dt.date(2026, 2, 28), hour=8) == [
        ("member.lost_contact", users.secretary.pk),
        ("member.lost_contact", users.secretary.pk),
    ]
    Member.objects.filter(pk=member.pk).update(
        management_status=ManagementStatus.EMPLOYED, lost_contact_since=None
    )
    assert sorted(send_at(queued, at(2026, 2, 28, 9))) == ["sent", "withdrawn"]
    assert list(InboxItem.objects.values_list("delivery__reminder__subject_id", flat=True)) == [
        kept.pk
    ]


def test_lost_contact_reminder_of_an_earlier_episode_is_not_sent(tree, users, queued):
    member = lost(tree)
    sweep("member.lost_contact", dt.date(2026, 2, 28), hour=8)
    # Found, then lost again: the reminder about the first episode is moot.
    Member.objects.filter(pk=member.pk).update(lost_contact_since=dt.date(2026, 2, 1))
    assert send_at(queued, at(2026, 2, 28, 9)) == ["withdrawn"]
    assert InboxItem.objects.count() == 0


def test_member_changed_hook_withdraws_the_lost_contact_reminder_at_once(tree, users, queued):
    member = lost(tree)
    sweep("member.lost_contact", dt.date(2026, 2, 28), hour=8)
    assert reminders_member_changed(member=member) == 0  # still lost: nothing withdrawn
    Member.objects.filter(pk=member.pk).update(
        management_status=ManagementStatus.EMPLOYED, lost_contact_since=None
    )
    assert reminders_member_changed(member=member) == 1
    reminder = Reminder.objects.get()
    assert reminder.state == ReminderState.WITHDRAWN
    assert reminder.withdrawn_reason == "党员信息已变更"
    assert reminders_member_changed(member=member) == 0  # idempotent
    assert send_at(queued, at(2026, 2, 28, 9)) == []


def test_status_hook_also_withdraws_what_a_restore_made_moot(tree, users):
    member = lost(tree)
    sweep("member.lost_contact", dt.date(2026, 2, 28), hour=8)
    Member.objects.filter(pk=member.pk).update(management_status=ManagementStatus.EMPLOYED)
    member.refresh_from_db()
    assert reminders_member_status_changed(member=member) == 1
    assert Reminder.objects.get().state == ReminderState.WITHDRAWN


# --- development: talk and approval -----------------------------------------------------------


def applicant(tree, applied_on=dt.date(2026, 1, 31)):
    member = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.APPLICANT, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(member=member, step=Step.APPLICATION, done_on=applied_on)
    return member


def test_talk_recorded_after_the_reminder_was_written_withdraws_it(tree, users, queued):
    talked, waiting = applicant(tree), applicant(tree)
    assert len(sweep("member.development_talk", dt.date(2026, 2, 21), hour=8)) == 2
    DevelopmentStep.objects.create(member=talked, step=Step.TALK, done_on=dt.date(2026, 2, 21))
    assert sorted(send_at(queued, at(2026, 2, 21, 9))) == ["sent", "withdrawn"]
    assert list(InboxItem.objects.values_list("delivery__reminder__subject_id", flat=True)) == [
        waiting.pk
    ]
    withdrawn = Delivery.objects.get(reminder__subject_id=talked.pk)
    assert withdrawn.state == DeliveryState.WITHDRAWN


def test_talk_reminder_not_sent_once_the_applicant_moved_on(tree, users, queued):
    member = applicant(tree)
    sweep("member.development_talk", dt.date(2026, 2, 21), hour=8)
    Member.objects.filter(pk=member.pk).update(status=MemberStatus.ACTIVIST)
    assert send_at(queued, at(2026, 2, 21, 9)) == ["withdrawn"]


def candidate(tree, meeting_on=dt.date(2026, 3, 31)):
    member = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.CANDIDATE, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(member=member, step=Step.ADMISSION_MEETING, done_on=meeting_on)
    return member


def test_approval_recorded_withdraws_the_approval_deadline_reminder(tree, users, queued):
    member = candidate(tree)
    assert len(sweep("member.development_approval", dt.date(2026, 6, 16), hour=8)) == 2
    DevelopmentStep.objects.create(
        member=member, step=Step.ADMISSION_APPROVAL, done_on=dt.date(2026, 6, 16)
    )
    assert send_at(queued, at(2026, 6, 16, 9)) == ["withdrawn", "withdrawn"]
    assert InboxItem.objects.count() == 0
    assert reminders_member_changed(member=member) == 0  # deliveries already withdrawn
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.WITHDRAWN}


def test_approval_deadline_reminder_still_sent_while_unapproved(tree, users, queued):
    candidate(tree)
    sweep("member.development_approval", dt.date(2026, 6, 16), hour=8)
    assert send_at(queued, at(2026, 6, 16, 9)) == ["sent", "sent"]


def test_confirmation_approval_of_an_earlier_meeting_does_not_count(tree, users, queued):
    member = MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATION_EXTENDED,
        joined_on=dt.date(2025, 1, 1),
        confirmed_on=None,
    )
    for step, day in (
        (Step.CONFIRMATION_MEETING, dt.date(2025, 12, 1)),
        (Step.CONFIRMATION_APPROVAL, dt.date(2026, 1, 10)),  # extended, not confirmed
        (Step.CONFIRMATION_MEETING, dt.date(2026, 3, 31)),
    ):
        DevelopmentStep.objects.create(member=member, step=step, done_on=day)
    assert len(sweep("member.development_approval", dt.date(2026, 6, 16), hour=8)) == 2
    assert send_at(queued, at(2026, 6, 16, 9)) == ["sent", "sent"]


# --- probation --------------------------------------------------------------------------------


def probationer(tree):
    return MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATIONARY,
        joined_on=dt.date(2025, 6, 30),
        confirmed_on=None,
        probation_ends_on=dt.date(2026, 6, 30),
    )


@pytest.mark.parametrize(
    "change",
    [
        {"status": MemberStatus.FULL, "confirmed_on": dt.date(2026, 5, 30)},
        {"status": MemberStatus.PROBATION_EXTENDED, "probation_ends_on": dt.date(2026, 12, 30)},
    ],
    ids=["confirmed", "extended"],
)
def test_probation_reminder_not_sent_once_confirmed_or_extended(tree, users, queued, change):
    member = probationer(tree)
    sweep("member.probation_ending", dt.date(2026, 5, 30), hour=8)
    Member.objects.filter(pk=member.pk).update(**change)
    assert send_at(queued, at(2026, 5, 30, 9)) == ["withdrawn"]
    assert InboxItem.objects.count() == 0


def test_probation_reminder_sent_while_unchanged(tree, users, queued):
    probationer(tree)
    sweep("member.probation_ending", dt.date(2026, 5, 30), hour=8)
    assert send_at(queued, at(2026, 5, 30, 9)) == ["sent"]


# --- dues arrears: members without an account ---------------------------------------------------


def test_dues_arrears_first_month_goes_to_the_secretary_when_the_member_has_no_account(
    tree, users, queued
):
    member = MemberFactory(branch=tree.branch_a, user=None, name="无账号党员")
    _ledger(member, dt.date(2026, 1, 1), 6)
    assert sweep("member.dues_arrears", dt.date(2026, 2, 1)) == [
        ("member.dues_arrears", users.secretary.pk)
    ]
    reminder = Reminder.objects.get()
    assert "无账号党员" in reminder.title and "未开通平台账号" in reminder.body
    # Later stages: still the secretary only (no member recipient to add).
    assert sweep("member.dues_arrears", dt.date(2026, 4, 1)) == [
        ("member.dues_arrears", users.secretary.pk)
    ]


def test_dues_arrears_first_month_goes_to_the_secretary_when_the_account_is_disabled(tree, users):
    user = make_user(Role.MEMBER, tree.branch_a, username="gone", is_active=False)
    member = MemberFactory(branch=tree.branch_a, user=user)
    _ledger(member, dt.date(2026, 1, 1), 2)
    assert sweep("member.dues_arrears", dt.date(2026, 2, 1)) == [
        ("member.dues_arrears", users.secretary.pk)
    ]


def test_dues_arrears_first_month_still_only_to_a_member_with_an_account(tree, users):
    member = MemberFactory(
        branch=tree.branch_a, user=make_user(Role.MEMBER, tree.branch_a, username="debtor")
    )
    _ledger(member, dt.date(2026, 1, 1), 2)
    assert sweep("member.dues_arrears", dt.date(2026, 2, 1)) == [
        ("member.dues_arrears", member.user_id)
    ]


# --- terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"state": TermState.CLOSED},
        {"state": TermState.REQUEST_SUBMITTED},
        {"state": TermState.EXTENSION_APPROVED, "extension_until": dt.date(2027, 6, 30)},
    ],
    ids=["new-term", "request-submitted", "extended"],
)
def test_term_branch_reminder_not_sent_once_the_term_changed(tree, users, queued, change):
    term = make_term(tree.branch_a, dt.date(2026, 12, 31))
    assert sweep("term.branch", dt.date(2026, 10, 31), hour=8) == [
        ("term.branch", users.secretary.pk)
    ]
    Term.objects.filter(pk=term.pk).update(**change)
    assert send_at(queued, at(2026, 10, 31, 9)) == ["withdrawn"]
    assert InboxItem.objects.count() == 0


def test_term_superior_and_overdue_reminders_checked_at_send_time(tree, users, queued):
    superior = make_term(tree.branch_a, dt.date(2026, 9, 30))
    overdue = make_term(tree.branch_b, dt.date(2026, 3, 30))
    sweep("term.superior", dt.date(2026, 3, 30), hour=8)
    sweep("term.overdue", dt.date(2026, 3, 30), hour=8)
    assert Reminder.objects.count() == 2
    Term.objects.filter(pk=superior.pk).update(state=TermState.REQUEST_SUBMITTED)
    Term.objects.filter(pk=overdue.pk).update(state=TermState.RESULT_APPROVED)
    assert send_at(queued, at(2026, 3, 30, 9)) == ["withdrawn", "withdrawn"]


def test_term_overdue_reminder_still_sent_after_a_request(tree, users, queued):
    term = make_term(tree.branch_a, dt.date(2026, 3, 30))
    sweep("term.overdue", dt.date(2026, 3, 30), hour=8)
    Term.objects.filter(pk=term.pk).update(state=TermState.REQUEST_SUBMITTED)  # still overdue
    assert set(send_at(queued, at(2026, 3, 30, 9))) == {"sent"}
