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
