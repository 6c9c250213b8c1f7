import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from apps.core.models import AuditAction, AuditEntry
from apps.core.periods import local_today
from apps.members import roster, services
from apps.members.models import DuesBranchMonth, Member
from tests.members.helpers import id_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang(tree):
    m = services.member_create(
        actor=None,
        branch=tree.branch_a,
        name="张三",
        gender="male",
        id_number=id_for(dt.date(1980, 1, 1)),
        phone="13812345678",
    )
    services.dues_base_set(
        actor=None, member=m, year=local_today().year, kind="employed", base=5000
    )
    return m


def test_every_page_renders_for_the_secretary(tree, users, client_for, zhang):
    a = services.development_apply(
        actor=None,
        branch=tree.branch_a,
        name="申请人",
        gender="female",
        applied_on=local_today(),
        birth_date=dt.date(2000, 1, 1),
    )
    c = client_for(users.secretary)
    for url in [
        "/members/",
        "/members/?q=张",
        f"/members/{zhang.pk}/",
        "/members/pipeline/",
        "/members/due/",
        "/members/dues/",
        "/members/study/",
        "/members/transfers/",
        "/members/import/",
        "/members/export/",
        f"/members/new/?branch={tree.branch_a.pk}",
        f"/members/{zhang.pk}/edit/",
        f"/members/{zhang.pk}/action/suspend/",
        f"/members/{a.pk}/step/",
        f"/members/apply/?branch={tree.branch_a.pk}",
        f"/members/{zhang.pk}/dues/",
        f"/members/{zhang.pk}/study/",
        f"/members/{zhang.pk}/transfer/",
    ]:
        assert c.get(url).status_code == 200, url
    assert client_for(users.staff).get(f"/members/dues/?branch={tree.town_a.pk}").status_code == 200
    assert client_for(users.member).get("/members/me/").status_code == 200


def test_contact_record_and_pending_resolution_pages(tree, users, client_for, zhang):
    from apps.members.models import PendingItem

    services.member_lost_contact_mark(actor=None, member=zhang, since=dt.date(2020, 1, 1))
    services.lifecycle_prompts_sweep()
    item = PendingItem.objects.get(member=zhang)
    c = client_for(users.secretary)
    page = c.get(f"/members/{zhang.pk}/").content.decode()
    assert "联系记录" in page and f"/members/{zhang.pk}/pending/{item.pk}/" in page
    r = c.post(
        f"/members/{zhang.pk}/contact/", {"contacted_on": local_today().isoformat(), "way": "电话"}
    )
    assert r.status_code == 302 and zhang.contacts.count() == 1
    r = c.post(f"/members/{zhang.pk}/pending/{item.pk}/", {"resolution": "已取得联系，不停止党籍"})
    item.refresh_from_db()
    assert r.status_code == 302 and item.resolved_on == local_today()
    assert client_for(users.outsider).get(f"/members/{zhang.pk}/contact/").status_code == 404


def test_pages_mask_personal_data(users, client_for, zhang):
    body = client_for(users.secretary).get(f"/members/{zhang.pk}/").content.decode()
    assert zhang.id_number_masked in body and zhang.id_number not in body
    assert "138****5678" in body and "13812345678" not in body


def test_outsider_404_and_read_only_403(users, client_for, zhang, tree):
    assert client_for(users.outsider).get(f"/members/{zhang.pk}/").status_code == 404
    assert (
        client_for(users.outsider)
        .post(f"/members/{zhang.pk}/action/suspend/", {"on": "2026-01-01"})
        .status_code
        == 404
    )
    assert client_for(users.staff).get(f"/members/{zhang.pk}/edit/").status_code == 403
    assert client_for(users.admin).get(f"/members/{zhang.pk}/dues/").status_code == 403
    assert client_for(users.outsider).get("/members/?q=张").content.decode().count("张三") == 0
    assert client_for(users.outsider).get(f"/members/?org={tree.branch_a.pk}").status_code == 404


def test_reveal_through_page_needs_reason_and_is_audited(users, client_for, zhang):
    c = client_for(users.secretary)
    url = f"/reveal/members.member/{zhang.pk}/id_number/"
    assert f'hx-get="{url}"' in c.get(f"/members/{zhang.pk}/").content.decode()
    r = c.post(url, {"reason": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "请填写查看原因" in r.content.decode()
    r = c.post(url, {"reason": "核对身份"}, HTTP_HX_REQUEST="true")
    assert zhang.id_number in r.content.decode()
    assert (
        AuditEntry.objects.filter(action=AuditAction.REVEAL, object_id=str(zhang.pk)).count() == 1
    )
    committee = client_for(users.committee)
    assert committee.post(url, {"reason": "x x"}).status_code == 403
    assert f'hx-get="{url}"' not in committee.get(f"/members/{zhang.pk}/").content.decode()


def test_one_click_dues_marking(users, client_for, zhang, tree):
    row = zhang.dues_months.get(month=local_today().replace(day=1))
    r = client_for(users.secretary).post(f"/members/dues/{row.pk}/mark/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已交" in r.content.decode()
    roll = DuesBranchMonth.objects.get(branch=tree.branch_a, month=row.month)
    assert roll.paid == row.expected and roll.in_arrears == 0
    assert client_for(users.staff).post(f"/members/dues/{row.pk}/mark/").status_code == 403
    assert client_for(users.outsider).post(f"/members/dues/{row.pk}/mark/").status_code == 404


def test_lifecycle_form_shows_refusal_in_chinese(users, client_for, zhang):
    r = client_for(users.secretary).post(
        f"/members/{zhang.pk}/action/restore/", {"on": local_today().isoformat(), "reason": "x"}
    )
    assert r.status_code == 400 and "当前为“正式党员”，不能办理“恢复党籍”" in r.content.decode()


def _roster(rows) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "序号",
            "姓名",
            "性别",
            "公民身份号码",
            "民族",
            "出生日期",
            "学历",
            "人员类别",
            "入党日期",
            "转正日期",
            "工作单位及职务",
            "联系电话",
            "所在党支部",
        ]
    )
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "roster.xlsx"
    return out


def test_import_dates_and_loose_headers(tree, users):
    good = id_for(dt.date(1990, 7, 1), male=False, seq=3)
    f = _roster(
        [
            [
                1,
                "李梅",
                "女",
                good,
                "汉族",
                "1990年7月1日",
                "本科",
                "专业技术人员",
                "2015.7.1",
                "2016/07/01",
                "县医院 护士长",
                "139 0000 1111",
                "甲村党支部",
            ],
            [
                2,
                "王强",
                "男",
                "",
                "回族",
                dt.datetime(1985, 3, 2),
                "大专",
                "农民",
                "20100701",
                None,
                "",
                "",
                "甲村党支部",
            ],
        ]
    )
    result = roster.roster_import(actor=users.secretary, file=f)
    assert result.ok, result.errors
    li = Member.objects.get(name="李梅")
    assert (li.joined_on, li.confirmed_on, li.status, li.work_unit, li.post) == (
        dt.date(2015, 7, 1),
        dt.date(2016, 7, 1),
        "full",
        "县医院",
        "护士长",
    )
    wang = Member.objects.get(name="王强")
    assert wang.status == "probationary" and wang.birth_date == dt.date(1985, 3, 2)
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT).count() == 1


