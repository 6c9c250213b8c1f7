import pytest

from apps.organizations.models import Org, OrgParentLink

pytestmark = pytest.mark.django_db


def test_list_filters_and_search_stay_in_scope(tree, users, api_for):
    api = api_for(users.staff)
    names = {o["name"] for o in api.get("/api/v1/orgs/", {"q": "村"}).json()["results"]}
    assert names == {"甲村党支部", "乙村党支部", "甲村第一党小组"}
    names = {o["name"] for o in api.get("/api/v1/orgs/", {"org_type": "branch"}).json()["results"]}
    assert names == {"甲村党支部", "乙村党支部"}
    assert (
        api.get("/api/v1/orgs/", {"parent": tree.town_b.pk}).status_code == 404
    )  # outside: like missing
    assert api.get("/api/v1/orgs/", {"parent": tree.town_a.pk}).json()["count"] == 2


def test_move_refusal_is_a_400_with_the_field_and_nothing_changes(tree, users, api_for):
    api = api_for(users.admin)
    response = api.post(
        f"/api/v1/orgs/{tree.town_a.pk}/move/", {"parent": tree.branch_a.pk}, format="json"
    )
    assert response.status_code == 400
    assert "不能移到自身的下级组织" in response.json()["parent"][0]
    assert Org.objects.get(pk=tree.town_a.pk).parent == tree.county
    response = api.post(
        f"/api/v1/orgs/{tree.branch_a.pk}/move/",
        {"parent": tree.town_b.pk, "on": "2024-04-01"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["parent"] == tree.town_b.pk
    assert (
        OrgParentLink.objects.filter(org=tree.branch_a, valid_to__isnull=True).get().parent
        == tree.town_b
    )


def test_create_rejects_a_party_group_under_a_committee(tree, users, api_for):
    response = api_for(users.admin).post(
        "/api/v1/orgs/",
        {"parent": tree.town_a.pk, "name": "错误的党小组", "code": "X1", "org_type": "party_group"},
        format="json",
    )
    assert (
        response.status_code == 400 and "党小组不能设在基层党委之下" in response.json()["parent"][0]
    )


def test_term_extension_limit_and_display_state(tree, users, api_for):
    api = api_for(users.secretary)
    term = api.post(
        f"/api/v1/orgs/{tree.branch_a.pk}/terms/", {"elected_on": "2019-01-01"}, format="json"
    ).json()
    assert term["ends_on"] == "2024-01-01" and term["display_state"] == "overdue"
    response = api_for(users.staff).post(
        f"/api/v1/terms/{term['id']}/extend/", {"until": "2025-01-02"}, format="json"
    )
    assert response.status_code == 400 and "最迟可延至2025-01-01" in response.json()["until"][0]


def test_position_member_outside_scope_is_404(tree, users, api_for):
    from tests.factories import MemberFactory

    stranger = MemberFactory(branch=tree.branch_c)
    response = api_for(users.secretary).post(
        f"/api/v1/orgs/{tree.branch_a.pk}/positions/",
        {"member": stranger.pk, "position": "member", "started_on": "2024-01-01"},
        format="json",
    )
    assert response.status_code == 404
