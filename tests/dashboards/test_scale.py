"""seed_scale writes meetings and attendance the way the meetings services would: counters
equal the attendance rows and the rollups equal a recomputation from the raw rows."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.core.periods import Period, PeriodKind, local_today
from apps.dashboards.sections import context_for, sections_for
from apps.meetings import rollups
from apps.meetings.models import Attendance, Meeting, MeetingFlag, MeetingState
from apps.organizations.models import Org

pytestmark = pytest.mark.django_db


def test_tiny_tier_has_two_years_of_meetings_with_true_rollups():
    call_command("seed_scale", tier="tiny", stdout=io.StringIO())
    assert Attendance.objects.count() > Meeting.objects.count() > 500
    states = set(Meeting.objects.values_list("state", flat=True))
    assert {MeetingState.ACCEPTED, MeetingState.RETURNED, MeetingState.PLANNED} <= states
    assert MeetingFlag.objects.exists()
    assert rollups.counters_mismatches() == []
    assert rollups.stats_differences() == []
    assert rollups.org_stats_differences() == []
    quarter = Period.current(PeriodKind.QUARTER).previous()
    keys = {m.period_key for m in rollups.OrgPeriodStat.objects.only("period_key")}
    assert len([k for k in keys if "Q" in k]) == 8 and quarter.key in keys
    root = Org.objects.get(depth=1)
    ctx = context_for(org=root, period=quarter, today=local_today())
    meetings = next(s for s in sections_for(ctx) if s.code == "meetings")
    assert meetings.rows[0][1] == 12  # every branch of the tiny tier is judged


def test_a_meetings_sample_gives_meetings_to_part_of_the_branches_only():
    from apps.organizations.models import BRANCH_TYPES

    call_command("seed_scale", tier="tiny", meetings_sample=0.5, stdout=io.StringIO())
    branches = Org.objects.filter(org_type__in=BRANCH_TYPES).count()
    with_meetings = Meeting.objects.values("branch_id").distinct().count()
    assert 0 < with_meetings < branches
    assert rollups.stats_differences() == [] and rollups.org_stats_differences() == []


def test_a_sample_outside_zero_to_one_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--meetings-sample"):
        call_command("seed_scale", tier="tiny", meetings_sample=0, stdout=io.StringIO())
