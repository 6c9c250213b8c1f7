"""Member reminders: probation, lost contact, dues arrears (1/3/5 months), development deadlines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.accounts.models import Role
from apps.core.periods import add_months
from apps.members.models import DevelopmentStep, DuesMonth, ManagementStatus, MemberStatus, Step
from apps.notifications.models import Reminder
from tests.factories import MemberFactory, make_user
from tests.notifications.test_rules import sweep

pytestmark = pytest.mark.django_db


def test_probation_uses_the_records_own_end_date(tree, users):
    # An extended probation: the members app keeps the new end date on the record.
    MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATION_EXTENDED,
        joined_on=dt.date(2024, 9, 1),
        confirmed_on=None,
        probation_ends_on=dt.date(2026, 3, 1),
    )
    assert sweep("member.probation_ending", dt.date(2026, 1, 31)) == []
    assert sweep("member.probation_ending", dt.date(2026, 2, 1)) == [
        ("member.probation_ending", users.secretary.pk)
    ]


def test_lost_contact_at_six_months(tree, users):
    MemberFactory(
        branch=tree.branch_a,
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since=dt.date(2025, 8, 31),
        name="失联者",
    )
    assert sweep("member.lost_contact", dt.date(2026, 2, 27)) == []
    assert sweep("member.lost_contact", dt.date(2026, 2, 28)) == [
        ("member.lost_contact", users.secretary.pk)
    ]
    assert sweep("member.lost_contact", dt.date(2026, 6, 1)) == []  # once per lost-contact episode


def _ledger(member, first: dt.date, months: int, paid_months: set[dt.date] = frozenset()):
    for i in range(months):
        month = add_months(first, i)
        DuesMonth.objects.create(
            member=member,
            branch=member.branch,
            month=month,
            expected=Decimal("10.00"),
            paid=Decimal("10.00") if month in paid_months else Decimal("0"),
        )


def test_dues_arrears_at_one_three_and_five_months(tree, users):
    member = MemberFactory(
        branch=tree.branch_a, user=make_user(Role.MEMBER, tree.branch_a, username="debtor")
    )
    _ledger(
        member, dt.date(2025, 12, 1), 8, paid_months={dt.date(2025, 12, 1)}
    )  # unpaid from January
    member_user = member.user_id
    assert sweep("member.dues_arrears", dt.date(2026, 1, 31)) == []  # January is not late yet
    assert sweep("member.dues_arrears", dt.date(2026, 2, 1)) == [
        ("member.dues_arrears", member_user)
    ]
    assert sweep("member.dues_arrears", dt.date(2026, 3, 15)) == []  # 2 months: no stage
    assert sweep("member.dues_arrears", dt.date(2026, 4, 1)) == sorted(
        [("member.dues_arrears", member_user), ("member.dues_arrears", users.secretary.pk)]
    )
    assert sweep("member.dues_arrears", dt.date(2026, 4, 30)) == []  # idempotent within the month
    assert sweep("member.dues_arrears", dt.date(2026, 6, 1)) == sorted(
        [("member.dues_arrears", member_user), ("member.dues_arrears", users.secretary.pk)]
    )
    assert set(Reminder.objects.values_list("occurrence", flat=True)) == {
        "2026-01/1",
        "2026-01/3",
        "2026-01/5",
    }
    assert Reminder.objects.filter(occurrence="2026-01/5").first().level == "danger"


def test_dues_arrears_streak_restarts_after_a_payment(tree, users):
    member = MemberFactory(
        branch=tree.branch_a, user=make_user(Role.MEMBER, tree.branch_a, username="debtor")
    )
    _ledger(
        member, dt.date(2026, 1, 1), 5, paid_months={dt.date(2026, 2, 1)}
    )  # Jan unpaid, Feb paid, Mar+ unpaid
    assert sweep("member.dues_arrears", dt.date(2026, 3, 1)) == []  # last month (Feb) paid
    assert sweep("member.dues_arrears", dt.date(2026, 4, 1)) == [
        ("member.dues_arrears", member.user_id)
    ]
    assert Reminder.objects.get().occurrence == "2026-03/1"


def test_development_talk_within_a_month(tree, users):
    applicant = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.APPLICANT, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(
        member=applicant, step=Step.APPLICATION, done_on=dt.date(2026, 1, 31)
    )
    # Deadline: 28 February (one month, clamped); reminder 7 days before: 21 February.
    assert sweep("member.development_talk", dt.date(2026, 2, 20)) == []
    assert sweep("member.development_talk", dt.date(2026, 2, 21)) == [
        ("member.development_talk", users.secretary.pk)
    ]
    assert "2026年2月28日" in Reminder.objects.get().title
    talked = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.APPLICANT, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(
        member=talked, step=Step.APPLICATION, done_on=dt.date(2026, 1, 31)
    )
    DevelopmentStep.objects.create(member=talked, step=Step.TALK, done_on=dt.date(2026, 2, 10))
    assert sweep("member.development_talk", dt.date(2026, 2, 25)) == []


def test_development_approval_within_three_months(tree, users):
    candidate = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.CANDIDATE, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(
        member=candidate, step=Step.ADMISSION_MEETING, done_on=dt.date(2026, 3, 31)
    )
    # Deadline 30 June; 14 days before: 16 June. Superior staff and the secretary are told.
    assert sweep("member.development_approval", dt.date(2026, 6, 15)) == []
    assert sweep("member.development_approval", dt.date(2026, 6, 16)) == sorted(
        [
            ("member.development_approval", users.secretary.pk),
            ("member.development_approval", users.staff.pk),
        ]
    )
    approved = MemberFactory(
        branch=tree.branch_a, status=MemberStatus.CANDIDATE, joined_on=None, confirmed_on=None
    )
    DevelopmentStep.objects.create(
        member=approved, step=Step.ADMISSION_MEETING, done_on=dt.date(2026, 3, 31)
    )
    DevelopmentStep.objects.create(
        member=approved, step=Step.ADMISSION_APPROVAL, done_on=dt.date(2026, 5, 1)
    )
    assert sweep("member.development_approval", dt.date(2026, 6, 20)) == []


def test_a_dues_sms_held_overnight_is_withdrawn_once_paid(tree, users, queued, sms_outbox):
    import time_machine

    from apps.notifications.services import deliveries_dispatch
    from tests.notifications.conftest import drain
    from tests.notifications.test_rules import at

    user = make_user(Role.MEMBER, tree.branch_a, username="debtor")
    user.set_phone("13900001111")
    user.save()
    member = MemberFactory(branch=tree.branch_a, user=user)
    _ledger(member, dt.date(2026, 1, 1), 2)
    with time_machine.travel(at(2026, 2, 1, 23, 30), tick=False):  # swept during quiet hours
        sweep("member.dues_arrears", dt.date(2026, 2, 1), hour=23)
        deliveries_dispatch()
        assert drain(queued) == ["sent", "held"]  # the inbox goes at once; the SMS waits for 07:00
    DuesMonth.objects.filter(member=member, month=dt.date(2026, 1, 1)).update(paid=Decimal("10.00"))
    with time_machine.travel(at(2026, 2, 2, 7, 0), tick=False):
        assert deliveries_dispatch() == 1
        assert drain(queued) == ["withdrawn"]
    assert sms_outbox == []
