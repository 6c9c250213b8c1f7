import datetime as dt

import pytest
import time_machine

from apps.organizations import services
from apps.organizations.models import (
    CommitteePosition,
    Org,
    OrgParentLink,
    Position,
    TermState,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
D = dt.date


def test_tree_page_lists_scope_roots_and_children_load_on_demand(tree, users, client_for):
    page = client_for(users.staff).get("/organizations/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "甲镇党委" in html and "测试县委" not in html and "甲村党支部" not in html
    )  # children not rendered
    fragment = client_for(users.staff).get(f"/organizations/{tree.town_a.pk}/children/")
    assert fragment.status_code == 200
    assert "甲村党支部" in fragment.content.decode() and "<html" not in fragment.content.decode()
    assert (
        client_for(users.outsider).get(f"/organizations/{tree.town_a.pk}/children/").status_code
        == 404
    )
    assert client_for(users.nobody).get("/organizations/").status_code == 403


def test_search_by_name_or_code_stays_in_scope(tree, users, client_for):
    client = client_for(users.staff)
    html = client.get("/organizations/search/", {"q": "村"}).content.decode()
    assert "甲村党支部" in html and "丙村党支部" not in html
    html = client.get("/organizations/search/", {"q": tree.branch_b.code}).content.decode()
    assert "乙村党支部" in html
    html = client_for(users.outsider).get("/organizations/", {"q": "甲村"}).content.decode()
    assert "没有找到" in html


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
def test_detail_page_breadcrumb_committee_term_and_warnings(tree, users, client_for):
    sec = MemberFactory(branch=tree.branch_a, name="王书记")
    services.committee_position_assign(
        actor=None,
        org=tree.branch_a,
        member=sec,
        position=Position.SECRETARY,
        started_on=D(2022, 1, 1),
    )
    term = services.term_start(
        actor=None, org=tree.branch_a, elected_on=D(2022, 1, 1), term_years=5
    )
    html = client_for(users.secretary).get(f"/organizations/{tree.branch_a.pk}/").content.decode()
    assert "王书记" in html and "第1届" in html and "正式党员不足3人" in html
    assert "即将到期" in html  # ends 2027-01-01, due from 2026-07-01
    assert "提交换届请示" in html and "调整隶属关系" not in html  # no admin_tree
    assert "批准延期换届" not in html  # the superior approves
    staff = client_for(users.staff).get(f"/organizations/{tree.branch_a.pk}/").content.decode()
    assert "批准延期换届" in staff and "提交换届请示" not in staff
    term.elected_on, term.ends_on = D(2024, 1, 1), D(2029, 1, 1)
    term.save()
    html = client_for(users.secretary).get(f"/organizations/{tree.branch_a.pk}/").content.decode()
    assert "任期内" in html and "提交换届请示" not in html  # not yet due: no renewal buttons
    # breadcrumb shows only visible ancestors
    assert "测试县委" not in html
    html = client_for(users.admin).get(f"/organizations/{tree.branch_a.pk}/").content.decode()
    assert "测试县委" in html and "调整隶属关系" in html


@pytest.mark.parametrize(
    "url",
    ["/organizations/{a}/", "/organizations/{a}/children/", "/organizations/{a}/warnings/"],
)
def test_read_pages_outsider_404(tree, users, client_for, url):
    url = url.format(a=tree.branch_a.pk)
    assert client_for(users.outsider).get(url).status_code == 404
    assert client_for(users.secretary).get(url).status_code == 200


WRITE_PAGES = [
    # (url template, who may (200), a visible read-only role (403))
    ("/organizations/{a}/new/", "admin", "staff"),
    ("/organizations/{a}/edit/", "admin", "secretary"),
    ("/organizations/{a}/move/", "admin", "secretary"),
    ("/organizations/{a}/merge/", "admin", "staff"),
    ("/organizations/{a}/abolish/", "admin", "secretary"),
    ("/organizations/{a}/positions/new/", "secretary", "staff"),
    ("/organizations/{a}/terms/new/", "committee", "staff"),
]


@pytest.mark.parametrize(("url", "owner", "reader"), WRITE_PAGES)
def test_write_pages_owner_reader_outsider(tree, users, client_for, url, owner, reader):
    url = url.format(a=tree.branch_a.pk)
    assert client_for(getattr(users, owner)).get(url).status_code == 200
    assert client_for(getattr(users, reader)).get(url).status_code == 403
    assert client_for(users.member).get(url).status_code == 403
    assert client_for(users.outsider).get(url).status_code == 404
    assert client_for(users.outsider).post(url, {}).status_code == 404


def test_create_child_form_and_clear_errors(tree, users, client_for):
    client = client_for(users.admin)
    response = client.post(
        f"/organizations/{tree.branch_a.pk}/new/",
        {
            "name": "甲村第二党小组",
            "code": tree.group_a.code,
            "org_type": "party_group",
            "category": "rural",
            "setup_form": "standalone",
        },
    )
    assert response.status_code == 400 and "已被使用" in response.content.decode()
    response = client.post(
        f"/organizations/{tree.branch_a.pk}/new/",
        {
            "name": "甲村第二党小组",
            "code": "NEW-1",
            "org_type": "party_group",
            "category": "rural",
            "setup_form": "standalone",
        },
    )
    created = Org.objects.get(code="NEW-1")
    assert response.status_code == 302 and created.parent == tree.branch_a
    # nothing can be created under a party group: the form is not offered
    response = client.get(f"/organizations/{created.pk}/new/")
    assert response.status_code == 302


def test_move_page_search_and_refusal_under_own_descendant(tree, users, client_for):
    client = client_for(users.admin)
    picks = client.get(
        "/organizations/search/", {"for": "move", "org": tree.town_a.pk, "q": "镇"}
    ).content.decode()
    assert "乙镇党委" in picks and "甲镇党委" not in picks  # never itself
    picks = client.get(
        "/organizations/search/", {"for": "move", "org": tree.branch_a.pk, "q": "村"}
    ).content.decode()
    assert "丙村党支部" not in picks  # a branch cannot go under a branch: not offered
    picks = client.get(
        "/organizations/search/", {"for": "merge", "org": tree.branch_a.pk, "q": "村"}
    ).content.decode()
    assert "丙村党支部" in picks and "甲村第一党小组" not in picks  # own descendants never
    response = client.post(
        f"/organizations/{tree.town_a.pk}/move/", {"target": tree.branch_a.pk, "on": "2024-05-01"}
    )
    assert response.status_code == 400 and "不能移到自身的下级组织" in response.content.decode()
    response = client.post(
        f"/organizations/{tree.branch_a.pk}/move/",
        {"target": tree.town_b.pk, "on": "2024-05-01", "reason": "调整"},
    )
    assert response.status_code == 302
    assert Org.objects.get(pk=tree.branch_a.pk).parent == tree.town_b
    assert OrgParentLink.objects.filter(org=tree.branch_a).count() == 2
    # a target outside the admin's scope is like a missing id
    response = client_for(users.staff).post(
        f"/organizations/{tree.branch_b.pk}/move/", {"target": tree.town_b.pk, "on": "2024-05-01"}
    )
    assert response.status_code == 403


def test_merge_and_abolish_pages(tree, users, client_for):
    client = client_for(users.admin)
    MemberFactory(branch=tree.branch_b)
    response = client.post(
        f"/organizations/{tree.branch_b.pk}/abolish/", {"on": "2024-05-01", "reason": "撤并"}
    )
    assert response.status_code == 400 and "还有1名党员" in response.content.decode()
    response = client.post(
        f"/organizations/{tree.branch_b.pk}/merge/",
        {"target": tree.branch_a.pk, "on": "2024-05-01"},
    )
    assert response.status_code == 302
    assert Org.objects.get(pk=tree.branch_b.pk).merged_into == tree.branch_a
    response = client.post(
        f"/organizations/{tree.branch_c.pk}/merge/", {"target": tree.town_a.pk, "on": "2024-05-01"}
    )
    assert response.status_code == 400 and "党支部只能并入另一个党支部" in response.content.decode()


def test_committee_and_term_workflow_pages(tree, users, client_for):
    secretary, staff = client_for(users.secretary), client_for(users.staff)
    member = MemberFactory(branch=tree.branch_a, name="李明")
    response = secretary.post(
        f"/organizations/{tree.branch_a.pk}/positions/new/",
        {"member": member.pk, "position": Position.SECRETARY, "started_on": "2024-01-01"},
    )
    assert response.status_code == 302
    other = MemberFactory(branch=tree.branch_a)
    response = secretary.post(
        f"/organizations/{tree.branch_a.pk}/positions/new/",
        {"member": other.pk, "position": Position.SECRETARY, "started_on": "2024-02-01"},
    )
    assert response.status_code == 400 and "本组织已有书记" in response.content.decode()
    held = CommitteePosition.objects.get(member=member)
    assert (
        client_for(users.outsider).get(f"/organizations/positions/{held.pk}/end/").status_code
        == 404
    )
    assert staff.get(f"/organizations/positions/{held.pk}/end/").status_code == 403
    assert (
        secretary.post(
            f"/organizations/positions/{held.pk}/end/", {"ended_on": "2024-06-30"}
        ).status_code
        == 302
    )

    assert (
        secretary.post(
            f"/organizations/{tree.branch_a.pk}/terms/new/", {"elected_on": "2020-07-15"}
        ).status_code
        == 302
    )
    term = tree.branch_a.terms.get()
    assert term.term_years == 5
    assert (
        secretary.get(f"/organizations/terms/{term.pk}/approve/").status_code == 403
    )  # the superior approves
    assert (
        secretary.post(f"/organizations/terms/{term.pk}/submit/", {"on": "2025-05-20"}).status_code
        == 302
    )
    assert (
        staff.post(f"/organizations/terms/{term.pk}/approve/", {"on": "2025-06-01"}).status_code
        == 302
    )
    assert (
        secretary.post(
            f"/organizations/terms/{term.pk}/election/", {"on": "2025-07-10"}
        ).status_code
        == 302
    )
    assert (
        staff.post(f"/organizations/terms/{term.pk}/result/", {"on": "2025-07-20"}).status_code
        == 302
    )
    term.refresh_from_db()
    assert term.state == TermState.CLOSED and tree.branch_a.terms.count() == 2
    assert (
        client_for(users.outsider).get(f"/organizations/terms/{term.pk}/submit/").status_code == 404
    )
    assert staff.get(f"/organizations/terms/{term.pk}/bogus/").status_code == 404


def test_term_extension_beyond_a_year_is_refused_with_a_message(tree, users, client_for):
    term = services.term_start(
        actor=None, org=tree.branch_a, elected_on=D(2020, 7, 15), term_years=5
    )
    response = client_for(users.staff).post(
        f"/organizations/terms/{term.pk}/extend/", {"until": "2026-08-01", "reason": "统一换届"}
    )
    assert response.status_code == 400 and "最迟可延至2026-07-15" in response.content.decode()


def test_warnings_page_lists_subtree_and_filters_by_kind(tree, users, client_for):
    client = client_for(users.staff)
    html = client.get(f"/organizations/{tree.town_a.pk}/warnings/").content.decode()
    assert "甲村党支部" in html and "书记空缺" in html and "丙村党支部" not in html
    for _ in range(3):
        MemberFactory(branch=tree.branch_b)
    url = f"/organizations/{tree.town_a.pk}/warnings/"
    html = client.get(url, {"code": "few_members"}).content.decode()
    assert "甲村党支部" in html and "乙村党支部" not in html


def test_member_role_sees_only_their_branch_node(tree, users, client_for):
    client = client_for(users.member)
    html = client.get("/organizations/").content.decode()
    assert "甲村党支部" in html and "tree-toggle" not in html  # nothing to expand for a 党员
    assert client.get(f"/organizations/{tree.branch_a.pk}/").status_code == 200
    assert client.get(f"/organizations/{tree.group_a.pk}/").status_code == 404
    assert client.get(f"/organizations/{tree.branch_a.pk}/edit/").status_code == 403
