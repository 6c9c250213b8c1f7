"""A whole cycle on seeded data: automatic scores traced to their records, self-assessment,
review, publication, stars, appeals; expected scores computed here independently."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.assessments import services as svc
from apps.assessments.models import (
    AssessmentState,
    Computation,
    CyclePhase,
    Grade,
    Indicator,
    Method,
    StarChange,
    StarRating,
    TemplateKind,
)
from apps.members.models import (
    MEMBER_STATUSES,
    DuesBranchMonth,
    DuesMonth,
    Member,
    MemberStatus,
    StudyRecord,
)
from apps.organizations.models import CommitteePosition, Position, Term
from tests.factories import MemberFactory

D = Decimal
TODAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(tree, users):
    """branch_a: 8 full members, secretary left on 2026-02-10 (vacant since: 9 months at the
    cut-off), one other committee member (committee incomplete), term ended 2025-06-01
    (overdue), two probationary members past their year, one extended and not yet due; with the
    `users` fixture's ordinary member, 12 party members."""
    full = [MemberFactory(branch=tree.branch_a) for _ in range(8)]
    sec = CommitteePosition.objects.create(
        org=tree.branch_a,
        member=full[0],
        position=Position.SECRETARY,
        started_on=dt.date(2020, 1, 1),
        ended_on=dt.date(2026, 2, 10),
    )
    CommitteePosition.objects.create(
        org=tree.branch_a,
        member=full[1],
        position=Position.ORGANIZATION,
        started_on=dt.date(2020, 1, 1),
    )
    term = Term.objects.create(
        org=tree.branch_a,
        number=1,
        elected_on=dt.date(2020, 6, 1),
        term_years=5,
        ends_on=dt.date(2025, 6, 1),
    )
    late = [
        MemberFactory(
            branch=tree.branch_a,
            status=MemberStatus.PROBATIONARY,
            joined_on=dt.date(2025, 3, 1),
            confirmed_on=None,
        )
        for _ in range(2)
    ]
    MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.PROBATION_EXTENDED,
        joined_on=dt.date(2024, 12, 1),
        confirmed_on=None,
    )
    # study hours 2026: 9 of the 12 party members reach their requirement (56 for the committee
    # member full[1], 32 for the others) → 75 %
    party = [
        *full,
        *late,
        *Member.objects.filter(branch=tree.branch_a, status__in=MEMBER_STATUSES).exclude(
            pk__in=[m.pk for m in [*full, *late]]
        ),
    ]
    assert len(party) == 12
    for m in party[:9]:
        StudyRecord.objects.create(
            member=m, course="集中学习", held_on=dt.date(2026, 5, 1), hours=D(56)
        )
    StudyRecord.objects.create(
        member=party[9], course="集中学习", held_on=dt.date(2025, 5, 1), hours=D(56)
    )  # last year
    # dues Jan–Oct 2026 (November is not yet due at the 30 Nov cut-off): two members at 10 元 a
    # month; full[2] did not pay in Mar, Apr and May → 170 of 200 元 = 85 %, one member in arrears
    for month in range(1, 11):
        day = dt.date(2026, month, 1)
        unpaid = month in (3, 4, 5)
        DuesMonth.objects.create(
            member=full[2],
            branch=tree.branch_a,
            month=day,
            expected=D(10),
            paid=D(0) if unpaid else D(10),
        )
        DuesMonth.objects.create(
            member=full[3], branch=tree.branch_a, month=day, expected=D(10), paid=D(10)
        )
        DuesBranchMonth.objects.create(
            branch=tree.branch_a,
            month=day,
            members=2,
            expected=D(20),
            paid=D(10) if unpaid else D(20),
            in_arrears=int(unpaid),
        )
    DuesMonth.objects.create(
        member=full[2], branch=tree.branch_a, month=dt.date(2026, 11, 1), expected=D(10)
    )
    # branch_b: a secretary in office all along, a current term, study hours met
    b_member = MemberFactory(branch=tree.branch_b)
    StudyRecord.objects.create(
        member=b_member, course="县委党校轮训", held_on=dt.date(2026, 4, 1), hours=D(56)
    )
    CommitteePosition.objects.create(
        org=tree.branch_b,
        member=b_member,
        position=Position.SECRETARY,
        started_on=dt.date(2019, 1, 1),
    )
    Term.objects.create(
        org=tree.branch_b,
        number=1,
        elected_on=dt.date(2024, 6, 1),
        term_years=5,
        ends_on=dt.date(2029, 6, 1),
    )
    return {"secretary_position": sec, "term": term, "late": late, "arrears": full[2]}


