"""API endpoints that mirror member pages: the same selectors and services, the same scope
(outsider 404, read-only 403, owner OK)."""

import pytest

from apps.core.periods import local_today
from apps.members import services
from apps.members.models import MemberStatus
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def full(tree):
    return MemberFactory(branch=tree.branch_a, status=MemberStatus.FULL, name="张三")


# --- timeline -----------------------------------------------------------------------------------
def test_timeline_is_the_member_page_timeline(users, api_for, full):
    services.study_record_add(
        actor=None, member=full, course="专题党课", held_on=local_today(), hours=4
    )
    services.mobile_contact_record(
        actor=None, member=full, contacted_on=local_today(), way="电话", note="在外务工"
    )
    r = api_for(users.secretary).get(f"/api/v1/members/{full.pk}/timeline/")
    assert r.status_code == 200
    rows = r.json()
    assert {"on", "kind", "title", "detail"} <= set(rows[0])
    kinds = {row["kind"] for row in rows}
    assert {"study", "contact"} <= kinds
    study = next(row for row in rows if row["kind"] == "study")
    assert study["title"] == "学习 4.0 学时" and study["detail"] == "专题党课"
    assert [row["on"] for row in rows] == sorted((row["on"] for row in rows), reverse=True)


def test_timeline_outside_the_subtree_is_404(users, api_for, full):
    assert api_for(users.outsider).get(f"/api/v1/members/{full.pk}/timeline/").status_code == 404
    assert api_for(users.secretary).get("/api/v1/members/999999/timeline/").status_code == 404
