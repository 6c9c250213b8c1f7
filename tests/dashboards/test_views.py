"""Dashboard pages, downloads and API: scope, figures, bad input."""

from __future__ import annotations

import io

import pytest
import time_machine
from openpyxl import load_workbook

from apps.core.models import AuditEntry
from apps.dashboards.services import member_stats_refresh
from apps.members.models import Member
from tests.dashboards.conftest import AS_OF

pytestmark = pytest.mark.django_db
ROSTER = {"full", "probationary", "probation_extended"}


@pytest.fixture
def rolled(populated, users):
    member_stats_refresh(as_of=AS_OF)
    return populated


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-10-10 10:00 +0800", tick=False):
        yield


def test_home_redirects_to_the_top_visible_org(rolled, users, client_for):
    response = client_for(users.staff).get("/dashboards/")
    assert response.status_code == 302
    assert response.url == f"/dashboards/org/{rolled.town_a.pk}/"


def test_page_shows_figures_and_drill_down_links(rolled, users, client_for):
    response = client_for(users.admin).get(f"/dashboards/org/{rolled.county.pk}/?q=2026-Q3")
    assert response.status_code == 200
    html = response.content.decode()
    roster = Member.objects.filter(status__in=ROSTER).count()
    assert f'<div class="fs-4 fw-semibold text-party">{roster}</div>' in html
    assert f'href="/dashboards/org/{rolled.town_a.pk}/?q=2026-Q3"' in html
    assert "年龄结构" in html and "党龄结构" in html and "echarts.min.js" in html


@pytest.mark.parametrize(
    ("who", "org", "status"),
    [
        ("staff", "town_a", 200),
        ("staff", "branch_a", 200),
        ("staff", "county", 404),
        ("staff", "branch_c", 404),
        ("outsider", "branch_a", 404),
        ("secretary", "branch_a", 200),
        ("member", "branch_a", 403),
        ("nobody", "branch_a", 404),
    ],
)
def test_scope_of_pages_and_downloads(rolled, users, client_for, who, org, status):
    client = client_for(getattr(users, who))
    pk = getattr(rolled, org).pk
    assert client.get(f"/dashboards/org/{pk}/").status_code == status
    assert client.get(f"/dashboards/org/{pk}/export/age.xlsx").status_code == status


def test_download_is_the_table_and_is_audited(rolled, users, client_for):
    response = client_for(users.staff).get(
        f"/dashboards/org/{rolled.town_a.pk}/export/gender.xlsx?q=2026-Q3"
    )
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=4, values_only=True)}
    in_town = Member.objects.filter(branch__path__startswith=rolled.town_a.path, status__in=ROSTER)
    assert values.get("男", 0) == in_town.filter(gender="male").count()
    assert values.get("女", 0) == in_town.filter(gender="female").count()
    entry = AuditEntry.objects.get(verb="dashboard_export")
    assert (
        entry.action == "export"
        and entry.org_id == rolled.town_a.pk
        and entry.actor_id == users.staff.pk
    )


def test_unknown_section_is_404_and_bad_quarter_is_a_message(rolled, users, client_for):
    client = client_for(users.admin)
    assert client.get(f"/dashboards/org/{rolled.county.pk}/export/nope.xlsx").status_code == 404
    response = client.get(f"/dashboards/org/{rolled.county.pk}/?q=2099-Q1", follow=True)
    assert response.status_code == 200
    assert "不能查看尚未开始的季度" in response.content.decode()
    assert (
        client.get(f"/dashboards/org/{rolled.county.pk}/export/all.xlsx?q=garbage").status_code
        == 400
    )


def test_api_returns_the_same_sections_and_400_on_bad_quarter(rolled, users, api_for):
    api = api_for(users.admin)
    data = api.get(f"/api/v1/dashboards/orgs/{rolled.town_a.pk}/?quarter=2026-Q3").json()
    sections = {s["code"]: s for s in data["sections"]}
    assert data["members_as_of"] == AS_OF.isoformat()
    children = {row[0]: row[1] for row in sections["children"]["rows"]}
    for branch in (rolled.branch_a, rolled.branch_b):
        assert (
            children[branch.name] == Member.objects.filter(branch=branch, status__in=ROSTER).count()
        )
    bad = api.get(f"/api/v1/dashboards/orgs/{rolled.town_a.pk}/?quarter=2026-07")
    assert bad.status_code == 400 and "quarter" in bad.json()


@pytest.mark.parametrize("quarter", ["0-Q1", "-5-Q1", "99999-Q4"])
def test_a_year_no_calendar_holds_is_a_message_not_an_error(
    rolled, users, client_for, api_for, quarter
):
    page = client_for(users.admin).get(f"/dashboards/org/{rolled.county.pk}/?q={quarter}")
    assert page.status_code == 200 and "期间年份超出范围" in page.content.decode()
    export = client_for(users.admin).get(
        f"/dashboards/org/{rolled.county.pk}/export/all.xlsx?q={quarter}"
    )
    assert export.status_code == 400
    api = api_for(users.admin).get(f"/api/v1/dashboards/orgs/{rolled.county.pk}/?quarter={quarter}")
    assert api.status_code == 400 and "期间年份超出范围" in api.json()["quarter"][0]


def test_text_that_looks_like_a_formula_stays_text_in_the_workbook(rolled, users, client_for):
    rolled.branch_a.name = '=HYPERLINK("http://x","点击")'
    rolled.branch_a.save(update_fields=["name"])
    response = client_for(users.admin).get(
        f"/dashboards/org/{rolled.town_a.pk}/export/children.xlsx?q=2026-Q3"
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["下级党组织党员情况"]
    cells = [row[0] for row in sheet.iter_rows(min_row=4)]
    names = {c.value: c.data_type for c in cells}
    assert names[rolled.branch_a.name] == "s"  # a string, not a formula Excel would run


def test_past_quarter_reads_its_closing_snapshot(rolled, users, api_for):
    Member.objects.create(branch=rolled.branch_c, name="十月新党员", gender="male", status="full")
    member_stats_refresh(as_of=AS_OF.replace(month=10, day=9))
    api = api_for(users.admin)

    def total(q):
        data = api.get(f"/api/v1/dashboards/orgs/{rolled.county.pk}/?quarter={q}").json()
        return {s["code"]: s for s in data["sections"]}["summary"]["rows"][0][1]

    assert total("2026-Q4") == total("2026-Q3") + 1
