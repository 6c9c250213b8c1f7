"""Member writes withdraw the reminders they make moot in the same transaction, before any
send-time check: the secretary's inbox never fills with stale 失联 reminders."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.members import services
from apps.members.models import ManagementStatus, MemberStatus
from apps.notifications.models import Reminder, ReminderState
from apps.notifications.services import reminders_sweep
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-10-10 10:00 +0800", tick=False)
def test_restoring_contact_withdraws_the_lost_contact_reminder(tree, users):
    member = MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.FULL,
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since=dt.date(2026, 3, 1),
    )
    reminders_sweep(rule_key="member.lost_contact")
    reminder = Reminder.objects.get(rule="member.lost_contact", subject_id=member.pk)
    assert reminder.state == ReminderState.ACTIVE
    services.member_update(
        actor=users.secretary, member=member, management_status=ManagementStatus.EMPLOYED
    )
    reminder.refresh_from_db()
    assert reminder.state != ReminderState.ACTIVE
