"""Bad query strings and roster cells: a Chinese message, never a 500."""

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from apps.members import roster
from apps.members.models import Member
from tests.members.helpers import id_for

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "性别",
    "公民身份号码",
    "民族",
    "出生日期",
    "入党日期",
    "转正日期",
    "工作单位",
    "职务",
    "所在党支部",
]


def _book(rows) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "roster.xlsx"
    return out


def _row(**kw):
    base = {
        "姓名": "李梅",
        "性别": "女",
        "公民身份号码": id_for(dt.date(1990, 7, 9), male=False, seq=3),
        "民族": "汉族",
        "出生日期": "",
        "入党日期": "2015.7.1",
        "转正日期": "2016.7.1",
        "工作单位": "县医院",
        "职务": "护士",
        "所在党支部": "甲村党支部",
    }
    base.update(kw)
    return [base[h] for h in HEADER]


@pytest.mark.parametrize("year", ["abc", "99999", "-1", "2026x"])
def test_study_page_with_a_bad_year_is_not_a_500(users, client_for, year):
    r = client_for(users.secretary).get(f"/members/study/?year={year}", follow=True)
    assert r.status_code == 200 and "无效" in r.content.decode()


def test_member_list_with_a_huge_page_is_not_a_500(users, client_for):
    r = client_for(users.secretary).get("/members/?page=99999999999999999999999")
    assert r.status_code == 200


def test_roster_text_longer_than_the_column_is_an_error_row(tree, users):
    f = _book([_row(民族="汉" * 17), _row(姓名="王" * 65, 公民身份号码="", 工作单位="单" * 121)])
    result = roster.roster_import(actor=users.secretary, file=f)
    assert not result.ok and not Member.objects.filter(name="李梅").exists()
    problems = {(row, col): text for row, col, text in result.errors}
    assert "不能超过16个字符" in problems[(2, "民族")]
    assert "不能超过64个字符" in problems[(3, "姓名")]
    assert "不能超过120个字符" in problems[(3, "工作单位")]
    ws = load_workbook(io.BytesIO(result.error_workbook())).active
    assert any("不能超过16个字符" in str(c.value) for c in ws["C"])


def test_roster_year_month_dates(tree, users):
    f = _book(
        [
            _row(入党日期="2015.07", 转正日期="2016年7月", 出生日期="1990.07"),
            _row(
                姓名="王强",
                性别="男",
                公民身份号码=id_for(dt.date(1985, 3, 2), seq=5),
                出生日期="1985年3月",
                入党日期=2010.07,
                转正日期="2011-7",
            ),
        ]
    )
    result = roster.roster_import(actor=users.secretary, file=f)
    assert result.ok, result.errors
    li = Member.objects.get(name="李梅")
    assert (li.birth_date, li.joined_on, li.confirmed_on) == (
        dt.date(1990, 7, 9),
        dt.date(2015, 7, 1),
        dt.date(2016, 7, 1),
    )
    wang = Member.objects.get(name="王强")
    assert (wang.birth_date, wang.joined_on, wang.confirmed_on) == (
        dt.date(1985, 3, 2),
        dt.date(2010, 7, 1),
        dt.date(2011, 7, 1),
    )


def test_roster_birth_year_month_must_agree_or_have_an_id(tree, users):
    f = _book(
        [
            _row(出生日期="1990.08"),
            _row(姓名="无证", 公民身份号码="", 出生日期="1980.01"),
            _row(姓名="预备", 公民身份号码="", 出生日期="1980.1.1", 入党日期="", 转正日期=""),
        ]
    )
    result = roster.roster_import(actor=users.secretary, file=f)
    problems = {(row, col): text for row, col, text in result.errors}
    assert "不一致" in problems[(2, "出生日期")]
    assert "只有年月" in problems[(3, "出生日期")]
    assert not result.ok


def test_roster_probationary_needs_joined_on(tree, users):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "性别", "出生日期", "党员类别", "所在党支部"])
    ws.append(["预备", "男", "1990.1.1", "预备党员", "甲村党支部"])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "r.xlsx"
    result = roster.roster_import(actor=users.secretary, file=out)
    assert not result.ok
    assert any(col == "入党日期" and "预备党员须填写入党日期" in t for _, col, t in result.errors)


def test_roster_huge_excel_serial_is_an_error_not_a_500(tree, users):
    f = _book([_row(入党日期=1e12)])
    result = roster.roster_import(actor=users.secretary, file=f)
    assert not result.ok and any(col == "入党日期" for _, col, _t in result.errors)