def items_of(assessment):
    comp = Computation.objects.filter(assessment=assessment).latest("computed_at", "id")
    return {i.indicator.code: i for i in comp.items.select_related("indicator")}


def open_cycle(tree, staff, template, secretary_template=None):
    return svc.cycle_open(
        actor=staff,
        org=tree.county,
        year=2026,
        branch_template=template,
        secretary_template=secretary_template,
    )


@time_machine.travel(TODAY, tick=False)
def test_automatic_scores_lose_points_on_the_records_behind_them(
    tree, county_staff, seeded, branch_template
):
    cycle = open_cycle(tree, county_staff, branch_template)
    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
    a = cycle.assessments.get(org=tree.branch_a)
    items = items_of(a)
    # 书记空缺 2026-02-10 → 2026-11-30: 9 whole months > 6 → -4
    assert items["A1"].value == D(9) and items["A1"].points == D(0)
    assert items["A1"].details[0]["type"] == "organizations.committeeposition"
    assert items["A1"].details[0]["id"] == seeded["secretary_position"].pk
    # term ended 2025-06-01, not renewed → -4, detail names the term
    assert items["A2"].points == D(0)
    assert items["A2"].details[0] == items["A2"].details[0] | {
        "type": "organizations.term",
        "id": seeded["term"].pk,
    }
    # 8 full members, 1 committee member → committee incomplete → -4
    assert items["A4"].points == D(0)
    # two probationary members past their year, 2 points each → 6 - 4 = 2, both named
    assert items["C4"].value == D(2) and items["C4"].points == D(2)
    assert {d["id"] for d in items["C4"].details} == {m.pk for m in seeded["late"]}
    # dues 85 % → 6 × 0.85; one member in arrears (3 months) → 4 - 1; study 75 % → 4 × 0.75
    assert (items["C2"].value, items["C2"].points) == (D("85"), D("5.10"))
    assert (items["C3"].value, items["C3"].points) == (D(1), D(3))
    assert (
        items["C3"].details[0]["id"] == seeded["arrears"].pk
        and "欠缴3个月" in items["C3"].details[0]["note"]
    )
    assert (items["C5"].value, items["C5"].points) == (D(75), D(3))
    assert len(items["C5"].details) == 3
    # the 12-month veto is not triggered by a 9-month vacancy
    assert items["V2"].value == D(9)
    assert not Computation.objects.get(assessment=a).vetoed
    # meetings sources are live: no 支委会 recorded in any month up to the 30 Nov cut-off (a
    # month ending on the cut-off day is judged) → 11 months × 0.5 > 2 → 0, each month named
    assert items["B1a"].available is True
    assert (items["B1a"].value, items["B1a"].points) == (D(11), D(0))
    assert [d["label"] for d in items["B1a"].details] == [f"2026年{m}月" for m in range(1, 12)]
    assert {d["type"] for d in items["B1a"].details} == {"meetings.period"}
    # branch_b: secretary in office, term current → full points on the live items
    b = items_of(cycle.assessments.get(org=tree.branch_b))
    assert (b["A1"].points, b["A2"].points, b["A4"].points, b["C4"].points) == (
        D(4),
        D(4),
        D(4),
        D(6),
    )
    assert (b["C2"].points, b["C3"].points, b["C5"].points) == (D(6), D(4), D(4))


@time_machine.travel(TODAY, tick=False)
def test_recompute_keeps_old_computations_and_uses_the_cutoff(
    tree, county_staff, seeded, branch_template
):
    cycle = open_cycle(tree, county_staff, branch_template)
    svc.cycle_advance(
        actor=county_staff, cycle=cycle, to_phase=CyclePhase.MIDTERM, cutoff=dt.date(2026, 7, 31)
    )
    a = cycle.assessments.get(org=tree.branch_a)
    # at 2026-07-31 the vacancy is 5 months: no deduction yet
    assert items_of(a)["A1"].points == D(4)
    svc.cycle_compute(actor=county_staff, cycle=cycle, cutoff=dt.date(2026, 9, 10))
    assert items_of(a)["A1"].value == D(7)
    assert items_of(a)["A1"].points == D(0)
    assert Computation.objects.filter(assessment=a).count() == 2
    with pytest.raises(ValidationError):
        svc.cycle_compute(
            actor=county_staff, cycle=cycle, cutoff=dt.date(2026, 12, 5)
        )  # after today


