"""The Django admin obeys the org-tree scope: a 系统管理员 browses read-only inside their subtree."""

import pytest

from apps.accounts.models import Role
from apps.core.admin_site import org_path_lookup
from apps.members.models import Member
from apps.organizations.models import CommitteePosition, Org
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_path_lookup_follows_foreign_keys_to_the_org():
    assert org_path_lookup(Org) == "path"
    assert org_path_lookup(Member) == "branch__path"
    assert org_path_lookup(CommitteePosition) == "org__path"


def test_town_admin_sees_only_their_subtree_in_the_admin(tree, users, client_for):
    town_admin = make_user(Role.SYSADMIN, tree.town_a, username="town-admin")
    client = client_for(town_admin)

    listing = client.get("/admin/organizations/org/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "乙村党支部" in body and "丙村党支部" not in body

    assert client.get(f"/admin/organizations/org/{tree.branch_b.pk}/change/").status_code == 200
    # Outside the subtree behaves like a missing row: the admin redirects to its index with
    # "does not exist", never showing the record.
    response = client.get(f"/admin/organizations/org/{tree.branch_c.pk}/change/", follow=True)
    assert "丙村党支部" not in response.content.decode()


def test_platform_admin_cannot_write_through_the_admin(tree, users, client_for):
    client = client_for(users.admin)
    org = tree.branch_a
    response = client.post(f"/admin/organizations/org/{org.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.name == "甲村党支部"
    assert client.get("/admin/organizations/org/add/").status_code == 403


def test_other_roles_are_refused_and_anonymous_sent_to_the_platform_sign_in(
    users, client_for, client
):
    assert client_for(users.secretary).get("/admin/", follow=True).status_code == 403
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert client_for(users.admin).get("/admin/").status_code == 200


def test_users_are_scoped_through_their_grants(tree, users, client_for):
    town_admin = make_user(Role.SYSADMIN, tree.town_a, username="town-admin")
    body = client_for(town_admin).get("/admin/accounts/user/").content.decode()
    assert "secretary" in body  # granted at branch_a, inside town_a
    assert "outsider" not in body  # granted at branch_c, in town_b
