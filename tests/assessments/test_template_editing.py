"""Template editing: administrators copy a default template and add, edit and remove indicators;
the weights must add up (clear Chinese messages) before a cycle may use the template."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from apps.assessments import services as svc
from apps.assessments.models import Indicator, Method

D = Decimal


@pytest.fixture
def copy(users, branch_template):
    return svc.template_copy(actor=users.staff, template=branch_template, name="2027年机关支部考核")


def ind(template, code):
    return Indicator.objects.get(template=template, code=code)


def test_a_fresh_copy_adds_up(copy):
    assert svc.template_problems(copy) == []


def test_changing_a_weight_names_the_group_and_the_total(users, copy):
    # B2 4 → 3: 基本制度 now 19 of 20, the first level 99 of 100
    svc.indicator_update(actor=users.staff, indicator=ind(copy, "B2"), max_points="3")
    assert svc.template_problems(copy) == [
        "“B 基本制度”的下级指标合计19.00分，应等于该项分值20.00分。",
    ]
    # move the point to the group instead: B 19 → the first level is 99
    svc.indicator_update(actor=users.staff, indicator=ind(copy, "B"), max_points="19")
    assert svc.template_problems(copy) == ["一级指标（不含加分项和否决项）合计99.00分，应为100分。"]
    # a new 1-point item in 作用发挥 (F 10 → 11) restores 100
    svc.indicator_update(actor=users.staff, indicator=ind(copy, "F"), max_points="11")
    svc.indicator_add(
        actor=users.staff,
        template=copy,
        parent=ind(copy, "F"),
        code="F3",
        name="志愿服务",
        method=Method.MANUAL,
        max_points="1",
    )
    assert svc.template_problems(copy) == []


@time_machine.travel("2026-03-01 10:00+08:00", tick=False)
def test_a_cycle_refuses_a_template_whose_weights_do_not_add_up(tree, users, copy):
    svc.indicator_delete(actor=users.staff, indicator=ind(copy, "D1"))  # D: 14 of 20
    with pytest.raises(ValidationError) as err:
        svc.cycle_open(actor=users.staff, org=tree.town_a, year=2026, branch_template=copy)
    assert "“D 基本保障”的下级指标合计14.00分" in str(err.value)
    svc.indicator_update(actor=users.staff, indicator=ind(copy, "D3"), max_points="14")
    cycle = svc.cycle_open(actor=users.staff, org=tree.town_a, year=2026, branch_template=copy)
    # once used by a cycle, the template keeps the indicators its scores rest on
    with pytest.raises(ValidationError, match="已用于考核周期"):
        svc.indicator_update(actor=users.staff, indicator=ind(copy, "D3"), max_points="13")
    with pytest.raises(ValidationError, match="已用于考核周期"):
        svc.indicator_delete(actor=users.staff, indicator=ind(copy, "D3"))
    assert cycle.branch_template_id == copy.pk


def test_bad_indicators_are_refused_with_chinese_messages_and_nothing_saved(users, copy):
    before = Indicator.objects.filter(template=copy).count()
    cases = [
        (dict(code="B2", name="重复", method="manual", max_points="1"), "编码“B2”在本模板中已存在"),
        (dict(code="X1", name="", method="manual", max_points="1"), "请填写指标名称"),
        (dict(code="X1", name="自动", method="auto", max_points="2"), "须选择数据来源"),
        (
            dict(
                code="X1",
                name="自动",
                method="auto",
                max_points="2",
                source="meetings.theme_day_missed",
                rule="per_unit",
                params={"per": "半分"},
            ),
            "“每次扣（加）分”应为数字",
        ),
        (dict(code="X1", name="零分", method="manual", max_points="0"), "分值应大于0"),
        (dict(code="X1", name="负分", method="manual", max_points="-1"), "不能小于"),
    ]
    for fields, message in cases:
        with pytest.raises(ValidationError, match=message):
            svc.indicator_add(actor=users.staff, template=copy, parent=ind(copy, "B"), **fields)
    with pytest.raises(ValidationError, match="上级指标须为"):
        svc.indicator_add(
            actor=users.staff,
            template=copy,
            parent=ind(copy, "B2"),
            code="X2",
            name="挂在评分项下",
            method="manual",
            max_points="1",
        )
    assert Indicator.objects.filter(template=copy).count() == before


def test_deleting_a_group_removes_its_items(users, copy):
    svc.indicator_delete(actor=users.staff, indicator=ind(copy, "B1"))
    assert not Indicator.objects.filter(template=copy, code__in=["B1", "B1a", "B1d"]).exists()
    assert "“B 基本制度”的下级指标合计14.00分" in svc.template_problems(copy)[0]


def test_defaults_stay_as_shipped_and_only_administrators_edit(users, branch_template, copy):
    with pytest.raises(ValidationError, match="系统默认模板"):
        svc.indicator_delete(actor=users.staff, indicator=ind(branch_template, "B2"))
    with pytest.raises(PermissionDenied):
        svc.indicator_update(actor=users.secretary, indicator=ind(copy, "B2"), max_points="3")


def test_editing_page_on_a_phone_flow(users, copy, client_for):
    c = client_for(users.staff)
    page = c.get(f"/assessments/templates/{copy.pk}/")
    assert page.status_code == 200 and "分值一致" in page.content.decode()
    # add an item under 作用发挥 without raising F: the page names the problem
    response = c.post(
        f"/assessments/templates/{copy.pk}/add/",
        {
            "parent": ind(copy, "F").pk,
            "code": "F3",
            "name": "志愿服务",
            "method": "manual",
            "max_points": "2",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "指标已添加" in html
    assert "“F 作用发挥”的下级指标合计12.00分，应等于该项分值10.00分。" in html
    # a bad rule parameter comes back as a Chinese message; nothing changes
    response = c.post(
        f"/assessments/templates/{copy.pk}/indicator/",
        {
            "indicator": ind(copy, "B2").pk,
            "code": "B2",
            "name": "主题党日",
            "method": "auto",
            "max_points": "4",
            "source": "meetings.theme_day_missed",
            "rule": "per_unit",
            "per": "abc",
        },
        follow=True,
    )
    assert "“每次扣（加）分”应为数字" in response.content.decode()
    assert ind(copy, "B2").params["per"] == "0.5"
    # delete it again: consistent
    c.post(f"/assessments/templates/{copy.pk}/delete/", {"indicator": ind(copy, "F3").pk})
    assert svc.template_problems(copy) == []
    # a secretary may read but not edit
    s = client_for(users.secretary)
    assert "添加一级指标" not in s.get(f"/assessments/templates/{copy.pk}/").content.decode()
    assert (
        s.post(
            f"/assessments/templates/{copy.pk}/delete/", {"indicator": ind(copy, "B2").pk}
        ).status_code
        == 403
    )


def test_api_adds_edits_and_deletes_with_field_errors(users, copy, api_for):
    api = api_for(users.staff)
    bad = api.post(
        f"/api/v1/assessments/templates/{copy.pk}/indicators/",
        {
            "parent": ind(copy, "F").pk,
            "code": "F1",
            "name": "重复",
            "method": "manual",
            "max_points": "1",
        },
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == ["编码“F1”在本模板中已存在。"]
    ok = api.post(
        f"/api/v1/assessments/templates/{copy.pk}/indicators/",
        {
            "parent": ind(copy, "F").pk,
            "code": "F3",
            "name": "志愿服务",
            "method": "manual",
            "max_points": "1",
        },
        format="json",
    )
    assert ok.status_code == 201
    assert ok.json()["problems"] == ["“F 作用发挥”的下级指标合计11.00分，应等于该项分值10.00分。"]
    detail = api.get(f"/api/v1/assessments/templates/{copy.pk}/").json()
    assert detail["problems"] == ok.json()["problems"]
    assert (
        api.patch(
            f"/api/v1/assessments/indicators/{ind(copy, 'F3').pk}/",
            {"max_points": "-1"},
            format="json",
        ).status_code
        == 400
    )
    assert api.delete(f"/api/v1/assessments/indicators/{ind(copy, 'F3').pk}/").status_code == 204
    assert api.get(f"/api/v1/assessments/templates/{copy.pk}/").json()["problems"] == []