def test_vacancy_boundary_6_months_is_no_deduction_7_is(
    tree, county_staff, seeded, branch_template
):
    """The A1 rule is “more than six months”: 6 months keeps the points, 7 loses 4."""
    with time_machine.travel(dt.datetime(2026, 8, 10, 10, tzinfo=dt.UTC), tick=False):
        cycle = open_cycle(tree, county_staff, branch_template)
        svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
        a = cycle.assessments.get(org=tree.branch_a)
        assert (items_of(a)["A1"].value, items_of(a)["A1"].points) == (D(6), D(4))
    with time_machine.travel(dt.datetime(2026, 9, 10, 10, tzinfo=dt.UTC), tick=False):
        svc.cycle_compute(actor=county_staff, cycle=cycle)
        assert (items_of(a)["A1"].value, items_of(a)["A1"].points) == (D(7), D(0))


def fill_entries(assessment, points_for=lambda ind: ind.max_points, only_unscored=True):
    """Self-assessment entries for every hand-scored item (manual, bonus, waiting sources)."""
    card = svc.card_for(assessment, stage="self")
    entries = {}
    for line in card.lines:
        ind = line.indicator
        if ind.method in (Method.GROUP, Method.VETO):
            continue
        if only_unscored and line.auto_points is not None:
            continue
        entries[ind.pk] = {"points": points_for(ind), "comment": "见台账"}
    return entries


@time_machine.travel(TODAY, tick=False)
def test_whole_cycle_final_score_grade_publication_and_stars(
    tree, users, county_staff, seeded, branch_template
):
    CommitteePosition.objects.create(
        org=tree.branch_c,
        member=MemberFactory(branch=tree.branch_c),
        position=Position.SECRETARY,
        started_on=dt.date(2021, 1, 1),
        ended_on=dt.date(2025, 9, 30),
    )
    cycle = open_cycle(tree, county_staff, branch_template)
    for phase in (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT):
        svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=phase)
    a = cycle.assessments.get(org=tree.branch_a)
    # the secretary of branch_a self-assesses: every hand item at full marks except D3 (8 → 5)
    entries = fill_entries(a, lambda ind: D(5) if ind.code == "D3" else ind.max_points)
    with pytest.raises(ValidationError, match="佐证材料"):
        svc.assessment_self_assess(
            actor=users.secretary, assessment=a, entries=entries, submit=True
        )
    # zero the evidence-required items instead of uploading files
    needs = set(
        Indicator.objects.filter(template=branch_template, evidence_required=True).values_list(
            "pk", flat=True
        )
    )
    entries = {k: (v | {"points": 0} if k in needs else v) for k, v in entries.items()}
    svc.assessment_self_assess(actor=users.secretary, assessment=a, entries=entries, submit=True)
    a.refresh_from_db()
    assert a.state == AssessmentState.SELF_SUBMITTED

    # expected, computed independently: 100, minus the live deductions (A1 4, A2 4, A4 4, C4 4,
    # C2 0.9, C3 1, C5 1), the evidence items zeroed (A5 4, D1 6, D2 6, D3 8; bonus 0) and the
    # meetings items: no meeting recorded at all → A3 4, B1 6, B2 4, B3 6, C1 6, C6 4 (B4: no
    # returned record, full) = 27.10
    meetings = 4 + 6 + 4 + 6 + 6 + 4
    expected = D(100) - (4 + 4 + 4 + 4) - (D("0.9") + 1 + 1) - (4 + 6 + 6 + 8) - meetings
    assert expected == D("27.1")
    assert a.self_total == expected

    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.REVIEW)
    with pytest.raises(ValidationError, match="还有"):
        svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.PUBLISHED)
    d3 = Indicator.objects.get(template=branch_template, code="D3")
    with pytest.raises(ValidationError):  # an adjustment needs a reason
        svc.assessment_review(actor=county_staff, assessment=a, adjustments={d3.pk: {"points": 6}})
    svc.assessment_review(
        actor=county_staff,
        assessment=a,
        adjustments={d3.pk: {"points": 6, "reason": "台账基本齐全"}},
        comment="",
    )
    a.refresh_from_db()
    assert a.final_score == expected + 6
    assert a.grade == Grade.POOR  # 33.10
    # the others: the reviewer scores every hand item in full
    for other in cycle.assessments.exclude(pk=a.pk):
        adjustments = {k: v | {"reason": "审核认定"} for k, v in fill_entries(other).items()}
        svc.assessment_review(actor=county_staff, assessment=other, adjustments=adjustments)
    b = cycle.assessments.get(org=tree.branch_b)
    c = cycle.assessments.get(org=tree.branch_c)
    # branch_b: hand items in full, bonus 13 capped at 10; no meetings recorded: A3 4, B1 3 (党员
    # 大会 and 党课 3 quarters each × 0.5; no 支委会 or 党小组 requirement: 1 member, no group),
    # B2 4, B3 6, C1 6, C6 4 → 110 − 27 = 83
    assert b.__class__.objects.get(pk=b.pk).final_score == D(83)
    # branch_c: its secretary left on 2025-09-30 → vacant 14 months at the cut-off: A1 −4 and
    # the V2 veto (> 12 months); the same meetings deductions as branch_b; its one member has no
    # study hours (C5 −4) → 75, grade 差
    c.refresh_from_db()
    assert c.vetoed and c.grade == Grade.POOR and c.final_score == D(75)

    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.PUBLISHED)
    stars = {s.org_id: s for s in StarRating.objects.filter(cycle=cycle)}
    # 3 branches → at most floor(0.3 × 3) = 0 five-star; b (83) has four; c is vetoed: 3 → 2
    assert stars[tree.branch_b.pk].stars == 4
    assert stars[tree.branch_c.pk].stars == 2 and stars[tree.branch_c.pk].by_score == 3
    assert stars[tree.branch_a.pk].stars == 1  # 33.10: below 60 → one star
    assert StarChange.objects.filter(rating__cycle=cycle).count() == 3


