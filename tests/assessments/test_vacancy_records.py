"""书记空缺 counts only what the records show (the demo's 115 vetoes: years before the first
recorded secretary were counted as vacant; docs/decisions/0004-vacancy-from-records.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from apps.assessments import services as svc
from apps.assessments.models import Computation
from apps.organizations.models import CommitteePosition, Position, Term
from tests.factories import MemberFactory

D = Decimal


def test_vacancy_is_counted_from_the_records_not_from_the_founding(
    tree, county_staff, branch_template
):
    # branch_a (founded 2015): its secretary is on record only from the current term (2024-06);
    # earlier secretaries were never entered → no vacancy, no veto
    Term.objects.create(
        org=tree.branch_a,
        number=2,
        elected_on=dt.date(2024, 6, 1),
        term_years=5,
        ends_on=dt.date(2029, 6, 1),
    )
    CommitteePosition.objects.create(
        org=tree.branch_a,
        member=MemberFactory(branch=tree.branch_a),
        position=Position.SECRETARY,
        started_on=dt.date(2024, 6, 1),
    )
    # branch_b: a current term elected 2025-10-08, no secretary recorded since → vacant
    # 2025-10-08 .. 2026-11-30 = 13 whole months → A1 −4 and the > 12 months veto
    Term.objects.create(
        org=tree.branch_b,
        number=1,
        elected_on=dt.date(2025, 10, 8),
        term_years=5,
        ends_on=dt.date(2030, 10, 8),
    )
    # branch_c: no term, no committee position at all → unknown, not vacant
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False):
        cycle = svc.cycle_open(
            actor=county_staff, org=tree.county, year=2026, branch_template=branch_template
        )
        svc.cycle_compute(actor=county_staff, cycle=cycle)
    items = {}
    for a in cycle.assessments.all():
        comp = Computation.objects.filter(assessment=a).latest("computed_at", "id")
        items[a.org_id] = (
            comp,
            {i.indicator.code: i for i in comp.items.select_related("indicator")},
        )
    comp, a = items[tree.branch_a.pk]
    assert (a["A1"].value, a["A1"].points, comp.vetoed) == (D(0), D(4), False)
    comp, b = items[tree.branch_b.pk]
    assert (b["A1"].value, b["A1"].points, comp.vetoed) == (D(13), D(0), True)
    assert b["A1"].details[0]["date"] == "2025-10-08" and b["A1"].details[0]["open"] is True
    comp, c = items[tree.branch_c.pk]
    assert (c["A1"].value, c["A1"].points, comp.vetoed) == (D(0), D(4), False)
    assert "无法判断" in c["A1"].explanation


def test_an_org_founded_in_the_cycle_year_is_on_record_from_its_founding(
    tree, county_staff, branch_template
):
    from tests.factories import make_org

    young = make_org(tree.town_a, name="新建支部", founded_on=dt.date(2026, 3, 1))
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False):
        cycle = svc.cycle_open(
            actor=county_staff, org=tree.county, year=2026, branch_template=branch_template
        )
        svc.cycle_compute(actor=county_staff, cycle=cycle)
    a = cycle.assessments.get(org=young)
    item = (
        Computation.objects.filter(assessment=a)
        .latest("computed_at", "id")
        .items.get(indicator__code="A1")
    )
    # 2026-03-01 .. 2026-11-30: 8 whole months without a secretary → more than 6 → −4
    assert (item.value, item.points) == (D(8), D(0))
