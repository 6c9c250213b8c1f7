"""API endpoints that mirror member pages: the same selectors and services, the same scope
(outsider 404, read-only 403, owner OK)."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from apps.accounts.models import Role
from apps.core.models import AuditAction, AuditEntry
from apps.core.periods import local_today
from apps.members import services
from apps.members.models import MemberStatus, PendingItem, TransferState
from apps.members.views import XLSX
from tests.factories import MemberFactory, make_user
from tests.members.helpers import id_for

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


# --- pipeline -----------------------------------------------------------------------------------
def _applicant(branch, name="申请人"):
    return services.development_apply(
        actor=None,
        branch=branch,
        name=name,
        gender="male",
        applied_on=local_today(),
        birth_date=dt.date(2000, 1, 1),
    )


def test_pipeline_counts_people_per_stage_in_the_org(users, api_for, tree, full):
    a = _applicant(tree.branch_a, "李四")
    _applicant(tree.branch_b, "王五")
    MemberFactory(branch=tree.branch_a, status=MemberStatus.PROBATIONARY)
    api = api_for(users.staff)
    stages = {s["stage"]: s for s in api.get("/api/v1/members/pipeline/").json()}
    assert list(stages) == ["applicant", "activist", "candidate", "probationary"]
    assert stages["applicant"]["label"] == "入党申请人"
    assert stages["applicant"]["count"] == 2 and stages["probationary"]["count"] == 1
    r = api.get("/api/v1/members/pipeline/", {"org": tree.branch_a.pk})
    stages = {s["stage"]: s for s in r.json()}
    assert stages["applicant"]["count"] == 1
    person = stages["applicant"]["members"][0]
    assert person["id"] == a.pk and person["branch_name"] == "甲村党支部"
    assert person["last_step"] == 1
    assert full.pk not in {m["id"] for s in stages.values() for m in s["members"]}


def test_pipeline_org_outside_is_404_and_bad_org_is_400(users, api_for, tree):
    api = api_for(users.secretary)
    assert api.get("/api/v1/members/pipeline/", {"org": tree.branch_c.pk}).status_code == 404
    assert api.get("/api/v1/members/pipeline/", {"org": 999999}).status_code == 404
    r = api.get("/api/v1/members/pipeline/", {"org": "甲村"})
    assert r.status_code == 400 and "整数" in r.json()["org"][0]


# --- contacts (联系记录) ---------------------------------------------------------------------------
@pytest.fixture
def mobile(tree):
    return MemberFactory(
        branch=tree.branch_a,
        status=MemberStatus.FULL,
        management_status="mobile_out",
        mobile_out_to="广东省深圳市",
    )


def test_contact_recorded_through_the_api_shows_on_list_and_timeline(users, api_for, mobile):
    api = api_for(users.secretary)
    on = local_today().isoformat()
    r = api.post(
        f"/api/v1/members/{mobile.pk}/contacts/",
        {"contacted_on": on, "way": "微信", "note": "在深圳务工，按时交纳党费"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["way"] == "微信" and r.json()["recorded_by"]
    assert mobile.contacts.get().note == "在深圳务工，按时交纳党费"
    assert AuditEntry.objects.filter(verb="mobile_contact_record").count() == 1
    listed = api.get(f"/api/v1/members/{mobile.pk}/contacts/").json()
    assert [c["contacted_on"] for c in listed] == [on]
    timeline = api.get(f"/api/v1/members/{mobile.pk}/timeline/").json()
    assert any(e["kind"] == "contact" and "微信" in e["detail"] for e in timeline)


def test_contact_bad_input_is_400_in_chinese_and_writes_nothing(users, api_for, mobile):
    api = api_for(users.secretary)
    url = f"/api/v1/members/{mobile.pk}/contacts/"
    r = api.post(url, {"way": "电话"}, format="json")
    assert r.status_code == 400 and "必填" in r.json()["contacted_on"][0]
    r = api.post(url, {"contacted_on": "昨天"}, format="json")
    assert r.status_code == 400 and "日期格式错误" in r.json()["contacted_on"][0]
    future = (local_today() + dt.timedelta(days=1)).isoformat()
    r = api.post(url, {"contacted_on": future}, format="json")
    assert r.status_code == 400 and r.json()["contacted_on"] == ["联系日期不能晚于今天。"]
    r = api.post(url, {"contacted_on": local_today().isoformat(), "way": "电" * 41}, format="json")
    assert r.status_code == 400 and "40" in r.json()["way"][0]
    assert not mobile.contacts.exists()


def test_contact_scope_outsider_404_read_only_403(users, api_for, mobile):
    url = f"/api/v1/members/{mobile.pk}/contacts/"
    body = {"contacted_on": local_today().isoformat()}
    assert api_for(users.outsider).get(url).status_code == 404
    assert api_for(users.outsider).post(url, body, format="json").status_code == 404
    assert api_for(users.admin).get(url).status_code == 200
    assert api_for(users.admin).post(url, body, format="json").status_code == 403
    assert api_for(users.staff).post(url, body, format="json").status_code == 403
    assert not mobile.contacts.exists()


# --- pending items (待处理事项) ----------------------------------------------------------------------
def _item(member, kind="lapse_review"):
    return PendingItem.objects.create(
        member=member,
        branch=member.branch,
        kind=kind,
        raised_on=local_today(),
        detail="连续6个月未交纳党费",
    )


def test_pending_lists_open_items_in_the_org_and_resolves_one(users, api_for, tree, full):
    mine = _item(full)
    other = _item(MemberFactory(branch=tree.branch_b, status=MemberStatus.FULL))
    _item(MemberFactory(branch=tree.branch_c, status=MemberStatus.FULL))
    staff = api_for(users.staff)
    assert {p["id"] for p in staff.get("/api/v1/members/pending/").json()["results"]} == {
        mine.pk,
        other.pk,
    }
    r = staff.get("/api/v1/members/pending/", {"org": tree.branch_a.pk})
    (row,) = r.json()["results"]
    assert row["id"] == mine.pk and row["kind_display"].endswith("自行脱党审查")
    assert row["member_name"] == "张三" and row["branch_name"] == "甲村党支部"

    r = api_for(users.secretary).post(
        f"/api/v1/members/pending/{mine.pk}/resolve/",
        {"resolution": "经支部研究，本人已补交党费"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["resolved_on"] == local_today().isoformat()
    mine.refresh_from_db()
    assert mine.resolution == "经支部研究，本人已补交党费"
    assert AuditEntry.objects.filter(verb="pending_resolve").count() == 1
    # resolved: off the list and, like on the page, no longer resolvable
    assert staff.get("/api/v1/members/pending/", {"org": tree.branch_a.pk}).json()["count"] == 0
    r = api_for(users.secretary).post(
        f"/api/v1/members/pending/{mine.pk}/resolve/", {"resolution": "再次"}, format="json"
    )
    assert r.status_code == 404


def test_pending_resolve_needs_a_resolution_in_chinese(users, api_for, full):
    item = _item(full)
    api = api_for(users.secretary)
    url = f"/api/v1/members/pending/{item.pk}/resolve/"
    r = api.post(url, {}, format="json")
    assert r.status_code == 400 and "必填" in r.json()["resolution"][0]
    r = api.post(url, {"resolution": ""}, format="json")
    assert r.status_code == 400 and "不能为空" in r.json()["resolution"][0]
    item.refresh_from_db()
    assert item.resolved_on is None


def test_pending_scope_outsider_404_read_only_403(users, api_for, tree, full):
    item = _item(full)
    url = f"/api/v1/members/pending/{item.pk}/resolve/"
    body = {"resolution": "已研究"}
    assert api_for(users.outsider).post(url, body, format="json").status_code == 404
    assert api_for(users.outsider).get("/api/v1/members/pending/").json()["count"] == 0
    r = api_for(users.outsider).get("/api/v1/members/pending/", {"org": tree.branch_a.pk})
    assert r.status_code == 404
    assert api_for(users.admin).post(url, body, format="json").status_code == 403
    item.refresh_from_db()
    assert item.resolved_on is None


# --- transfer reject (退回) -------------------------------------------------------------------------
@pytest.fixture
def approved(tree, full):
    t = services.member_transfer_start(
        actor=None,
        member=full,
        kind="internal",
        applied_on=local_today(),
        target_org=tree.town_b,
    )
    return services.member_transfer_approve(actor=None, transfer=t)


@pytest.fixture
def town_b_staff(tree):
    return make_user(Role.ORG_STAFF, tree.town_b, username="town_b_staff")


def test_receiving_side_rejects_on_the_page_with_a_reason(
    tree, users, client_for, approved, town_b_staff
):
    c = client_for(town_b_staff)
    page = c.get("/members/transfers/").content.decode()
    assert f"/members/transfers/{approved.pk}/reject/" in page and "退回原因" in page
    r = c.post(f"/members/transfers/{approved.pk}/reject/", {"note": " "}, follow=True)
    assert "请填写退回原因" in r.content.decode()
    approved.refresh_from_db()
    assert approved.state == TransferState.APPROVED
    c.post(f"/members/transfers/{approved.pk}/reject/", {"note": "该同志已在本镇另一支部"})
    approved.refresh_from_db()
    assert approved.state == TransferState.REJECTED
    event = approved.events.order_by("-id").first()
    assert event.to_state == TransferState.REJECTED and event.note == "该同志已在本镇另一支部"
    assert event.actor == town_b_staff
    # the source keeps the member: nothing moved
    assert approved.member.branch == tree.branch_a


def test_reject_through_the_api_needs_a_reason_and_the_receiving_side(
    tree, users, api_for, approved, town_b_staff
):
    url = f"/api/v1/members/transfers/{approved.pk}/reject/"
    r = api_for(town_b_staff).post(url, {}, format="json")
    assert r.status_code == 400 and r.json()["note"] == ["请填写退回原因。"]
    r = api_for(town_b_staff).post(url, {"note": "退" * 301}, format="json")
    assert r.status_code == 400 and "300" in r.json()["note"][0]
    # the source side may withdraw, not reject in the target's name
    assert api_for(users.secretary).post(url, {"note": "x"}, format="json").status_code == 404
    assert api_for(users.outsider).post(url, {"note": "x"}, format="json").status_code == 404
    approved.refresh_from_db()
    assert approved.state == TransferState.APPROVED
    r = api_for(town_b_staff).post(url, {"note": "未附党费交纳证明"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == TransferState.REJECTED


# --- roster export ----------------------------------------------------------------------------------
@pytest.fixture
def with_id(tree):
    return services.member_create(
        actor=None,
        branch=tree.branch_a,
        name="赵六",
        gender="male",
        id_number=id_for(dt.date(1980, 1, 1)),
        phone="13812345678",
    )


def _rows(response):
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_export_is_the_page_workbook_masked_and_audited(tree, users, api_for, with_id):
    api = api_for(users.secretary)
    r = api.get("/api/v1/members/export/", {"org": tree.branch_a.pk})
    assert r.status_code == 200 and r["Content-Type"] == XLSX
    assert r["Content-Disposition"].endswith(f'roster-{tree.branch_a.code}.xlsx"')
    rows = _rows(r)
    assert rows[0][:3] == ("姓名", "性别", "公民身份号码")
    mine = next(row for row in rows if row[0] == "赵六")
    assert with_id.id_number_masked in mine and "138****5678" in mine
    assert not any(with_id.id_number in row or "13812345678" in row for row in rows)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == users.secretary and entry.changes["revealed"] is False
    # asking for the workbook by Accept works too
    r = api.get("/api/v1/members/export/", {"org": tree.branch_a.pk}, HTTP_ACCEPT=XLSX)
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_export_reveal_needs_the_permission_and_a_reason(tree, users, api_for, with_id):
    url = "/api/v1/members/export/"
    q = {"org": tree.branch_a.pk, "reveal": "true"}
    r = api_for(users.secretary).get(url, q)
    assert r.status_code == 400 and r.json()["reason"] == ["导出完整个人信息须填写原因。"]
    assert api_for(users.committee).get(url, {**q, "reason": "上报组织部"}).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
    r = api_for(users.secretary).get(url, {**q, "reason": "上报组织部"})
    assert r.status_code == 200
    assert any(with_id.id_number in row for row in _rows(r))
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.changes["revealed"] is True and entry.reason == "上报组织部"


def test_export_scope_and_bad_parameters(tree, users, api_for, with_id):
    url = "/api/v1/members/export/"
    assert api_for(users.outsider).get(url, {"org": tree.branch_a.pk}).status_code == 404
    r = api_for(users.secretary).get(url, {"org": tree.branch_a.pk, "reveal": "也许"})
    assert r.status_code == 400 and "布尔" in r.json()["reveal"][0]
    r = api_for(users.outsider).get(url)  # no org: the outsider's own subtree only
    assert r.status_code == 200 and not any(row[0] == "赵六" for row in _rows(r))
    assert api_for(users.member).get(url).status_code == 403
