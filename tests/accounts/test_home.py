import pytest

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_secretary_home_shows_their_branch(client_for, tree, users):
    MemberFactory.create_batch(3, branch=tree.branch_a)
    body = client_for(users.secretary).get("/accounts/home/").content.decode()
    assert 'data-card="branch"' in body and "甲村党支部" in body
    assert "4</div>" in body  # the fixture's member + 3


def test_staff_home_counts_their_subtree(client_for, users):
    body = client_for(users.staff).get("/accounts/home/").content.decode()
    assert 'data-card="staff"' in body and "甲镇党委" in body
    assert ">4</div>" in body and ">2</div>" in body  # 4 orgs, 2 branches


def test_admin_home_links_to_administration(client_for, users):
    body = client_for(users.admin).get("/accounts/home/").content.decode()
    assert 'data-card="admin"' in body
    for url in ("/accounts/users/", "/settings/rules/", "/accounts/audit/"):
        assert url in body


def test_member_and_nobody_homes(client_for, users):
    assert 'data-card="member"' in client_for(users.member).get("/accounts/home/").content.decode()
    assert "尚未分配角色" in client_for(users.nobody).get("/accounts/home/").content.decode()


def test_home_is_cheap(client_for, users, django_assert_max_num_queries):
    client = client_for(users.staff)
    with django_assert_max_num_queries(12):
        client.get("/accounts/home/")
