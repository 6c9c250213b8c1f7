"""Users and role grants: services, scope of administrators, pages and API."""

from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import override_settings

from apps.accounts import selectors, services
from apps.accounts.models import Role, RoleGrant, User
from apps.core.models import AuditAction, AuditEntry
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "Dangjian-2026"


@pytest.fixture
def town_admin(tree):
    """系统管理员 of town_a only."""
    return make_user(Role.SYSADMIN, tree.town_a, username="town-admin")


def test_admin_creates_user_with_encrypted_phone_and_audit(users):
    user = services.user_create(
        actor=users.admin,
        username="zhangsan",
        full_name="张三",
        phone="138 1234 5678",
        password=PASSWORD,
    )
    user.refresh_from_db()
    assert user.phone == "13812345678" and user.phone_masked == "138****5678"
    assert user.check_password(PASSWORD)
    entry = AuditEntry.objects.get(verb="user_create", object_id=str(user.pk))
    assert entry.action == AuditAction.CREATE and entry.actor == users.admin
    assert "13812345678" not in str(entry.changes)


def test_user_create_reports_every_bad_field_in_chinese(users):
    users.secretary.set_phone("13812345678")
    users.secretary.save()
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=users.admin,
            username="secretary",
            full_name="",
            phone="13812345678",
            password="123",
        )
    errors = exc.value.message_dict
    assert errors["username"] == ["用户名“secretary”已被使用。"]
    assert errors["full_name"] == ["请填写姓名。"]
    assert errors["phone"] == ["该手机号已被其他账号使用。"]
    assert any("密码" in m for m in errors["password"])
    assert not AuditEntry.objects.filter(verb="user_create").exists()


def test_bad_phone_format(users):
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=users.admin, username="lisi", full_name="李四", phone="12345", password=PASSWORD
        )
    assert exc.value.message_dict["phone"] == ["请输入11位手机号码。"]


def test_only_administrators_create_users(users):
    with pytest.raises(PermissionDenied):
        services.user_create(actor=users.staff, username="x1", full_name="某", password=PASSWORD)


def test_user_without_grants_is_managed_by_its_creator_only(users, town_admin):
    fresh = services.user_create(
        actor=town_admin, username="fresh", full_name="新人", password=PASSWORD
    )
    assert fresh in selectors.users_manageable_by(town_admin)
    assert fresh not in selectors.users_manageable_by(users.admin)
    assert users.nobody not in selectors.users_manageable_by(town_admin)


def test_user_is_in_subtree_only_when_all_grants_are(tree, users, town_admin):
    managed = set(selectors.users_manageable_by(town_admin))
    assert {users.secretary, users.committee, users.member, users.staff} <= managed
    assert users.outsider not in managed  # branch_c is under town_b
    assert users.admin not in managed  # county grant is above town_a
    # one grant outside town_a takes the secretary out of town_admin's hands
    RoleGrant.objects.create(user=users.secretary, org=tree.branch_c, role=Role.COMMITTEE)
    assert users.secretary not in selectors.users_manageable_by(town_admin)
    assert users.secretary in selectors.users_manageable_by(users.admin)


def test_grant_inside_subtree_is_audited(tree, users, town_admin):
    grant = services.role_grant(
        actor=town_admin, user=users.committee, org=tree.branch_b, role=Role.SECRETARY
    )
    assert grant.granted_by == town_admin
    entry = AuditEntry.objects.get(verb="role_grant")
    assert entry.org == tree.branch_b and entry.changes["role"] == [None, "secretary"]


def test_no_grant_above_oneself(tree, users, town_admin):
    with pytest.raises(Http404):
        services.role_grant(
            actor=town_admin, user=users.committee, org=tree.county, role=Role.ORG_STAFF
        )
    with pytest.raises(Http404):
        services.role_grant(
            actor=town_admin, user=users.committee, org=tree.branch_c, role=Role.MEMBER
        )
    assert not AuditEntry.objects.filter(verb="role_grant").exists()


