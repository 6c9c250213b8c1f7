"""Subjects that change withdraw their pending reminders in the same transaction: a member
confirmed (转正) or given a longer probation, a new term elected (换届), dues paid."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.accounts.models import Role
from apps.members import services as members
from apps.members.models import MemberStatus
from apps.notifications.models import Delivery, DeliveryState, InboxItem, Reminder, ReminderState
from apps.notifications.services import deliveries_dispatch
from apps.organizations import services as organizations
from tests.factories import MemberFactory, make_user
from tests.notifications.conftest import drain
from tests.notifications.test_member_rules import _ledger
from tests.notifications.test_rules import at, make_term, sweep

pytestmark = pytest.mark.django_db


def states(**filters) -> set[str]:
    return set(Reminder.objects.filter(**filters).values_list("state", flat=True))


def probationer(tree):
    return MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATIONARY,
        joined_on=dt.date(2025, 6, 30),
        confirmed_on=None,
        probation_ends_on=dt.date(2026, 6, 30),
        status_since=dt.date(2025, 6, 30),
    )


def test_confirmed_member_withdraws_the_probation_reminder(tree, users, queued):
    member = probationer(tree)
    assert sweep("member.probation_ending", dt.date(2026, 5, 30), hour=8) == [
        ("member.probation_ending", users.secretary.pk)
    ]
    # The reminder is due at 09:00; the member is confirmed (backdated to the end) first.
    with time_machine.travel(at(2026, 6, 30, 8, 30), tick=False):
        members.member_confirm(actor=users.secretary, member=member, on=dt.date(2026, 6, 30))
    reminder = Reminder.objects.get(rule="member.probation_ending")
    assert reminder.state == ReminderState.WITHDRAWN and reminder.withdrawn_reason == "已转正"
    with time_machine.travel(at(2026, 6, 30, 9), tick=False):
        assert deliveries_dispatch() == 0
    assert drain(queued) == [] and InboxItem.objects.count() == 0


def test_extended_probation_keeps_only_the_reminder_for_the_new_end(tree, users):
    member = probationer(tree)
    sweep("member.probation_ending", dt.date(2026, 5, 30))
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        members.member_probation_extend(
            actor=users.secretary,
            member=member,
            months=6,
            on=dt.date(2026, 6, 1),
            reason="需要继续考察",
        )
    assert states(rule="member.probation_ending") == {ReminderState.WITHDRAWN}
    # The new end (30 June + 6 months = 30 December) gets its own reminder a month before.
    assert sweep("member.probation_ending", dt.date(2026, 11, 30)) == [
        ("member.probation_ending", users.secretary.pk)
    ]
    assert Reminder.objects.get(state=ReminderState.ACTIVE).occurrence == "2026-12-30"


def test_new_term_withdraws_the_old_terms_reminders(tree, users):
    old = make_term(tree.branch_a, dt.date(2026, 12, 31))
    sweep("term.branch", dt.date(2026, 10, 31))
    sweep("term.superior", dt.date(2026, 7, 1))
    assert states(subject_id=old.pk) == {ReminderState.ACTIVE}
    with time_machine.travel(at(2026, 11, 5, 10), tick=False):
        organizations.term_start(
            actor=users.staff, org=tree.branch_a, elected_on=dt.date(2026, 11, 5)
        )
    assert states(subject_id=old.pk, subject_type="organizations.term") == {ReminderState.WITHDRAWN}
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.WITHDRAWN}
    assert sweep("term.overdue", dt.date(2027, 1, 2)) == []  # the old term is closed


def test_extended_term_withdraws_the_reminders_about_the_old_end(tree, users):
    term = make_term(tree.branch_a, dt.date(2026, 12, 31))
    sweep("term.branch", dt.date(2026, 10, 31))
    organizations.term_extend(actor=users.staff, term=term, until=dt.date(2027, 6, 30))
    assert states(rule="term.branch") == {ReminderState.WITHDRAWN}
    assert sweep("term.branch", dt.date(2027, 4, 30)) == [("term.branch", users.secretary.pk)]


def test_dues_paid_withdraws_the_arrears_reminders(tree, users, queued):
    user = make_user(Role.MEMBER, tree.branch_a, username="debtor")
    member = MemberFactory(branch=tree.branch_a, user=user)
    _ledger(member, dt.date(2026, 1, 1), 5)
    sweep("member.dues_arrears", dt.date(2026, 4, 1), hour=8)  # 3 months: member + secretary
    assert states(rule="member.dues_arrears") == {ReminderState.ACTIVE}
    with time_machine.travel(at(2026, 4, 1, 8, 30), tick=False):
        members.dues_pay(
            actor=users.secretary,
            member=member,
            months=[dt.date(2026, 2, 1)],
            paid_on=dt.date(2026, 4, 1),
        )
    assert states(rule="member.dues_arrears") == {ReminderState.WITHDRAWN}
    assert Reminder.objects.filter(withdrawn_reason="党费已交纳").count() == 2
    with time_machine.travel(at(2026, 4, 1, 9), tick=False):
        assert deliveries_dispatch() == 0
    assert InboxItem.objects.count() == 0


def test_a_payment_outside_the_streak_keeps_the_reminder(tree, users):
    user = make_user(Role.MEMBER, tree.branch_a, username="debtor")
    member = MemberFactory(branch=tree.branch_a, user=user)
    _ledger(member, dt.date(2026, 1, 1), 5)
    sweep("member.dues_arrears", dt.date(2026, 2, 1), hour=8)  # "2026-01/1": January only
    with time_machine.travel(at(2026, 4, 1, 8, 30), tick=False):
        members.dues_pay(
            actor=users.secretary,
            member=member,
            months=[dt.date(2026, 3, 1)],
            paid_on=dt.date(2026, 4, 1),
        )
    assert states(rule="member.dues_arrears") == {ReminderState.ACTIVE}