def test_import_with_one_bad_row_imports_nothing(tree, users, client_for):
    good = id_for(dt.date(1990, 7, 1), male=False, seq=3)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    f = _roster(
        [
            [1, "李梅", "女", good, "汉族", "", "本科", "", "2015.7.1", "", "", "", "甲村党支部"],
            [2, "赵六", "男", bad, "汉族", "", "", "", "", "", "", "", "甲村党支部"],
            [
                3,
                "孙七",
                "男",
                "",
                "汉族",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "丙村党支部",
            ],  # outside the subtree
        ]
    )
    r = client_for(users.secretary).post("/members/import/", {"file": f, "download": "1"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    errors = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert errors[0] == ("行号", "列", "问题")
    assert {(row, col) for row, col, _ in errors[1:]} == {(3, "公民身份号码"), (4, "所在党支部")}
    assert not Member.objects.filter(name__in=["李梅", "赵六", "孙七"]).exists()


def test_export_masked_unless_revealed_with_reason(tree, users, client_for, zhang):
    c = client_for(users.secretary)
    r = c.post(f"/members/export/?org={tree.branch_a.pk}", {})
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert zhang.id_number_masked in rows[1] or any(
        zhang.id_number_masked in (row or ()) for row in rows
    )
    assert not any(zhang.id_number in row for row in rows)
    r = c.post(f"/members/export/?org={tree.branch_a.pk}", {"reveal": "on", "reason": ""})
    assert r.status_code == 400
    r = c.post(f"/members/export/?org={tree.branch_a.pk}", {"reveal": "on", "reason": "上报组织部"})
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert any(zhang.id_number in row for row in rows)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 2
    assert (
        client_for(users.outsider).get(f"/members/export/?org={tree.branch_a.pk}").status_code
        == 404
    )


def test_step_page_shows_only_what_the_step_needs_and_keeps_dates_after_an_error(
    tree, users, client_for
):
    a = services.development_apply(
        actor=None,
        branch=tree.branch_a,
        name="申请人",
        gender="female",
        applied_on=local_today(),
        birth_date=dt.date(2000, 1, 1),
    )
    c = client_for(users.secretary)
    training = c.get(f"/members/{a.pk}/step/?step=11").content.decode()
    assert "培训天数" in training and "培训学时" in training
    assert "赞成票" not in training and "公示开始" not in training
    meeting = c.get(f"/members/{a.pk}/step/?step=15").content.decode()
    assert "赞成票" in meeting and "公示开始" in meeting and "培训天数" not in meeting
    sponsors = c.get(f"/members/{a.pk}/step/?step=9").content.decode()
    assert "入党介绍人（2名正式党员）" in sponsors
    assert c.get(f"/members/{a.pk}/step/?step=abc").status_code == 404

    # A training record that is too short is refused; the form comes back with its date.
    r = c.post(
        f"/members/{a.pk}/step/?step=11",
        {"step": "11", "done_on": "2026-03-02", "training_days": "1"},
    )
    assert r.status_code in (200, 400)
    page = r.content.decode()
    assert 'value="2026-03-02"' in page
    assert not a.steps.filter(step=11).exists()


def test_list_filters_by_management_status_page_and_api(tree, users, client_for, api_for):
    from apps.members.models import ManagementStatus
    from tests.factories import MemberFactory

    away = MemberFactory(
        branch=tree.branch_a, name="外出党员", management_status=ManagementStatus.MOBILE_OUT
    )
    MemberFactory(
        branch=tree.branch_a, name="在家党员", management_status=ManagementStatus.EMPLOYED
    )
    MemberFactory(
        branch=tree.branch_c, name="别村外出", management_status=ManagementStatus.MOBILE_OUT
    )
    page = (
        client_for(users.secretary).get("/members/?management_status=mobile_out").content.decode()
    )
    assert "外出党员" in page and "在家党员" not in page and "别村外出" not in page
    rows = api_for(users.secretary).get("/api/v1/members/?management_status=mobile_out").json()
    assert [r["id"] for r in rows["results"]] == [away.pk]