def test_grant_to_user_outside_subtree_is_404(tree, users, town_admin):
    with pytest.raises(Http404):
        services.role_grant(
            actor=town_admin, user=users.outsider, org=tree.branch_a, role=Role.MEMBER
        )


def test_read_only_role_cannot_grant(tree, users):
    with pytest.raises(PermissionDenied):
        services.role_grant(
            actor=users.staff, user=users.committee, org=tree.branch_a, role=Role.MEMBER
        )


def test_branch_roles_only_at_branches_and_no_duplicates(tree, users):
    with pytest.raises(ValidationError) as exc:
        services.role_grant(
            actor=users.admin, user=users.committee, org=tree.town_a, role=Role.SECRETARY
        )
    assert exc.value.message_dict["org"] == ["支部书记只能授予在党支部。"]
    with pytest.raises(ValidationError) as exc:
        services.role_grant(
            actor=users.admin, user=users.committee, org=tree.branch_a, role=Role.COMMITTEE
        )
    assert "已有这一角色" in exc.value.message_dict["role"][0]


def test_revoke_is_audited_and_not_of_oneself(tree, users):
    grant = users.committee.grants.get()
    services.role_revoke(actor=users.admin, grant=grant)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert AuditEntry.objects.filter(verb="role_revoke", action=AuditAction.DELETE).exists()
    with pytest.raises(PermissionDenied):
        services.role_revoke(actor=users.admin, grant=users.admin.grants.get())


