"""The audit log page and API: scoped to the administrator's subtree, filterable, paginated."""

import datetime as dt

import pytest
import time_machine

from apps.accounts.models import Role
from apps.core.audit import audit_log
from apps.core.models import AuditAction, AuditEntry
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def town_admin(tree):
    return make_user(Role.SYSADMIN, tree.town_a, username="town-admin", full_name="镇管理员")


@pytest.fixture
def entries(tree, users):
    audit_log(
        actor=users.secretary, action=AuditAction.UPDATE, obj=tree.branch_a, verb="org_update"
    )
    audit_log(actor=users.outsider, action=AuditAction.UPDATE, obj=tree.branch_c, verb="org_update")
    audit_log(actor=users.secretary, action=AuditAction.LOGIN, obj=users.secretary, verb="sign_in")
    audit_log(actor=users.outsider, action=AuditAction.LOGIN, obj=users.outsider, verb="sign_in")


def _reprs(response):
    """Org entries by name, user entries by username."""
    from apps.accounts.models import User

    names = dict(User.objects.values_list("pk", "username"))
    return [
        names[int(e["object_id"])] if e["object_type"] == "accounts.user" else e["object_repr"]
        for e in response.json()["results"]
    ]


def test_town_admin_sees_only_their_subtree(api_for, tree, users, town_admin, entries):
    reprs = _reprs(api_for(town_admin).get("/api/v1/audit/"))
    assert "甲村党支部" in reprs and "secretary" in reprs  # org entry + sign-in of a user inside
    assert "丙村党支部" not in reprs and "outsider" not in reprs
    assert len(_reprs(api_for(users.admin).get("/api/v1/audit/"))) == AuditEntry.objects.count()


def test_entry_outside_subtree_is_404(api_for, tree, town_admin, entries):
    outside = AuditEntry.objects.filter(object_repr="丙村党支部").first()
    assert api_for(town_admin).get(f"/api/v1/audit/{outside.pk}/").status_code == 404


def test_filters_by_action_actor_object_and_date(api_for, users, entries):
    api = api_for(users.admin)
    assert set(_reprs(api.get("/api/v1/audit/", {"action": "login"}))) == {"secretary", "outsider"}
    assert set(_reprs(api.get("/api/v1/audit/", {"actor": users.outsider.pk}))) == {
        "丙村党支部",
        "outsider",
    }
    assert _reprs(
        api.get("/api/v1/audit/", {"object_type": "accounts.user", "object_id": users.secretary.pk})
    ) == ["secretary"]
    assert _reprs(api.get("/api/v1/audit/", {"date_to": "2020-01-01"})) == []
    bad = api.get("/api/v1/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert bad.status_code == 400 and bad.json() == {"date_to": ["结束日期不能早于开始日期。"]}


def test_date_filter_uses_beijing_days(api_for, tree, users):
    # 23:30 UTC on 1 May is 07:30 on 2 May in Beijing.
    with time_machine.travel(dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        audit_log(actor=users.admin, action=AuditAction.UPDATE, obj=tree.county, verb="late")
    api = api_for(users.admin)
    assert _reprs(
        api.get("/api/v1/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-02"})
    ) == ["测试县委"]
    assert (
        _reprs(api.get("/api/v1/audit/", {"date_from": "2026-05-01", "date_to": "2026-05-01"}))
        == []
    )


def test_audit_page(client_for, users, town_admin, entries):
    assert client_for(users.staff).get("/accounts/audit/").status_code == 403
    page = client_for(town_admin).get("/accounts/audit/?action=update")
    body = page.content.decode()
    assert page.status_code == 200 and "甲村党支部" in body and "丙村党支部" not in body
    assert client_for(town_admin).get("/accounts/audit/?date_from=bad").status_code == 400


def test_audit_page_paginates(client_for, tree, users):
    for i in range(55):
        audit_log(actor=users.admin, action=AuditAction.UPDATE, obj=tree.county, verb=f"v{i}")
    body = client_for(users.admin).get("/accounts/audit/?action=update&page=2").content.decode()
    assert "第 2 / 2 页" in body and "action=update&page=1" in body


def test_failed_sign_in_of_a_user_in_the_subtree_is_visible(client, api_for, users, town_admin):
    client.post("/accounts/login/", {"username": "secretary", "password": "wrong"})
    client.post("/accounts/login/", {"username": "outsider", "password": "wrong"})
    failed = api_for(town_admin).get("/api/v1/audit/", {"action": "login_failed"}).json()["results"]
    assert [e["object_repr"] for e in failed] == ["secretary"]
