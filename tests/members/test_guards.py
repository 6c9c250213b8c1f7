"""Lifecycle guards: every action starts from its own status, in services, pages and API."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.members import services
from apps.members.models import MemberStatus as S
from apps.members.models import MemberStatusChange
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 15, 10, 0), tick=False):
        yield


def _suspended(branch):
    return MemberFactory(
        branch=branch,
        status=S.SUSPENDED,
        joined_on=dt.date(2010, 1, 1),
        confirmed_on=dt.date(2011, 1, 1),
        suspended_on=dt.date(2025, 1, 1),
        status_since=dt.date(2025, 1, 1),
    )


def _probationary(branch):
    return MemberFactory(
        branch=branch,
        status=S.PROBATIONARY,
        joined_on=dt.date(2025, 12, 1),
        confirmed_on=None,
        probation_ends_on=dt.date(2026, 12, 1),
        status_since=dt.date(2025, 12, 1),
    )


def test_restore_only_from_suspended(tree):
    m = _probationary(tree.branch_a)
    with pytest.raises(ValidationError, match="不能办理“恢复党籍”"):
        services.member_restore(actor=None, member=m, on=TODAY, reason="x")
    m.refresh_from_db()
    assert m.status == S.PROBATIONARY and m.confirmed_on is None


def test_confirm_refuses_a_suspended_member_and_keeps_confirmed_on(tree):
    m = _suspended(tree.branch_a)
    with pytest.raises(ValidationError, match="不能办理“转正”"):
        services.member_confirm(actor=None, member=m, on=TODAY)
    m.refresh_from_db()
    assert m.status == S.SUSPENDED and m.confirmed_on == dt.date(2011, 1, 1)


def test_confirm_without_joined_on_is_refused(tree):
    m = MemberFactory(
        branch=tree.branch_a, status=S.PROBATIONARY, joined_on=None, probation_ends_on=None
    )
    with pytest.raises(ValidationError, match="补充入党日期"):
        services.member_confirm(actor=None, member=m, on=TODAY)


def test_suspend_only_full_members(tree):
    m = _probationary(tree.branch_a)
    with pytest.raises(ValidationError, match="不能办理“停止党籍”"):
        services.member_suspend(actor=None, member=m, on=TODAY, reason="失联")


def test_lost_contact_not_for_removed(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.REMOVED)
    with pytest.raises(ValidationError, match="不能办理“登记失联”"):
        services.member_lost_contact_mark(actor=None, member=m, since=TODAY)


def test_probationary_record_requires_joined_on(tree):
    with pytest.raises(ValidationError) as exc:
        services.member_create(
            actor=None, branch=tree.branch_a, name="李四", gender="male", status=S.PROBATIONARY
        )
    assert "入党日期" in exc.value.message_dict["joined_on"][0]
    m = services.member_create(
        actor=None,
        branch=tree.branch_a,
        name="李四",
        gender="male",
        status=S.PROBATIONARY,
        joined_on=dt.date(2026, 1, 10),
    )
    assert m.probation_ends_on == dt.date(2027, 1, 10)


def test_member_page_offers_only_allowed_actions(users, client_for, tree):
    m = _suspended(tree.branch_a)
    html = client_for(users.secretary).get(f"/members/{m.pk}/").content.decode()
    assert f"/members/{m.pk}/action/restore/" in html
    assert f"/members/{m.pk}/action/confirm/" not in html
    assert f"/members/{m.pk}/action/suspend/" not in html


def test_forged_post_of_illegal_action_is_400_and_changes_nothing(users, client_for, tree):
    m = _suspended(tree.branch_a)
    before = MemberStatusChange.objects.filter(member=m).count()
    c = client_for(users.secretary)
    assert c.get(f"/members/{m.pk}/action/confirm/").status_code == 400
    r = c.post(f"/members/{m.pk}/action/confirm/", {"on": "2026-06-15", "reason": "x"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "该党员当前为“停止党籍”，不能办理“转正”" in html and "确认办理" not in html
    m.refresh_from_db()
    assert m.status == S.SUSPENDED and m.confirmed_on == dt.date(2011, 1, 1)
    assert MemberStatusChange.objects.filter(member=m).count() == before


@pytest.mark.parametrize(
    "maker, action",
    [(_suspended, "confirm"), (_probationary, "restore"), (_probationary, "suspend")],
)
def test_api_refuses_illegal_action_with_message(users, api_for, tree, maker, action):
    m = maker(tree.branch_a)
    status = m.status
    r = api_for(users.secretary).post(
        f"/api/v1/members/{m.pk}/lifecycle/",
        {"action": action, "on": "2026-06-15", "reason": "x"},
        format="json",
    )
    assert r.status_code == 400
    assert "不能办理" in r.json()["non_field_errors"][0]
    m.refresh_from_db()
    assert m.status == status


def test_api_create_probationary_needs_joined_on(users, api_for, tree):
    r = api_for(users.secretary).post(
        "/api/v1/members/",
        {"branch": tree.branch_a.pk, "name": "王五", "gender": "male", "status": "probationary"},
        format="json",
    )
    assert r.status_code == 400 and "入党日期" in r.json()["joined_on"][0]


# --- deciding org (决定组织) ---------------------------------------------------------------------
def test_deciding_org_defaults_superior_for_approvals_branch_otherwise(tree):
    m = _suspended(tree.branch_a)
    services.member_restore(actor=None, member=m, on=TODAY, reason="恢复联系")
    assert m.status_changes.last().deciding_org == tree.town_a
    services.member_decease(actor=None, member=m, on=TODAY)
    assert m.status_changes.last().deciding_org == tree.branch_a


def test_deciding_org_from_page_goes_into_history(users, client_for, tree):
    m = _suspended(tree.branch_a)
    c = client_for(users.secretary)
    page = c.get(f"/members/{m.pk}/action/restore/").content.decode()
    assert "决定组织" in page and "默认：甲镇党委" in page and "测试县委" in page
    r = c.post(
        f"/members/{m.pk}/action/restore/",
        {"on": "2026-06-15", "reason": "已联系上", "deciding_org": tree.county.pk},
    )
    assert r.status_code == 302
    assert m.status_changes.last().deciding_org == tree.county
    assert "测试县委" in c.get(f"/members/{m.pk}/").content.decode()


def test_deciding_org_outside_the_chain_is_a_field_error(users, client_for, api_for, tree):
    m = _suspended(tree.branch_a)
    r = client_for(users.secretary).post(
        f"/members/{m.pk}/action/restore/",
        {"on": "2026-06-15", "reason": "x", "deciding_org": tree.town_b.pk},
    )
    assert r.status_code == 400 and "选择一个有效的选项" in r.content.decode()
    r = api_for(users.secretary).post(
        f"/api/v1/members/{m.pk}/lifecycle/",
        {"action": "restore", "on": "2026-06-15", "reason": "x", "deciding_org": tree.branch_c.pk},
        format="json",
    )
    assert r.status_code == 400 and "决定组织" in r.json()["deciding_org"][0]
    m.refresh_from_db()
    assert m.status == S.SUSPENDED


def test_deciding_org_through_api_for_lifecycle_and_steps(users, api_for, tree):
    m = _suspended(tree.branch_a)
    api = api_for(users.secretary)
    r = api.post(
        f"/api/v1/members/{m.pk}/lifecycle/",
        {"action": "restore", "on": "2026-06-15", "reason": "x", "deciding_org": tree.branch_a.pk},
        format="json",
    )
    assert r.status_code == 200
    assert m.status_changes.last().deciding_org == tree.branch_a
    a = services.development_apply(
        actor=None,
        branch=tree.branch_a,
        name="申请人",
        gender="male",
        applied_on=dt.date(2026, 6, 1),
        birth_date=dt.date(2000, 1, 1),
    )
    r = api.post(f"/api/v1/members/{a.pk}/steps/", {"step": 2, "done_on": "2026-06-10"})
    assert r.status_code == 201 and r.json()["deciding_org"] == tree.branch_a.pk
    r = api.post(
        f"/api/v1/members/{a.pk}/steps/",
        {"step": 3, "done_on": "2026-06-15", "deciding_org": tree.town_b.pk},
    )
    assert r.status_code == 400 and "deciding_org" in r.json()
    assert a.steps.count() == 2
