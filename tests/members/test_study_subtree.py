"""Study hours for superiors: per branch across the subtree (page and API)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from apps.members import services
from apps.members.models import MemberStatus as S
from apps.members.selectors import study_subtree
from apps.organizations.models import CommitteePosition
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 7, 15, 10, 0), tick=False):
        yield


def _hours(m, hours, on=dt.date(2026, 3, 1)):
    services.study_record_add(actor=None, member=m, course="党课", held_on=on, hours=hours)


@pytest.fixture
def studied(tree, users):
    a1 = MemberFactory(branch=tree.branch_a, status=S.FULL)
    a2 = MemberFactory(branch=tree.branch_a, status=S.FULL)
    b1 = MemberFactory(branch=tree.branch_b, status=S.FULL)
    c1 = MemberFactory(branch=tree.branch_c, status=S.FULL)  # town_b: outside town_a
    CommitteePosition.objects.create(
        org=tree.branch_a, member=a2, position="secretary", started_on=dt.date(2024, 1, 1)
    )
    _hours(a1, Decimal("32"))
    _hours(a2, Decimal("40"))  # a secretary needs 56
    _hours(b1, Decimal("31.5"))
    _hours(b1, Decimal("8"), on=dt.date(2025, 12, 31))  # last year: not counted
    _hours(c1, Decimal("60"))
    return a1, a2, b1, c1


def test_subtree_rows_per_branch(tree, users, studied):
    rows = {r.branch: r for r in study_subtree(user=users.staff, org=tree.town_a, year=2026)}
    assert set(rows) == {tree.branch_a, tree.branch_b}
    a = rows[tree.branch_a]
    # the users fixture adds one ordinary member (0 hours) to branch_a
    assert (a.members, a.met, a.leaders, a.leaders_met) == (3, 1, 1, 0)
    assert a.hours == Decimal("72")
    b = rows[tree.branch_b]
    assert (b.members, b.met, b.hours, b.rate) == (1, 0, Decimal("31.5"), 0)


def test_study_page_for_a_committee_lists_its_branches(tree, users, client_for, studied):
    c = client_for(users.staff)
    html = c.get(f"/members/study/?branch={tree.town_a.pk}&year=2026").content.decode()
    assert "甲村党支部" in html and "乙村党支部" in html and "丙村党支部" not in html
    assert "班子成员达标" in html and "甲镇党委（各支部）" in html
    assert c.get(f"/members/study/?branch={tree.town_b.pk}").status_code == 404


def test_study_api_subtree(tree, users, api_for, studied):
    r = api_for(users.staff).get(f"/api/v1/members/study/?org={tree.town_a.pk}&year=2026")
    assert r.status_code == 200
    rows = {row["branch_name"]: row for row in r.json()}
    assert rows["乙村党支部"]["hours"] == "31.5" and rows["乙村党支部"]["met"] == 0
    r = api_for(users.staff).get(f"/api/v1/members/study/?org={tree.town_a.pk}&year=abc")
    assert r.status_code == 400 and "year" in r.json()
    r = api_for(users.staff).get(f"/api/v1/members/study/?org={tree.branch_c.pk}")
    assert r.status_code == 404
