"""发展党员程序时限违规 from the members' development steps, by the deadline or the late step
falling between 1 January and the cut-off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from apps.assessments import services as svc
from apps.assessments.models import Computation
from apps.assessments.sources import get_source
from apps.members.models import DevelopmentStep, MemberStatus
from tests.factories import MemberFactory


def steps(member, **dates):
    for key, (day, *reason) in dates.items():
        DevelopmentStep.objects.create(
            member=member, step=int(key[1:]), done_on=day, late_reason=reason[0] if reason else ""
        )


def test_each_broken_time_limit_is_one_violation_named(tree):
    d = dt.date
    b = tree.branch_a
    late_talk = MemberFactory(branch=b, name="迟谈话", status=MemberStatus.ACTIVIST)
    steps(late_talk, s1=(d(2026, 1, 10),), s2=(d(2026, 2, 20),))  # due 2026-02-10
    no_talk = MemberFactory(branch=b, name="未谈话", status=MemberStatus.APPLICANT)
    steps(no_talk, s1=(d(2026, 5, 31),))  # due 2026-06-30: after the 2026-06-29 cut-off → not yet
    no_talk2 = MemberFactory(branch=b, name="未谈话二", status=MemberStatus.APPLICANT)
    steps(no_talk2, s1=(d(2026, 3, 1),))  # due 2026-04-01, missing → violation
    on_time = MemberFactory(branch=b, name="按时", status=MemberStatus.ACTIVIST)
    steps(on_time, s1=(d(2026, 1, 5),), s2=(d(2026, 2, 5),))  # exactly one month: fine
    short = MemberFactory(branch=b, name="培养不满一年", status=MemberStatus.CANDIDATE)
    steps(short, s3=(d(2025, 6, 1),), s7=(d(2026, 5, 31),))  # one day short
    slow = MemberFactory(branch=b, name="审批超期", status=MemberStatus.PROBATIONARY)
    steps(slow, s15=(d(2025, 12, 1),), s17=(d(2026, 3, 15),))  # > 3 months, no reason
    excused = MemberFactory(branch=b, name="审批有说明", status=MemberStatus.PROBATIONARY)
    steps(excused, s15=(d(2025, 12, 1),), s17=(d(2026, 3, 15), "上级党委集中审批"))
    last_year = MemberFactory(branch=b, name="去年迟谈话", status=MemberStatus.ACTIVIST)
    steps(last_year, s1=(d(2025, 1, 10),), s2=(d(2025, 3, 1),))  # 2025: outside the window
    cycle = type("C", (), {"year": 2026, "pk": None})()
    res = get_source("members.development_violations").compute(b, cycle, d(2026, 6, 29))
    names = [r["label"] for r in res.details]
    assert names == ["迟谈话", "审批超期", "未谈话二", "培养不满一年"]  # by date
    assert res.value == Decimal(4)
    assert all(r["type"] == "members.member" for r in res.details)
    # branch_b has nothing
    assert (
        get_source("members.development_violations")
        .compute(tree.branch_b, cycle, d(2026, 6, 29))
        .value
        == 0
    )


def test_bound_in_a_template_it_deducts(tree, users, county_staff, branch_template):
    from apps.assessments.models import Indicator

    copy = svc.template_copy(actor=county_staff, template=branch_template, name="含发展时限")
    c4 = Indicator.objects.get(template=copy, code="C4")
    svc.indicator_update(
        actor=county_staff,
        indicator=c4,
        source="members.development_violations",
        rule="per_unit",
        params={"per": "2", "floor": "0"},
    )
    m = MemberFactory(branch=tree.branch_a, status=MemberStatus.APPLICANT)
    steps(m, s1=(dt.date(2026, 1, 10),))
    with time_machine.travel(dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC), tick=False):
        cycle = svc.cycle_open(actor=county_staff, org=tree.county, year=2026, branch_template=copy)
        svc.cycle_compute(actor=county_staff, cycle=cycle)
    a = cycle.assessments.get(org=tree.branch_a)
    item = Computation.objects.get(assessment=a).items.get(indicator=c4)
    assert (item.value, item.points) == (Decimal(1), Decimal(4))
