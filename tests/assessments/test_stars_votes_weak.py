"""评星定级 caps and ties, 述职评议 voting rules, 软弱涣散 screening and rectification."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from apps.accounts.models import Role
from apps.assessments import services as svc
from apps.assessments.models import (
    Assessment,
    AssessmentState,
    CyclePhase,
    EvaluatorGroup,
    Grade,
    ProblemOrigin,
    ProblemState,
    StarChange,
    StarRating,
    Vote,
)
from apps.assessments.selectors import weak_org_candidates
from apps.core.rules import rule_set
from apps.members.models import MemberStatus
from apps.organizations.models import CommitteePosition, Position, Term
from tests.factories import MemberFactory, make_org, make_user

D = Decimal


def rows(*scores, capped=()):
    return [
        {
            "org_id": i,
            "path": f"{i:04d}",
            "score": D(s),
            "capped": "一票否决" if i in capped else "",
        }
        for i, s in enumerate(scores)
    ]


def stars_of(plan):
    return {r["org_id"]: r["stars"] for r in plan}


@pytest.mark.django_db
def test_five_star_cap_is_30_percent_of_rated_branches_by_score():
    # 10 branches: at most 3 five-star; the four ≥ 90 are ranked and the lowest drops to four
    plan = svc.star_plan(
        rows(99, 95, 93, 91, 85, 75, 65, 55, 92.5, 30), ratio=D("0.3"), capped_max=2
    )
    s = stars_of(plan)
    assert [s[i] for i in (0, 1, 2)] == [5, 5, 5]
    assert s[8] == 4 and s[3] == 4  # 92.5 and 91 are outside the top 3
    assert (s[4], s[5], s[6], s[7], s[9]) == (4, 3, 2, 1, 1)
    assert {r["org_id"]: r["rank"] for r in plan}[0] == 1


@pytest.mark.django_db
def test_a_tie_straddling_the_cap_leaves_the_whole_tie_out():
    # 10 branches, cap 3: 98 takes one place, the three 95s would make four → all three get four stars
    s = stars_of(
        svc.star_plan(rows(98, 95, 95, 95, 80, 80, 80, 80, 80, 80), ratio=D("0.3"), capped_max=2)
    )
    assert s[0] == 5 and (s[1], s[2], s[3]) == (4, 4, 4)
    # a tie that fits is admitted whole
    s = stars_of(
        svc.star_plan(rows(98, 95, 95, 70, 80, 80, 80, 80, 80, 80), ratio=D("0.3"), capped_max=2)
    )
    assert (s[0], s[1], s[2]) == (5, 5, 5)


@pytest.mark.django_db
def test_vetoed_or_weak_branches_take_no_five_star_place_and_stay_below_three():
    plan = svc.star_plan(
        rows(99, 98, 97, 96, 50, 50, 50, 50, 50, 50),
        ratio=D("0.3"),
        capped_max=2,
    )
    assert sum(1 for r in plan if r["stars"] == 5) == 3
    plan = svc.star_plan(
        rows(99, 98, 97, 96, 50, 50, 50, 50, 50, 50, capped={0}), ratio=D("0.3"), capped_max=2
    )
    s = stars_of(plan)
    assert s[0] == 2 and (s[1], s[2], s[3]) == (5, 5, 5)


def finished_cycle(tree, staff, template):
    """A 2026 cycle with every branch reviewed, every item in full (secretaries in office; the
    reviewer raises the automatic items the branches lose for lack of meeting records)."""
    for branch in (tree.branch_a, tree.branch_b, tree.branch_c):
        CommitteePosition.objects.create(
            org=branch,
            member=MemberFactory(branch=branch),
            position=Position.SECRETARY,
            started_on=dt.date(2019, 1, 1),
        )
    cycle = svc.cycle_open(actor=staff, org=tree.county, year=2026, branch_template=template)
    for phase in (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT, CyclePhase.REVIEW):
        svc.cycle_advance(actor=staff, cycle=cycle, to_phase=phase)
    for a in cycle.assessments.all():
        card = svc.card_for(a)
        adjustments = {
            line.indicator.pk: {"points": line.indicator.max_points, "reason": "认定"}
            for line in card.lines
            if not line.is_group and not line.is_veto and line.points != line.max_points
        }
        svc.assessment_review(actor=staff, assessment=a, adjustments=adjustments)
    return cycle


@time_machine.travel(dt.datetime(2026, 12, 20, 10, tzinfo=dt.UTC), tick=False)
def test_weak_designation_caps_existing_stars_and_star_changes_keep_reasons(
    tree, county_staff, branch_template
):
    rule_set(key="assessments.five_star_ratio", value="1")
    cycle = finished_cycle(tree, county_staff, branch_template)
    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.PUBLISHED)
    rating = StarRating.objects.get(cycle=cycle, org=tree.branch_b)
    assert rating.stars == 5
    svc.weak_org_designate(actor=county_staff, org=tree.branch_b, year=2026, reasons=["班子不团结"])
    rating.refresh_from_db()
    assert rating.stars == 2 and rating.changes.last().reason.startswith("认定为软弱涣散")
    with pytest.raises(ValidationError):
        svc.star_change(actor=county_staff, rating=rating, stars=3, reason="整改到位")
    other = StarRating.objects.get(cycle=cycle, org=tree.branch_a)
    svc.star_change(actor=county_staff, rating=other, stars=4, reason="年中发生负面事件，降一星")
    assert StarChange.objects.filter(rating=other).values_list("from_stars", "to_stars").last() == (
        5,
        4,
    )
    with pytest.raises(ValidationError):
        svc.star_change(actor=county_staff, rating=other, stars=3, reason="")


@time_machine.travel(dt.datetime(2026, 12, 20, 10, tzinfo=dt.UTC), tick=False)
def test_appeal_recorded_with_outcome_and_restars(tree, users, county_staff, branch_template):
    cycle = finished_cycle(tree, county_staff, branch_template)
    with pytest.raises(ValidationError):
        svc.appeal_submit(
            actor=users.secretary, assessment=cycle.assessments.get(org=tree.branch_a), reason="x"
        )
    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.PUBLISHED)
    a = cycle.assessments.get(org=tree.branch_a)
    appeal = svc.appeal_submit(
        actor=users.secretary, assessment=a, reason="书记已于9月到任，空缺认定有误"
    )
    with pytest.raises(ValidationError):
        svc.appeal_submit(actor=users.secretary, assessment=a, reason="再次申诉")
    with pytest.raises(PermissionDenied):  # the branch may appeal, not decide
        svc.appeal_decide(
            actor=users.secretary, appeal=appeal, outcome="upheld", response="x", score_after=90
        )
    with pytest.raises(Http404):
        svc.appeal_decide(
            actor=users.outsider, appeal=appeal, outcome="upheld", response="x", score_after=90
        )
    with pytest.raises(ValidationError):
        svc.appeal_decide(
            actor=county_staff, appeal=appeal, outcome="upheld", response="核实", score_after=None
        )
    svc.appeal_decide(
        actor=county_staff,
        appeal=appeal,
        outcome="upheld",
        response="经核实予以调整",
        score_after="79.5",
    )
    a.refresh_from_db()
    assert a.final_score == D("79.5") and a.grade == Grade.AVERAGE
    assert StarRating.objects.get(cycle=cycle, org=tree.branch_a).stars == 3
    assert StarChange.objects.filter(
        rating__org=tree.branch_a, reason__startswith="申诉成立"
    ).exists()


@pytest.fixture
def voting(tree, users, county_staff, branch_template, secretary_template):
    cycle = svc.cycle_open(
        actor=users.staff,
        org=tree.town_a,
        year=2026,
        branch_template=branch_template,
        secretary_template=secretary_template,
    )
    report = svc.duty_report_submit(
        actor=users.secretary, cycle=cycle, org=tree.branch_a, content="一年来……"
    )
    for phase in (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT):  # 述职评议 is open
        svc.cycle_advance(
            actor=users.staff, cycle=cycle, to_phase=phase, cutoff=dt.date(2026, 1, 1)
        )
    committee = [make_user(Role.ORG_STAFF, tree.town_a, username=f"wy{i}") for i in range(3)]
    reps = [make_user(Role.MEMBER, tree.branch_b, username=f"db{i}") for i in range(2)]
    for u in committee:
        svc.evaluator_add(actor=users.staff, cycle=cycle, user=u, group=EvaluatorGroup.COMMITTEE)
    for u in reps:
        svc.evaluator_add(
            actor=users.staff, cycle=cycle, user=u, group=EvaluatorGroup.REPRESENTATIVE
        )
    return cycle, report, committee, reps


def test_votes_aggregate_with_group_weights_into_a_grade(users, voting):
    _cycle, report, committee, reps = voting
    for u, choice in zip(committee, ["good", "good", "fairly_good"], strict=True):
        svc.vote_cast(actor=u, report=report, choice=choice)
    for u, choice in zip(reps, ["average", "poor"], strict=True):
        svc.vote_cast(actor=u, report=report, choice=choice)
    report.refresh_from_db()
    # committee mean (100+100+80)/3 = 93.333…, representatives (60+0)/2 = 30; weights 70/30
    expected = (D(280) / 3 * 70 + D(30) * 30) / 100
    assert report.score == expected.quantize(D("0.01"))  # 74.33
    assert report.grade == Grade.AVERAGE  # < 75 → 一般
    rule_set(
        key="assessments.duty_grade_thresholds",
        value={"good": 90, "fairly_good": 70, "average": 60},
    )
    assert svc.duty_aggregate([("committee", "good")]) == (D("100.00"), "good")


def test_each_evaluator_votes_once_and_only_evaluators_vote(users, voting):
    cycle, report, committee, _reps = voting
    svc.vote_cast(actor=committee[0], report=report, choice="good")
    with pytest.raises(ValidationError, match="只能投一次"):
        svc.vote_cast(actor=committee[0], report=report, choice="poor")
    with transaction.atomic(), pytest.raises(IntegrityError):
        Vote.objects.create(
            report=report, evaluator=cycle.evaluators.get(user=committee[0]), choice="poor"
        )
    with pytest.raises(PermissionDenied):  # sees the branch, is not an evaluator
        svc.vote_cast(actor=users.staff, report=report, choice="good")
    with pytest.raises(Http404):  # another subtree
        svc.vote_cast(actor=users.outsider, report=report, choice="good")
    with pytest.raises(ValidationError):
        svc.vote_cast(actor=committee[1], report=report, choice="excellent")
    with pytest.raises(ValidationError, match="评议已开始"):
        svc.duty_report_submit(
            actor=users.secretary, cycle=cycle, org=tree_branch(report), content="改"
        )


def tree_branch(report):
    return report.org


def test_problem_list_closes_only_with_evidence(tree, users, voting):
    from django.core.files.uploadedfile import SimpleUploadedFile

    cycle, _report, *_ = voting
    problem = svc.problem_raise(
        actor=users.staff,
        cycle=cycle,
        org=tree.branch_a,
        origin=ProblemOrigin.DUTY_REVIEW,
        description="主题党日形式单一",
    )
    with pytest.raises(PermissionDenied):
        svc.problem_raise(
            actor=users.secretary, cycle=cycle, org=tree.branch_a, origin="midterm", description="x"
        )
    svc.problem_progress_add(actor=users.secretary, problem=problem, note="已制定计划")
    problem.refresh_from_db()
    assert problem.state == ProblemState.RECTIFYING
    with pytest.raises(ValidationError, match="佐证"):
        svc.problem_close(actor=users.staff, problem=problem)
    svc.problem_progress_add(
        actor=users.secretary,
        problem=problem,
        note="已整改",
        file=SimpleUploadedFile("zg.pdf", b"%PDF-1.4"),
    )
    with pytest.raises(PermissionDenied):
        svc.problem_close(actor=users.secretary, problem=problem)
    svc.problem_close(actor=users.staff, problem=problem)
    problem.refresh_from_db()
    assert problem.state == ProblemState.CLOSED


@time_machine.travel(dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC), tick=False)
def test_weak_org_candidates_from_data(tree, users, county_staff):
    # branch_a: secretary left 2026-02-28 → 4 months open vacancy (> 3); developed nobody since 2024
    m = MemberFactory(branch=tree.branch_a)
    CommitteePosition.objects.create(
        org=tree.branch_a,
        member=m,
        position=Position.SECRETARY,
        started_on=dt.date(2019, 1, 1),
        ended_on=dt.date(2026, 2, 28),
    )
    # branch_b: secretary in office, developed a member in 2025, term overdue since 2026-03-01
    mb = MemberFactory(branch=tree.branch_b)
    CommitteePosition.objects.create(
        org=tree.branch_b, member=mb, position=Position.SECRETARY, started_on=dt.date(2019, 1, 1)
    )
    MemberFactory(
        branch=tree.branch_b, status=MemberStatus.PROBATIONARY, joined_on=dt.date(2025, 5, 1)
    )
    Term.objects.create(
        org=tree.branch_b,
        number=1,
        elected_on=dt.date(2021, 3, 1),
        term_years=5,
        ends_on=dt.date(2026, 3, 1),
    )
    # branch_c (other subtree) is outside the town_a staff's scope
    found = {c.org.pk: c for c in weak_org_candidates(users.staff, tree.town_a)}
    assert set(found) == {tree.branch_a.pk, tree.branch_b.pk}
    assert any("书记空缺超过3个月" in r for r in found[tree.branch_a.pk].reasons)
    assert any("连续2年未发展党员" in r for r in found[tree.branch_a.pk].reasons)
    # no meeting recorded in any of the four quarters before the cut-off
    assert found[tree.branch_b.pk].reasons == [
        "未按期换届（逾期3个月）",
        "“三会一课”整季度未开展（2025年第3季度、2025年第4季度、2026年第1季度、2026年第2季度）",
    ]
    # a 3-month vacancy is not over 3
    with time_machine.travel(dt.datetime(2026, 5, 28, 10, tzinfo=dt.UTC), tick=False):
        found = {c.org.pk: c for c in weak_org_candidates(users.staff, tree.town_a)}
        assert not any("书记空缺" in r for r in found[tree.branch_a.pk].reasons)
    # a branch founded less than two years ago is not flagged for development
    young = make_org(tree.town_a, name="新建支部", founded_on=dt.date(2025, 9, 1))
    mm = MemberFactory(branch=young)
    CommitteePosition.objects.create(
        org=young, member=mm, position=Position.SECRETARY, started_on=dt.date(2025, 9, 1)
    )
    found = {c.org.pk: c for c in weak_org_candidates(users.staff, tree.town_a)}
    assert not any("未发展党员" in r for r in found[young.pk].reasons)  # only its missing meetings


def test_weak_org_rectification_to_closure(tree, users):
    weak = svc.weak_org_designate(
        actor=users.staff,
        org=tree.branch_a,
        year=2026,
        reasons=["书记空缺超过3个月"],
        plan="选派第一书记",
        leader="张三",
    )
    with pytest.raises(ValidationError):
        svc.weak_org_designate(actor=users.staff, org=tree.branch_a, year=2026, reasons=["重复"])
    with pytest.raises(ValidationError, match="进展"):
        svc.weak_org_close(actor=users.staff, weak_org=weak, review="验收合格")
    svc.weak_org_progress_add(actor=users.secretary, weak_org=weak, note="已配齐书记")
    with pytest.raises(PermissionDenied):
        svc.weak_org_close(actor=users.secretary, weak_org=weak, review="验收合格")
    svc.weak_org_close(actor=users.staff, weak_org=weak, review="验收合格，予以销号")
    weak.refresh_from_db()
    assert weak.state == "closed"
    with pytest.raises(ValidationError):
        svc.weak_org_progress_add(actor=users.secretary, weak_org=weak, note="又一条")


def test_self_assessment_only_in_its_phase_and_by_the_branch(tree, users, branch_template):
    cycle = svc.cycle_open(
        actor=users.staff, org=tree.town_a, year=2026, branch_template=branch_template
    )
    a = Assessment.objects.get(cycle=cycle, org=tree.branch_a)
    with pytest.raises(ValidationError, match="自评阶段"):
        svc.assessment_self_assess(actor=users.secretary, assessment=a, entries={})
    for phase in (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT):
        svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=phase)
    d1 = branch_template.indicators.get(code="D1")
    with pytest.raises(PermissionDenied):
        svc.assessment_self_assess(actor=users.member, assessment=a, entries={})
    with pytest.raises(ValidationError):
        svc.assessment_self_assess(
            actor=users.secretary, assessment=a, entries={d1.pk: {"points": 7}}
        )  # max 6
    svc.assessment_self_assess(
        actor=users.committee, assessment=a, entries={d1.pk: {"points": "5.5"}}
    )
    a.refresh_from_db()
    assert a.state == AssessmentState.OPEN and a.scores.get(indicator=d1).self_points == D("5.5")
