"""Review findings: scope of evaluators and templates, bad input, voting, overlapping cycles,
manual star changes, appeals and closing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages

from apps.accounts.models import Role
from apps.assessments import services as svc
from apps.assessments.models import Evaluator
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def cycle(tree, users, branch_template):
    return svc.cycle_open(
        actor=users.staff, org=tree.town_a, year=2026, branch_template=branch_template
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- 1. evaluators come from the cycle's subtree --------------------------------------------


def test_evaluator_outside_the_cycle_subtree_is_not_found_in_page_and_api(
    tree, users, cycle, client_for, api_for
):
    page = client_for(users.staff)
    url = f"/assessments/cycles/{cycle.pk}/evaluator/"
    for username in ("outsider", "no-such-user", "admin"):  # admin holds the county, above
        response = page.post(url, {"username": username, "group": "committee"})
        assert response.status_code == 302
        assert "未找到该用户。" in _messages(response)
    api = api_for(users.staff)
    api_url = f"/api/v1/assessments/cycles/{cycle.pk}/evaluators/"
    for pk in (users.outsider.pk, 999999, users.admin.pk):
        response = api.post(api_url, {"user": pk, "group": "committee"}, format="json")
        assert response.status_code == 400
        assert response.json()["user"] == ["未找到该用户。"]
    assert not Evaluator.objects.filter(cycle=cycle).exists()
    # inside the subtree: a member of branch_b, by page; the committee member, by API
    rep = make_user(Role.MEMBER, tree.branch_b, username="rep")
    page.post(url, {"username": "rep", "group": "representative"})
    response = api.post(api_url, {"user": users.committee.pk, "group": "committee"}, format="json")
    assert response.status_code == 201
    assert set(Evaluator.objects.filter(cycle=cycle).values_list("user_id", flat=True)) == {
        rep.pk,
        users.committee.pk,
    }


def test_evaluator_add_service_refuses_an_outsider(users, cycle):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="未找到该用户"):
        svc.evaluator_add(actor=users.staff, cycle=cycle, user=users.outsider, group="committee")


# --- 2. copied templates belong to an org ----------------------------------------------------


def test_copied_template_belongs_to_the_copier_org_and_is_404_elsewhere(
    tree, users, county_staff, branch_template, client_for, api_for
):
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import Http404

    copy = svc.template_copy(actor=users.staff, template=branch_template, name="甲镇模板")
    assert copy.org == tree.town_a
    other = make_user(Role.ORG_STAFF, tree.town_b, username="town_b_staff")
    ind = copy.indicators.get(code="D1")
    # another subtree's superior: list without it, page and API 404, services 404
    ids = [t["id"] for t in api_for(other).get("/api/v1/assessments/templates/").json()]
    assert copy.pk not in ids and branch_template.pk in ids
    assert client_for(other).get(f"/assessments/templates/{copy.pk}/").status_code == 404
    response = client_for(other).post(
        f"/assessments/templates/{copy.pk}/update/", {"name": "改", "bonus_cap": "5"}
    )
    assert response.status_code == 404
    api = api_for(other)
    assert api.get(f"/api/v1/assessments/templates/{copy.pk}/").status_code == 404
    assert (
        api.patch(
            f"/api/v1/assessments/indicators/{ind.pk}/", {"max_points": "5"}, format="json"
        ).status_code
        == 404
    )
    with pytest.raises(Http404):
        svc.template_update(actor=other, template=copy, name="改", bonus_cap="5")
    with pytest.raises(Http404):
        svc.template_copy(actor=other, template=copy, name="再复制")
    with pytest.raises(ValidationError, match="未找到该模板"):
        svc.cycle_open(actor=other, org=tree.town_b, year=2026, branch_template=copy)
    # the branch below sees it (its superior's rules) but may not edit it
    assert client_for(users.secretary).get(f"/assessments/templates/{copy.pk}/").status_code == 200
    with pytest.raises(PermissionDenied):
        svc.template_update(actor=users.secretary, template=copy, name="改", bonus_cap="5")
    # the county above edits it; the defaults stay read-only for everyone
    svc.template_update(actor=county_staff, template=copy, name="县审定", bonus_cap="8")
    copy.refresh_from_db()
    assert copy.name == "县审定"
    with pytest.raises(ValidationError, match="系统默认模板"):
        svc.template_update(actor=other, template=branch_template, name="改", bonus_cap="5")
    # a copy made by town_b belongs to town_b
    mine = svc.template_copy(actor=other, template=branch_template, name="乙镇模板")
    assert mine.org == tree.town_b
    assert client_for(users.staff).get(f"/assessments/templates/{mine.pk}/").status_code == 404


# --- 3. bad input is a Chinese message (page) or a 400 with field errors (API), never a 500 ---


def test_bad_ids_and_years_in_pages_are_messages_or_404(
    tree, users, cycle, branch_template, client_for
):
    page = client_for(users.staff)
    copy = svc.template_copy(actor=users.staff, template=branch_template, name="副本")
    card = cycle.assessments.get(org=tree.branch_a, kind="branch")
    for url, data in (
        (f"/assessments/scorecards/{card.pk}/decide/", {"appeal": "abc"}),
        (f"/assessments/templates/{copy.pk}/add/", {"parent": "x", "code": "Z"}),
        (f"/assessments/templates/{copy.pk}/indicator/", {"indicator": "1e9"}),
        (f"/assessments/templates/{copy.pk}/delete/", {"indicator": "99999999999999999999999"}),
    ):
        assert page.post(url, data).status_code == 404, url
    cases = [
        ("/assessments/weak/designate/", {"org": tree.branch_a.pk, "year": "abc"}, "四位数字"),
        ("/assessments/weak/designate/", {"org": tree.branch_a.pk, "year": "70000"}, "2000–2100"),
        (
            "/assessments/cycles/new/",
            {"org": tree.town_a.pk, "year": "99999", "branch_template": "x"},
            "未找到该模板",
        ),
        ("/assessments/cycles/new/", {"org": tree.town_a.pk, "year": "99999"}, "2000–2100"),
        (
            f"/assessments/templates/{branch_template.pk}/copy/",
            {"name": "新模板", "year": "40000"},
            "2000–2100",
        ),
    ]
    for url, data, message in cases:
        data["reasons"] = ["书记空缺"]
        response = page.post(url, data)
        assert response.status_code == 302, url
        assert any(message in m for m in _messages(response)), (url, _messages(response))
    from apps.assessments.models import Template, WeakOrg

    assert not WeakOrg.objects.exists()
    assert not Template.objects.filter(name="新模板").exists()


def test_bad_years_in_the_api_are_400_with_field_errors(tree, users, branch_template, api_for):
    api = api_for(users.staff)
    for url, data in (
        ("/api/v1/assessments/cycles/", {"org": tree.town_a.pk, "year": 99999}),
        (f"/api/v1/assessments/templates/{branch_template.pk}/copy/", {"name": "x", "year": 70000}),
        (
            "/api/v1/assessments/weak-orgs/",
            {"org": tree.branch_a.pk, "year": 40000, "reasons": ["书记空缺"]},
        ),
    ):
        response = api.post(url, data, format="json")
        assert response.status_code == 400, url
        assert "year" in response.json(), url


def test_weak_designation_service_checks_the_year(tree, users):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="2000–2100"):
        svc.weak_org_designate(actor=users.staff, org=tree.branch_a, year=40000, reasons=["空缺"])
    with pytest.raises(ValidationError, match="四位数字"):
        svc.weak_org_designate(actor=users.staff, org=tree.branch_a, year="二〇二六", reasons=["a"])


# --- 4. no vote on one's own report; votes only while 述职评议 is open ----------------------


def test_votes_only_in_the_review_phases_and_never_on_ones_own_report(
    tree, users, branch_template, secretary_template, api_for
):
    from django.core.exceptions import ValidationError

    from apps.assessments.models import CyclePhase
    from apps.assessments.selectors import reports_to_vote

    cycle = svc.cycle_open(
        actor=users.staff,
        org=tree.town_a,
        year=2026,
        branch_template=branch_template,
        secretary_template=secretary_template,
    )
    own = svc.duty_report_submit(
        actor=users.secretary, cycle=cycle, org=tree.branch_a, content="本支部述职"
    )
    other_secretary = make_user(Role.SECRETARY, tree.branch_b, username="sec_b")
    other = svc.duty_report_submit(
        actor=other_secretary, cycle=cycle, org=tree.branch_b, content="乙村述职"
    )
    svc.evaluator_add(actor=users.staff, cycle=cycle, user=users.secretary, group="committee")
    with pytest.raises(ValidationError, match="年终自评"):  # 年初部署: not open yet
        svc.vote_cast(actor=users.secretary, report=other, choice="good")
    assert reports_to_vote(users.secretary) == []
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=CyclePhase.SELF_ASSESSMENT)
    with pytest.raises(ValidationError, match="本人"):
        svc.vote_cast(actor=users.secretary, report=own, choice="good")
    response = api_for(users.secretary).post(
        f"/api/v1/assessments/duty-reports/{own.pk}/vote/", {"choice": "good"}, format="json"
    )
    assert response.status_code == 400 and "本人" in str(response.json())
    assert [r.pk for r in reports_to_vote(users.secretary)] == [other.pk]
    svc.vote_cast(actor=users.secretary, report=other, choice="fairly_good")
    assert own.votes.count() == 0 and other.votes.count() == 1


# --- 5. cycles may not overlap ---------------------------------------------------------------


def test_a_cycle_overlapping_an_ancestor_or_descendant_cycle_is_refused(
    tree, users, county_staff, cycle, branch_template
):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="下级党组织“甲镇党委”已发起2026年度"):
        svc.cycle_open(actor=county_staff, org=tree.county, year=2026)
    svc.cycle_open(actor=county_staff, org=tree.town_b, year=2026)  # a sibling subtree
    svc.cycle_open(actor=county_staff, org=tree.county, year=2027)
    with pytest.raises(ValidationError, match="上级党组织“测试县委”已发起2027年度"):
        svc.cycle_open(actor=users.staff, org=tree.town_a, year=2027)
    with pytest.raises(ValidationError, match="已存在"):
        svc.cycle_open(actor=users.staff, org=tree.town_a, year=2026)


# --- 6, 7. stars keep manual changes; no closing with an appeal pending ---------------------


@pytest.fixture
def published(tree, users, county_staff, branch_template):
    from apps.assessments.models import CyclePhase
    from tests.assessments.test_stars_votes_weak import finished_cycle

    cycle = finished_cycle(tree, county_staff, branch_template)
    svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.PUBLISHED)
    return cycle


def test_recomputing_stars_keeps_manual_star_changes(tree, users, county_staff, published):
    from decimal import Decimal

    from apps.assessments.models import AppealOutcome, StarRating

    def stars():
        return dict(StarRating.objects.filter(cycle=published).values_list("org_id", "stars"))

    before = stars()
    b = StarRating.objects.get(cycle=published, org=tree.branch_b)
    target = 3 if b.stars != 3 else 2
    svc.star_change(actor=county_staff, rating=b, stars=target, reason="年中发现问题，动态降星")
    svc.stars_compute(actor=county_staff, cycle=published)
    assert stars() == before | {tree.branch_b.pk: target}
    appeal = svc.appeal_submit(
        actor=users.secretary,
        assessment=published.assessments.get(org=tree.branch_a),
        reason="得分有误",
    )
    svc.appeal_decide(
        actor=county_staff,
        appeal=appeal,
        outcome=AppealOutcome.UPHELD,
        response="核实后调整",
        score_after=Decimal("72"),
    )
    after = stars()
    assert after[tree.branch_b.pk] == target  # the manual change still holds
    assert after[tree.branch_a.pk] == 3  # 72 points → three stars by the thresholds
    b.refresh_from_db()
    assert [c.manual for c in b.changes.all()] == [False, True]


def test_no_closing_with_an_appeal_pending_and_no_decision_after_closing(
    tree, users, county_staff, published
):
    from django.core.exceptions import ValidationError

    from apps.assessments.models import Appeal, AppealOutcome, CyclePhase

    card = published.assessments.get(org=tree.branch_a)
    appeal = svc.appeal_submit(actor=users.secretary, assessment=card, reason="有误")
    with pytest.raises(ValidationError, match="1 项申诉未处理"):
        svc.cycle_advance(actor=county_staff, cycle=published, to_phase=CyclePhase.CLOSED)
    svc.appeal_decide(
        actor=county_staff, appeal=appeal, outcome=AppealOutcome.REJECTED, response="维持"
    )
    svc.cycle_advance(actor=county_staff, cycle=published, to_phase=CyclePhase.CLOSED)
    late = Appeal.objects.create(assessment=card, reason="归档后补交", submitted_by=users.secretary)
    with pytest.raises(ValidationError, match="归档"):
        svc.appeal_decide(
            actor=county_staff, appeal=late, outcome=AppealOutcome.REJECTED, response="维持"
        )
