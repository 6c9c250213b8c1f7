"""免于考核: the page and API list/grant/revoke inside the scope, with reason and approver, and
the compliance rollups honour them."""

from __future__ import annotations

import pytest
import time_machine
from django.core.management import call_command

from apps.core.periods import Period
from apps.meetings import rollups, rules, selectors
from apps.meetings.models import Exemption
from tests.meetings.conftest import at

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 4, 2), tick=False)
def test_exemption_page_grant_list_revoke(tree, users, roster_a, client_for):
    staff = client_for(users.staff)
    url = f"/meetings/exemptions/?org={tree.town_a.pk}"
    page = staff.get(url).content.decode()
    assert "批准免于考核" in page and tree.branch_a.name in page
    r = staff.post(
        "/meetings/exemptions/",
        {"org": tree.town_a.pk, "branch": tree.branch_a.pk, "period_key": "2024-Q5", "reason": "x"},
    )
    assert r.status_code == 400
    data = {
        "org": tree.town_a.pk,
        "branch": tree.branch_a.pk,
        "period_key": "2024-Q1",
        "kind": "",
        "reason": "村两委换届，经镇党委批准",
    }
    r = staff.post("/meetings/exemptions/", data)
    assert r.status_code == 302
    e = Exemption.objects.get()
    assert e.approved_by == users.staff and e.kind == ""
    r = staff.post("/meetings/exemptions/", data)
    assert r.status_code == 400 and "已有相同的免于考核记录" in r.content.decode()
    page = staff.get(url).content.decode()
    assert "村两委换届" in page and "全部类型" in page

    # read-only roles see the list without the form; they cannot grant or revoke
    secretary = client_for(users.secretary)
    page = secretary.get(f"/meetings/exemptions/?org={tree.branch_a.pk}").content.decode()
    assert "村两委换届" in page and "批准免于考核" not in page
    assert (
        secretary.post("/meetings/exemptions/", {**data, "org": tree.branch_a.pk}).status_code
        == 403
    )
    assert (
        secretary.post(f"/meetings/exemptions/{e.pk}/revoke/", {"reason": "x"}).status_code == 403
    )
    # outside the subtree: 404, and nothing listed
    outsider = client_for(users.outsider)
    assert outsider.get(url).status_code == 404
    assert "村两委换届" not in outsider.get("/meetings/exemptions/").content.decode()
    assert outsider.post(f"/meetings/exemptions/{e.pk}/revoke/", {"reason": "x"}).status_code == 404
    assert client_for(users.member).get("/meetings/exemptions/").status_code == 403

    staff.post(f"/meetings/exemptions/{e.pk}/revoke/", {"reason": ""})
    assert Exemption.objects.filter(pk=e.pk).exists()
    r = staff.post(
        f"/meetings/exemptions/{e.pk}/revoke/", {"reason": "批错支部", "org": tree.town_a.pk}
    )
    assert r.status_code == 302 and not Exemption.objects.filter(pk=e.pk).exists()


def test_api_list_is_scoped(tree, users, api_for):
    with time_machine.travel(at(2024, 4, 2), tick=False):
        r = api_for(users.staff).post(
            "/api/v1/meetings/exemptions/",
            {
                "branch": tree.branch_a.pk,
                "period_key": "2024",
                "kind": "party_lecture",
                "reason": "新成立",
            },
            format="json",
        )
    assert r.status_code == 201 and r.json()["approved_by"] == users.staff.pk
    rows = api_for(users.secretary).get("/api/v1/meetings/exemptions/").json()["results"]
    assert [(x["branch"], x["period_key"], x["kind"]) for x in rows] == [
        (tree.branch_a.pk, "2024", "party_lecture")
    ]
    assert api_for(users.outsider).get("/api/v1/meetings/exemptions/").json()["results"] == []
    assert (
        api_for(users.outsider)
        .get(f"/api/v1/meetings/exemptions/?org={tree.town_a.pk}")
        .status_code
        == 404
    )


def test_rollups_honour_exemptions(tree, users, roster_a):
    """branch_a held nothing in 2024 Q1: red; exempted for the quarter it is compliant in the
    tree rollup after the refresh job, and check_rollups stays clean."""
    from apps.meetings import services

    q = Period.quarter(2024, 1)
    with time_machine.travel(at(2024, 4, 2), tick=False):
        rollups.org_stats_refresh(q)
        before = selectors.compliance_for_subtree(tree.town_a, q)
        row = next(c for c in before.children if c.org_id == tree.branch_a.pk)
        assert row.red == 1 and row.compliant_count == 0
        services.exemption_grant(
            actor=users.staff, branch=tree.branch_a, period_key="2024-Q1", reason="新成立"
        )
        assert selectors.compliance_for_subtree(tree.town_a, q).stale
        rollups.org_stats_refresh_due()
        after = selectors.compliance_for_subtree(tree.town_a, q)
        row = next(c for c in after.children if c.org_id == tree.branch_a.pk)
        assert row.red == 0 and row.compliant_count == 1
        results = selectors.compliance_for_branch(tree.branch_a, q).results
        # the quarter's monthly and quarterly requirements are exempt; yearly ones still run
        assert {r.status for r in results if r.period != "year"} == {rules.EXEMPT}
        assert {r.status for r in results if r.period == "year"} == {rules.PENDING}
        assert tree.branch_a.pk not in {
            c.branch.pk for c in selectors.overdue_requirements(tree.town_a, q)
        }
        call_command("check_rollups")