@time_machine.travel(TODAY, tick=False)
def test_phases_only_move_forward_and_only_for_the_superior(
    tree, users, county_staff, branch_template
):
    with pytest.raises(Http404):
        svc.cycle_open(actor=users.secretary, org=tree.county, year=2026)  # county not visible
    with pytest.raises(PermissionDenied):
        svc.cycle_open(actor=users.admin, org=tree.county, year=2026)  # visible, not a superior
    cycle = open_cycle(tree, county_staff, branch_template)
    with pytest.raises(ValidationError):
        svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.REVIEW)
    with pytest.raises(Http404):
        svc.cycle_advance(
            actor=users.staff, cycle=cycle, to_phase=CyclePhase.MIDTERM
        )  # staff of town_a only
    assert cycle.assessments.filter(kind=TemplateKind.BRANCH).count() == 3


def test_open_cycle_scope(tree, users, branch_template):
    with pytest.raises(Http404):
        svc.cycle_open(actor=users.outsider, org=tree.town_a, year=2026)
    with pytest.raises(ValidationError):
        svc.cycle_open(actor=users.staff, org=tree.branch_a, year=2026)
    cycle = svc.cycle_open(actor=users.staff, org=tree.town_a, year=2026)
    assert set(cycle.assessments.values_list("org_id", flat=True)) == {
        tree.branch_a.pk,
        tree.branch_b.pk,
    }
    with pytest.raises(ValidationError, match="已存在"):
        svc.cycle_open(actor=users.staff, org=tree.town_a, year=2026)


def test_template_copy_and_edit(users, branch_template):
    copy = svc.template_copy(
        actor=users.staff, template=branch_template, name="2027年机关支部考核", year=2027
    )
    assert copy.indicators.count() == branch_template.indicators.count()
    b1a = copy.indicators.get(code="B1a")
    assert b1a.parent.template_id == copy.pk and b1a.parent.code == "B1"
    svc.indicator_update(actor=users.staff, indicator=b1a, params={"per": 2, "floor": 0})
    b1a.refresh_from_db()
    assert b1a.params == {"per": "2", "floor": "0"}  # stored as decimal strings
    with pytest.raises(ValidationError):
        svc.indicator_update(
            actor=users.staff, indicator=branch_template.indicators.get(code="B1a"), params={}
        )
    with pytest.raises(PermissionDenied):
        svc.template_copy(actor=users.secretary, template=branch_template, name="x")
