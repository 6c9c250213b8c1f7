"""The demo step writes meetings with attendance (bulk COPY) whose rollups agree with the rows."""

import random
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from apps.core.periods import local_today
from apps.meetings import demo as meetings_demo
from apps.meetings.models import Attendance, Meeting
from apps.members import demo as members_demo

pytestmark = pytest.mark.django_db


def test_demo_meetings_and_attendance_on_a_small_tree(tree):
    ctx = SimpleNamespace(
        rng=random.Random(5),
        today=local_today(),
        scale=1.0,
        log=lambda *a: None,
        data={
            "branches": [tree.branch_a, tree.branch_b, tree.branch_c],
            "party_groups": [tree.group_a],
            "county": tree.county,
        },
        signins=[],
    )
    members_demo.seed(ctx)
    from apps.organizations import demo as organizations_demo

    organizations_demo.seed_committees(ctx)
    meetings_demo.seed(ctx)
    assert Meeting.objects.filter(branch=tree.branch_a).count() > 10
    assert Attendance.objects.exists()
    assert not Attendance.objects.filter(excluded_from_expected=True, exclusion_reason="").exists()
    call_command("check_rollups")  # exits non-zero (SystemExit) on any difference

    # 支委会 expect the committee (open positions), 谈心谈话 two to four people
    from apps.organizations.models import CommitteePosition

    committee = set(
        CommitteePosition.objects.filter(ended_on__isnull=True)
        .exclude(position="group_leader")
        .values_list("member_id", flat=True)
    )
    committee_meetings = Meeting.objects.filter(kinds=["committee_meeting"]).exclude(
        state="planned"
    )
    assert committee and committee_meetings.exists()
    attendees = set(
        Attendance.objects.filter(meeting__in=committee_meetings).values_list(
            "member_id", flat=True
        )
    )
    assert attendees <= committee
    for m in Meeting.objects.filter(kinds=["talk"]).exclude(state="planned"):
        assert 2 <= m.attendances.count() <= 4


def test_demo_tree_rollup_covers_every_quarter_of_the_two_years(tree):
    """The dashboard's "近四个季度" trend and past-quarter reports read these rows."""
    from apps.core.periods import Period, PeriodKind
    from apps.meetings.models import OrgPeriodStat

    ctx = SimpleNamespace(
        rng=random.Random(5),
        today=local_today(),
        scale=1.0,
        log=lambda *a: None,
        data={"branches": [tree.branch_a], "party_groups": [], "county": tree.county},
        signins=[],
    )
    members_demo.seed(ctx)
    meetings_demo.seed(ctx)
    keys = set(OrgPeriodStat.objects.filter(org=tree.county).values_list("period_key", flat=True))
    quarter = Period.current(PeriodKind.QUARTER)
    for _ in range(4):
        assert quarter.key in keys, quarter.key
        quarter = quarter.previous()
