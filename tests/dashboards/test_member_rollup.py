"""The member rollup equals a direct recomputation from raw member rows, for every org."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from apps.core.periods import Period
from apps.dashboards.models import OrgMemberStat
from apps.dashboards.selectors import member_overview, member_snapshot_for, member_stats_rows
from apps.dashboards.services import member_stats_check, member_stats_refresh
from apps.members.models import Member
from apps.organizations.models import Org, OrgType
from tests.dashboards.conftest import AS_OF

ROSTER = {"full", "probationary", "probation_extended"}
ON_BOOKS = ROSTER | {"suspended", "applicant", "activist", "candidate"}


def _completed_years(start: dt.date, end: dt.date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _expected(org: Org, as_of: dt.date) -> Counter:
    """Recompute from raw rows, independently of the rollup's SQL and of its Python checker."""
    if org.org_type == OrgType.PARTY_GROUP:
        members = Member.objects.filter(party_group=org)
    else:
        members = [
            m for m in Member.objects.select_related("branch") if m.branch.path.startswith(org.path)
        ]
    c: Counter = Counter()
    for m in members:
        if m.status in ON_BOOKS:
            c["status", m.status] += 1
        if m.status not in ROSTER:
            continue
        c["gender", m.gender] += 1
        c["education", m.education or "unknown"] += 1
        c["occupation", m.occupation or "unknown"] += 1
        if m.birth_date is None:
            c["age", "unknown"] += 1
        else:
            age = _completed_years(m.birth_date, as_of)
            bands = (
                ["le30"] * 31
                + ["31_35"] * 5
                + ["36_40"] * 5
                + ["41_45"] * 5
                + ["46_50"] * 5
                + ["51_55"] * 5
                + ["56_60"] * 5
            )
            c["age", bands[age] if age < len(bands) else "ge61"] += 1
        if m.status != "full":
            c["seniority", "probationary"] += 1
        elif m.confirmed_on is None or m.confirmed_on > as_of:
            c["seniority", "unknown"] += 1
        else:
            years = _completed_years(m.confirmed_on, as_of)
            for top, code in [
                (5, "lt5"),
                (10, "5_9"),
                (20, "10_19"),
                (30, "20_29"),
                (40, "30_39"),
                (50, "40_49"),
                (10**6, "ge50"),
            ]:
                if years < top:
                    c["seniority", code] += 1
                    break
    return c


@pytest.mark.django_db
def test_rollup_equals_raw_recomputation_for_every_org(populated):
    member_stats_refresh(as_of=AS_OF)
    for org in Org.objects.all():
        got = {
            k: v
            for k, v in member_stats_rows(org=org, as_of=AS_OF).items()
            if k[0] in {"status", "gender", "age", "seniority", "education", "occupation"}
        }
        assert got == dict(_expected(org, AS_OF)), org.name


@pytest.mark.django_db
def test_boundaries_age_and_seniority_on_the_day(populated):
    member_stats_refresh(as_of=AS_OF)
    rows = member_stats_rows(org=populated.branch_b, as_of=AS_OF)
    # Born 1995-09-30: 31 on AS_OF (31_35); born 1995-10-01: still 30 (le30).
    member_stats_refresh(as_of=AS_OF - dt.timedelta(days=1))
    before = member_stats_rows(org=populated.branch_b, as_of=AS_OF - dt.timedelta(days=1))
    assert rows["age", "31_35"] == before.get(("age", "31_35"), 0) + 1
    # Confirmed 2021-09-30: 5 years of 党龄 on AS_OF, not the day before.
    assert rows["seniority", "5_9"] == before.get(("seniority", "5_9"), 0) + 1


@pytest.mark.django_db
def test_totals_and_party_group_and_children(populated):
    member_stats_refresh(as_of=AS_OF)
    county = member_overview(org=populated.county, as_of=AS_OF)
    roster = Member.objects.filter(status__in=ROSTER).count()
    assert county.totals["party_members"] == roster
    group = member_overview(org=populated.group_a, as_of=AS_OF)
    assert (
        group.totals["party_members"]
        == Member.objects.filter(party_group=populated.group_a, status__in=ROSTER).count()
    )
    town_a = member_overview(org=populated.town_a, as_of=AS_OF).totals["party_members"]
    town_b = member_overview(org=populated.town_b, as_of=AS_OF).totals["party_members"]
    assert town_a + town_b == roster


@pytest.mark.django_db
def test_refresh_keeps_one_closing_snapshot_per_quarter(populated):
    member_stats_refresh(as_of=dt.date(2026, 8, 1))
    member_stats_refresh(as_of=dt.date(2026, 9, 30))
    member_stats_refresh(as_of=dt.date(2026, 10, 2))
    member_stats_refresh(as_of=dt.date(2026, 10, 9))
    kept = sorted(set(OrgMemberStat.objects.values_list("as_of", flat=True)))
    assert kept == [dt.date(2026, 9, 30), dt.date(2026, 10, 9)]
    assert member_snapshot_for(Period.quarter(2026, 3)) == dt.date(2026, 9, 30)
    assert member_snapshot_for(Period.quarter(2026, 4)) == dt.date(2026, 10, 9)
    assert member_snapshot_for(Period.quarter(2026, 2)) is None


@pytest.mark.django_db
def test_check_finds_drift_and_command_reports_it(populated):
    member_stats_refresh(as_of=AS_OF)
    assert member_stats_check(orgs=list(Org.objects.all()), as_of=AS_OF) == []
    call_command("refresh_dashboards", "--check", "--as-of", AS_OF.isoformat())
    # A member added after the refresh: the rollup is now stale, and check says so.
    Member.objects.create(branch=populated.branch_c, name="新党员", gender="male", status="full")
    drift = member_stats_check(orgs=[populated.county, populated.branch_c], as_of=AS_OF)
    assert {(m.org_id, m.dimension, m.bucket) for m in drift} >= {
        (populated.branch_c.pk, "status", "full")
    }
    with pytest.raises(CommandError):
        call_command("refresh_dashboards", "--check", "--as-of", AS_OF.isoformat())
    call_command("refresh_dashboards", "--as-of", AS_OF.isoformat())
    assert member_stats_check(orgs=[populated.county], as_of=AS_OF) == []
