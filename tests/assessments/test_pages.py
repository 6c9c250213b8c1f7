"""The pages: each renders for the owner, is 403 for the read-only member and 404 outside."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.accounts.models import Role
from apps.assessments import services as svc
from apps.assessments.models import CyclePhase, Vote
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def world(tree, users, branch_template, secretary_template):
    cycle = svc.cycle_open(
        actor=users.staff,
        org=tree.town_a,
        year=2026,
        branch_template=branch_template,
        secretary_template=secretary_template,
    )
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
    card = cycle.assessments.get(org=tree.branch_a, kind="branch")
    report = svc.duty_report_submit(
        actor=users.secretary, cycle=cycle, org=tree.branch_a, content="述职内容"
    )
    evaluator = make_user(Role.MEMBER, tree.branch_b, username="rep")
    svc.evaluator_add(actor=users.staff, cycle=cycle, user=evaluator, group="representative")
    weak = svc.weak_org_designate(
        actor=users.staff, org=tree.branch_a, year=2026, reasons=["书记空缺"]
    )
    problem = svc.problem_raise(
        actor=users.staff, cycle=cycle, org=tree.branch_a, origin="midterm", description="问题"
    )
    return cycle, card, report, evaluator, weak, problem


def urls(world):
    cycle, card, report, _, weak, problem = world
    return [
        "/assessments/",
        f"/assessments/cycles/{cycle.pk}/",
        f"/assessments/scorecards/{card.pk}/",
        f"/assessments/duty-reports/{report.pk}/",
        "/assessments/weak/",
        f"/assessments/weak/{weak.pk}/",
        f"/assessments/problems/{problem.pk}/",
        f"/assessments/templates/{cycle.branch_template_id}/",
    ]


def test_pages_render_for_secretary_and_superior(client_for, users, world):
    for user in (users.secretary, users.staff):
        client = client_for(user)
        for url in urls(world):
            response = client.get(url)
            assert response.status_code == 200, (user, url)
    body = (
        client_for(users.secretary).get(f"/assessments/scorecards/{world[1].pk}/").content.decode()
    )
    assert "失分明细" in body and "全部指标" in body


def test_outsider_gets_404_and_member_403(client_for, users, world):
    _cycle, card, report, _, weak, problem = world
    outsider = client_for(users.outsider)
    for url in urls(world)[1:4] + urls(world)[5:7]:
        assert outsider.get(url).status_code == 404, url
    member = client_for(users.member)
    for url in (
        f"/assessments/scorecards/{card.pk}/",
        f"/assessments/weak/{weak.pk}/",
        f"/assessments/problems/{problem.pk}/",
        f"/assessments/duty-reports/{report.pk}/",
    ):
        assert member.get(url).status_code == 403, url


def test_evaluator_votes_once_on_the_phone_page(client_for, users, world):
    cycle, _card, report, evaluator, *_ = world
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=CyclePhase.SELF_ASSESSMENT)
    client = client_for(evaluator)
    page = client.get(f"/assessments/duty-reports/{report.pk}/").content.decode()
    assert "每人只能投一次" in page and "较好" in page
    client.post(f"/assessments/duty-reports/{report.pk}/vote/", {"choice": "fairly_good"})
    response = client.post(
        f"/assessments/duty-reports/{report.pk}/vote/", {"choice": "good"}, follow=True
    )
    assert "只能投一次" in response.content.decode()
    assert list(Vote.objects.values_list("choice", flat=True)) == ["fairly_good"]
    # a user who sees the branch but was not chosen cannot vote
    assert (
        client_for(users.staff)
        .post(f"/assessments/duty-reports/{report.pk}/vote/", {"choice": "good"})
        .status_code
        == 403
    )
    assert (
        client_for(users.outsider)
        .post(f"/assessments/duty-reports/{report.pk}/vote/", {"choice": "good"})
        .status_code
        == 404
    )


def test_superior_runs_the_cycle_in_the_browser(client_for, users, world):
    cycle = world[0]
    staff = client_for(users.staff)
    response = staff.post(
        f"/assessments/cycles/{cycle.pk}/advance/", {"to_phase": "review"}, follow=True
    )
    assert "只能进入下一阶段" in response.content.decode()
    staff.post(
        f"/assessments/cycles/{cycle.pk}/advance/",
        {"to_phase": "self_assessment", "cutoff": "2026-11-30"},
    )
    cycle.refresh_from_db()
    assert cycle.phase == CyclePhase.SELF_ASSESSMENT
    # the secretary saves a self-assessment with a bad number: message, nothing saved
    card = world[1]
    d1 = cycle.branch_template.indicators.get(code="D1")
    sec = client_for(users.secretary)
    response = sec.post(
        f"/assessments/scorecards/{card.pk}/self/",
        {f"points_{d1.pk}": "99", "submit": "0"},
        follow=True,
    )
    assert "不能大于" in response.content.decode()
    assert not card.scores.exists()
    sec.post(f"/assessments/scorecards/{card.pk}/self/", {f"points_{d1.pk}": "5", "submit": "0"})
    assert card.scores.get(indicator=d1).self_points == 5


def test_too_long_a_leader_or_category_is_a_message_not_an_error(world, users, client_for):
    from apps.assessments.models import Template

    _cycle, _card, _report, _, weak, _problem = world
    response = client_for(users.staff).post(
        f"/assessments/weak/{weak.pk}/plan/",
        {"plan": "整顿方案", "leader": "张" * 61},
        follow=True,
    )
    assert response.status_code == 200 and "不能超过60个字" in response.content.decode()
    weak.refresh_from_db()
    assert weak.leader == ""
    template = Template.objects.get(pk=_cycle.branch_template_id)
    with pytest.raises(ValidationError, match="不能超过32个字"):
        svc.template_copy(actor=users.staff, template=template, name="副本", category="类" * 33)


def test_weak_org_plan_through_the_api(world, users, api_for):
    *_, weak, _problem = world
    url = f"/api/v1/assessments/weak-orgs/{weak.pk}/"
    bad = api_for(users.staff).patch(url, {"plan": "方案", "leader": "张" * 61}, format="json")
    assert bad.status_code == 400 and "不能超过60个字" in bad.json()["leader"][0]
    ok = api_for(users.staff).patch(
        url, {"plan": "选派第一书记", "leader": "王副书记"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["leader"] == "王副书记"
    assert (
        api_for(users.secretary).patch(url, {"plan": "x", "leader": "y"}, format="json").status_code
        == 403
    )
    assert (
        api_for(users.outsider).patch(url, {"plan": "x", "leader": "y"}, format="json").status_code
        == 404
    )
