"""出国（境）and 失联 start dates from the record form and the API (the prompts count from them)."""

import datetime as dt

import pytest
import time_machine

from apps.members import services
from apps.members.models import ManagementStatus, PendingKind
from apps.members.models import MemberStatus as S
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 15, 10, 0), tick=False):
        yield


def _form(m, **extra):
    data = {
        "name": m.name,
        "gender": m.gender,
        "ethnicity": "汉族",
        "management_status": "employed",
        "joined_on": "2010-01-01",
        "confirmed_on": "2011-01-01",
    }
    data.update(extra)
    return data


def _member(tree):
    return MemberFactory(
        branch=tree.branch_a,
        status=S.FULL,
        joined_on=dt.date(2010, 1, 1),
        confirmed_on=dt.date(2011, 1, 1),
        status_since=dt.date(2011, 1, 1),
    )


def test_abroad_needs_its_date_on_the_form(users, client_for, tree):
    m = _member(tree)
    c = client_for(users.secretary)
    assert "出国（境）日期" in c.get(f"/members/{m.pk}/edit/").content.decode()
    r = c.post(f"/members/{m.pk}/edit/", _form(m, management_status="abroad"))
    assert r.status_code == 400 and "请填写出国（境）日期" in r.content.decode()
    m.refresh_from_db()
    assert m.management_status == ManagementStatus.EMPLOYED
    r = c.post(
        f"/members/{m.pk}/edit/", _form(m, management_status="abroad", abroad_since="2021-06-01")
    )
    assert r.status_code == 302
    m.refresh_from_db()
    assert m.abroad_since == dt.date(2021, 6, 1)
    services.lifecycle_prompts_sweep()
    assert m.pending_items.filter(kind=PendingKind.ABROAD_PROMPT).exists()


def test_lost_contact_date_from_the_form_raises_the_prompt(users, client_for, tree):
    m = _member(tree)
    c = client_for(users.secretary)
    r = c.post(f"/members/{m.pk}/edit/", _form(m, management_status="lost_contact"))
    assert r.status_code == 400 and "请填写失联起始日期" in r.content.decode()
    r = c.post(
        f"/members/{m.pk}/edit/",
        _form(m, management_status="lost_contact", lost_contact_since="2026-07-01"),
    )
    assert r.status_code == 400 and "日期不能晚于今天" in r.content.decode()
    r = c.post(
        f"/members/{m.pk}/edit/",
        _form(m, management_status="lost_contact", lost_contact_since="2025-12-15"),
    )
    assert r.status_code == 302
    services.lifecycle_prompts_sweep()
    assert m.pending_items.filter(kind=PendingKind.SUSPEND_PROMPT).exists()


def test_api_status_dates(users, api_for, tree):
    m = _member(tree)
    api = api_for(users.secretary)
    r = api.patch(f"/api/v1/members/{m.pk}/", {"management_status": "abroad"}, format="json")
    assert r.status_code == 400 and "出国（境）日期" in r.json()["abroad_since"][0]
    r = api.patch(
        f"/api/v1/members/{m.pk}/",
        {"management_status": "lost_contact"},
        format="json",
    )
    assert r.status_code == 400 and "失联起始日期" in r.json()["lost_contact_since"][0]
    r = api.patch(
        f"/api/v1/members/{m.pk}/",
        {"management_status": "abroad", "abroad_since": "2020-01-01"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["abroad_since"] == "2020-01-01"
    r = api.post(
        "/api/v1/members/",
        {
            "branch": tree.branch_a.pk,
            "name": "赵六",
            "gender": "male",
            "management_status": "abroad",
        },
        format="json",
    )
    assert r.status_code == 400 and "abroad_since" in r.json()