def test_failing_service_leaves_no_audit_row(users):
    grant = users.committee.grants.get()
    with (
        mock.patch.object(RoleGrant, "delete", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.role_revoke(actor=users.admin, grant=grant)
    assert RoleGrant.objects.filter(pk=grant.pk).exists()
    assert not AuditEntry.objects.filter(verb="role_revoke").exists()


def test_failing_audit_leaves_no_user(users):
    with (
        mock.patch("apps.accounts.services.audit_log", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        services.user_create(
            actor=users.admin, username="ghost", full_name="幽灵", password=PASSWORD
        )
    assert not User.objects.filter(username="ghost").exists()


def test_update_deactivate_and_reset(users):
    services.user_update(
        actor=users.admin, user=users.secretary, full_name="王书记", phone="13900001111"
    )
    assert AuditEntry.objects.get(verb="user_update").changes["full_name"][1] == "王书记"
    services.password_reset(actor=users.admin, user=users.secretary, password=PASSWORD)
    users.secretary.refresh_from_db()
    assert users.secretary.check_password(PASSWORD)
    services.user_deactivate(actor=users.admin, user=users.secretary)
    users.secretary.refresh_from_db()
    assert not users.secretary.is_active
    assert {"user_update", "password_reset", "user_deactivate"} <= set(
        AuditEntry.objects.values_list("verb", flat=True)
    )
    with pytest.raises(ValidationError):
        services.user_deactivate(actor=users.admin, user=users.admin)


def test_password_change_needs_the_old_password(users):
    with pytest.raises(ValidationError) as exc:
        services.password_change(user=users.member, old_password="nope", new_password=PASSWORD)
    assert exc.value.message_dict == {"old_password": ["原密码不正确。"]}
    services.password_change(user=users.member, old_password="pass-12345", new_password=PASSWORD)
    users.member.refresh_from_db()
    assert users.member.check_password(PASSWORD)


def test_search_by_name_username_and_exact_phone(users):
    users.committee.set_phone("13700002222")
    users.committee.full_name = "刘委员"
    users.committee.save()
    assert list(selectors.user_search(users.admin, q="13700002222")) == [users.committee]
    assert list(selectors.user_search(users.admin, q="1370000")) == []  # exact match only
    assert list(selectors.user_search(users.admin, q="刘委")) == [users.committee]
    assert list(selectors.user_search(users.admin, q="committee")) == [users.committee]


# --- pages ------------------------------------------------------------------------------------


def test_user_pages_are_for_administrators(client_for, users):
    assert client_for(users.staff).get("/accounts/users/").status_code == 403
    assert client_for(users.secretary).get(f"/accounts/users/{users.member.pk}/").status_code == 403
    page = client_for(users.admin).get("/accounts/users/?q=secretary")
    assert page.status_code == 200 and "secretary" in page.content.decode()


def test_user_page_outside_subtree_is_404(client_for, users, town_admin):
    client = client_for(town_admin)
    assert client.get(f"/accounts/users/{users.outsider.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{users.secretary.pk}/").status_code == 200


def test_create_form_shows_chinese_errors(client_for, users):
    response = client_for(users.admin).post(
        "/accounts/users/new/",
        {"username": "a b", "full_name": "某", "phone": "1", "password": "1"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "请输入11位手机号码" in body and "用户名为3至150位" in body
    assert not User.objects.filter(full_name="某").exists()


def test_grant_and_revoke_through_the_pages(client_for, tree, users):
    client = client_for(users.admin)
    response = client.post(
        f"/accounts/users/{users.committee.pk}/", {"org": tree.branch_b.pk, "role": Role.MEMBER}
    )
    assert response.status_code == 302
    grant = RoleGrant.objects.get(user=users.committee, org=tree.branch_b)
    assert client.post(f"/accounts/grants/{grant.pk}/revoke/").status_code == 302
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()


def test_own_password_page(client_for, users):
    client = client_for(users.member)
    response = client.post("/accounts/password/", {"old_password": "x", "new_password": PASSWORD})
    assert response.status_code == 400 and "原密码不正确" in response.content.decode()
    response = client.post(
        "/accounts/password/", {"old_password": "pass-12345", "new_password": PASSWORD}
    )
    assert response.status_code == 302


# --- API ----------------------------------------------------------------------------------------


def test_api_field_errors_are_chinese(api_for, users):
    response = api_for(users.admin).post(
        "/api/v1/users/",
        {"username": "zz9", "full_name": "某", "phone": "123", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"phone": ["请输入11位手机号码。"]}


def test_api_user_list_is_scoped_and_searchable(api_for, users, town_admin):
    names = {u["username"] for u in api_for(town_admin).get("/api/v1/users/").json()["results"]}
    assert "secretary" in names and "outsider" not in names and "admin" not in names
    found = api_for(users.admin).get("/api/v1/users/", {"q": "secretary"}).json()
    assert [u["username"] for u in found["results"]] == ["secretary"]


def test_api_grant_with_org_outside_subtree_is_404(api_for, tree, users, town_admin):
    response = api_for(town_admin).post(
        "/api/v1/grants/",
        {"user": users.committee.pk, "org": tree.branch_c.pk, "role": "member"},
        format="json",
    )
    assert response.status_code == 404


def test_token_sign_in_by_phone_and_use(client, users):
    from rest_framework.test import APIClient

    users.secretary.set_phone("13812345678")
    users.secretary.save()
    response = client.post(
        "/api/v1/auth/token/", {"username": "13812345678", "password": "pass-12345"}
    )
    assert response.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/me/").json()["username"] == "secretary"
    assert AuditEntry.objects.filter(verb="token_sign_in", actor=users.secretary).exists()


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_token_failure_is_audited_and_throttled(client, users):
    # a private cache: the throttle's counters are not touched by other tests (or xdist workers)
    response = client.post("/api/v1/auth/token/", {"username": "secretary", "password": "bad"})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["用户名（手机号）或密码不正确。"]}
    assert AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, object_repr="secretary"
    ).exists()
    statuses = [
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
        for _ in range(12)
    ]
    assert statuses[-1] == 429


def test_deactivated_user_loses_token(client, users):
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=users.secretary)
    services.user_deactivate(actor=users.admin, user=users.secretary)
    assert not Token.objects.filter(user=users.secretary).exists()
    response = client.post(
        "/api/v1/auth/token/", {"username": "secretary", "password": "pass-12345"}
    )
    assert response.status_code == 400
