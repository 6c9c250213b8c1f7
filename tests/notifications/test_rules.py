"""Timing of every sweeper rule (time frozen), including month ends, and who receives it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.core.periods import SHANGHAI
from apps.members.models import MemberStatus
from apps.notifications.models import InboxItem, Reminder
from apps.notifications.services import deliveries_dispatch, reminders_sweep
from apps.organizations.models import Term, TermState
from tests.factories import MemberFactory, make_user
from tests.notifications.conftest import drain

pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def sweep(rule: str, day: dt.date, hour: int = 10) -> list[tuple[str, int]]:
    """Run the rule on `day` and return (rule, recipient id) of the reminders created."""
    before = set(Reminder.objects.values_list("pk", flat=True))
    with time_machine.travel(at(day.year, day.month, day.day, hour), tick=False):
        reminders_sweep(rule_key=rule)
    return sorted(Reminder.objects.exclude(pk__in=before).values_list("rule", "recipient_id"))


def make_term(org, ends_on: dt.date, state=TermState.ACTIVE, **kwargs) -> Term:
    return Term.objects.create(
        org=org,
        number=3,
        elected_on=dt.date(ends_on.year - 5, ends_on.month, 1),
        term_years=5,
        ends_on=ends_on,
        state=state,
        **kwargs,
    )


# --- terms ------------------------------------------------------------------------------------


def test_term_superior_six_months_before_to_the_parent_staff(tree, users):
    make_term(tree.branch_a, dt.date(2026, 9, 30))
    assert sweep("term.superior", dt.date(2026, 3, 29)) == []
    assert sweep("term.superior", dt.date(2026, 3, 30)) == [("term.superior", users.staff.pk)]
    reminder = Reminder.objects.get()
    assert reminder.due_at == at(2026, 3, 30, 9)  # 09:00 on the nominal day
    assert reminder.occurrence == "2026-09-30" and reminder.org_id == tree.branch_a.pk
    assert "甲村党支部" in reminder.title
    assert sweep("term.superior", dt.date(2026, 5, 1)) == []  # idempotent: nothing twice


def test_term_superior_month_end_clamps(tree, users):
    make_term(tree.branch_a, dt.date(2026, 8, 31))  # T-6 months is 28 February
    assert sweep("term.superior", dt.date(2026, 2, 27)) == []
    assert sweep("term.superior", dt.date(2026, 2, 28)) == [("term.superior", users.staff.pk)]


def test_term_superior_window_closes_when_the_branch_stage_starts(tree, users):
    make_term(tree.branch_a, dt.date(2026, 9, 30))
    assert sweep("term.superior", dt.date(2026, 7, 30)) == []  # first sweep only at T-2 months
    assert sweep("term.branch", dt.date(2026, 7, 30)) == [("term.branch", users.secretary.pk)]


def test_term_branch_two_months_before_to_the_secretary(tree, users):
    make_term(tree.branch_a, dt.date(2026, 12, 31))  # T-2 months: 31 October
    assert sweep("term.branch", dt.date(2026, 10, 30)) == []
    assert sweep("term.branch", dt.date(2026, 10, 31)) == [("term.branch", users.secretary.pk)]
    assert Reminder.objects.get().level == "warning"


def test_term_branch_skipped_once_the_request_is_submitted(tree, users):
    make_term(tree.branch_a, dt.date(2026, 12, 31), state=TermState.REQUEST_SUBMITTED)
    assert sweep("term.branch", dt.date(2026, 11, 15)) == []


def test_term_overdue_at_expiry_to_branch_and_superior(tree, users):
    make_term(tree.branch_a, dt.date(2026, 6, 30))
    assert sweep("term.overdue", dt.date(2026, 6, 29)) == []
    assert sweep("term.overdue", dt.date(2026, 6, 30)) == sorted(
        [("term.overdue", users.secretary.pk), ("term.overdue", users.staff.pk)]
    )
    assert sweep("term.overdue", dt.date(2027, 1, 1)) == []  # one overdue reminder per expiry


def test_term_extension_moves_the_dates(tree, users):
    make_term(
        tree.branch_a,
        dt.date(2026, 6, 30),
        state=TermState.EXTENSION_APPROVED,
        extension_until=dt.date(2027, 3, 31),
    )
    assert sweep("term.overdue", dt.date(2026, 7, 1)) == []
    assert sweep("term.branch", dt.date(2027, 1, 31)) == [("term.branch", users.secretary.pk)]
    assert sweep("term.overdue", dt.date(2027, 3, 31)) != []


def test_term_with_approved_result_is_quiet(tree, users):
    make_term(tree.branch_a, dt.date(2026, 6, 30), state=TermState.RESULT_APPROVED)
    assert sweep("term.overdue", dt.date(2026, 7, 1)) == []


def test_superior_falls_back_to_the_nearest_ancestor_with_staff(tree, users):
    from apps.accounts.models import Role

    county_staff = make_user(Role.ORG_STAFF, tree.county, username="county_staff")
    make_term(tree.branch_c, dt.date(2026, 9, 30))  # town_b has no staff of its own
    assert sweep("term.superior", dt.date(2026, 4, 1)) == [("term.superior", county_staff.pk)]
    make_term(tree.town_a, dt.date(2026, 9, 30))  # a town's term: its superior is the county
    assert ("term.superior", county_staff.pk) in sweep("term.superior", dt.date(2026, 4, 2))


# --- members ----------------------------------------------------------------------------------


def test_probation_ending_a_month_before(tree, users):
    MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATIONARY,
        joined_on=dt.date(2025, 3, 31),
        confirmed_on=None,
        name="王预备",
    )
    # Probation ends 31 March 2026; a month before is 28 February (clamped).
    assert sweep("member.probation_ending", dt.date(2026, 2, 27)) == []
    assert sweep("member.probation_ending", dt.date(2026, 2, 28)) == [
        ("member.probation_ending", users.secretary.pk)
    ]
    assert "王预备" in Reminder.objects.get().title


def test_probation_ending_ignores_full_members_and_other_dates(tree, users):
    MemberFactory(branch=tree.branch_a, status=MemberStatus.FULL, joined_on=dt.date(2025, 3, 31))
    MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATIONARY,
        joined_on=dt.date(2025, 6, 1),
        confirmed_on=None,
    )
    assert sweep("member.probation_ending", dt.date(2026, 3, 15)) == []


# --- end to end -------------------------------------------------------------------------------


def test_sweep_and_dispatch_twice_sends_once(tree, users, queued):
    make_term(tree.branch_a, dt.date(2026, 6, 30))
    with time_machine.travel(at(2026, 7, 1, 9, 5), tick=False):
        for _ in range(2):
            reminders_sweep(rule_key="term.overdue")
            deliveries_dispatch()
            drain(queued)
    assert InboxItem.objects.filter(user=users.secretary).count() == 1
    assert InboxItem.objects.filter(user=users.staff).count() == 1


def test_report_ready_goes_to_the_org_at_once(tree, users, queued):
    from apps.notifications.rules import reminders_report_ready

    with time_machine.travel(at(2026, 4, 2, 10), tick=False):
        reminders_report_ready(
            report=tree.branch_a, org=tree.branch_a, title="2026年第一季度报告已生成", url="/r/1/"
        )
        reminders_report_ready(
            report=tree.branch_a, org=tree.branch_a, title="2026年第一季度报告已生成", url="/r/1/"
        )
        deliveries_dispatch()
        drain(queued)
    assert list(InboxItem.objects.values_list("user_id", "url")) == [(users.secretary.pk, "/r/1/")]
