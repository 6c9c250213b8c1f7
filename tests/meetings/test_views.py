"""Pages: owner flow on the phone pages, outsider 404, read-only 403."""

from __future__ import annotations

import pytest
import time_machine

from apps.meetings.models import Meeting, MeetingState
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_secretary_plans_records_and_submits_in_pages(tree, users, roster_a, client_for):
    c = client_for(users.secretary)
    r = c.get("/meetings/")
    assert r.status_code == 200 and "甲村党支部" in r.content.decode()
    r = c.post(
        "/meetings/plan/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["theme_day"],
            "title": "",
            "day": "2024-03-18",
            "start": "09:00",
            "end": "10:00",
        },
    )
    assert r.status_code == 400 and "请填写会议名称或议题" in r.content.decode()
    r = c.post(
        "/meetings/plan/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["theme_day"],
            "title": "三月主题党日",
            "day": "2024-03-18",
            "start": "09:00",
            "end": "10:00",
            "unplanned_reason": "临时调整",
        },
    )
    m = Meeting.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/meetings/{m.pk}/record/"
    page = c.get(f"/meetings/{m.pk}/record/").content.decode()
    assert "出席" in page and "请假" in page
    for a in m.attendances.all():
        r = c.post(
            f"/meetings/{m.pk}/attendance/{a.member_id}/",
            {"status": "present"},
            HTTP_HX_REQUEST="true",
        )
        assert r.status_code == 200
    a = m.attendances.first()
    r = c.post(
        f"/meetings/{m.pk}/attendance/{a.member_id}/", {"status": "leave"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 400 and "请假须填写原因" in r.content.decode()
    r = c.post(
        f"/meetings/{m.pk}/attendance/{a.member_id}/",
        {"status": "leave"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_PROMPT="出差",
    )
    assert r.status_code == 200
    r = c.post(f"/meetings/{m.pk}/submit/")
    assert r.status_code == 400 and "请填写主持人" in r.content.decode()
    r = c.post(
        f"/meetings/{m.pk}/record/",
        {"host": a.member_id, "recorder": a.member_id, "minutes": "学习讨论。"},
    )
    assert r.status_code == 302
    assert c.post(f"/meetings/{m.pk}/submit/").status_code == 302
    m.refresh_from_db()
    assert m.state == MeetingState.SUBMITTED and m.leave_count == 1
    detail = c.get(f"/meetings/{m.pk}/").content.decode()
    assert "会议记录" in detail and "出差" in detail
    # the superior reviews
    s = client_for(users.staff)
    assert "三月主题党日" in s.get("/meetings/review/").content.decode()
    assert s.post(f"/meetings/{m.pk}/return/", {"comment": ""}).status_code == 400
    assert s.post(f"/meetings/{m.pk}/return/", {"comment": "缺少签到表"}).status_code == 302
    m.refresh_from_db()
    assert m.state == MeetingState.RETURNED
    assert s.get(f"/meetings/compliance/?org={tree.town_a.pk}&period=2024-Q1").status_code == 200


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_scope_on_pages(tree, users, roster_a, client_for):
    m = hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 10))
    outsider = client_for(users.outsider)
    for url in (
        f"/meetings/{m.pk}/",
        f"/meetings/{m.pk}/record/",
        f"/meetings/?branch={tree.branch_a.pk}",
        f"/meetings/plan/?branch={tree.branch_a.pk}",
        f"/meetings/compliance/?org={tree.town_a.pk}",
    ):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"/meetings/{m.pk}/accept/").status_code == 404
    assert "测试会议" not in outsider.get("/meetings/review/?state=").content.decode()
    assert "测试会议" in client_for(users.staff).get("/meetings/review/?state=").content.decode()
    admin = client_for(users.admin)  # read-only at the county
    assert admin.get(f"/meetings/{m.pk}/").status_code == 200
    assert admin.get(f"/meetings/{m.pk}/record/").status_code == 403
    assert admin.post(f"/meetings/{m.pk}/accept/").status_code == 403
    secretary = client_for(users.secretary)
    assert secretary.post(f"/meetings/{m.pk}/accept/").status_code == 403
    assert client_for(users.staff).post(f"/meetings/{m.pk}/accept/").status_code == 302
    member = client_for(users.member)  # an expected attendee: read-only (test_member_scope.py)
    assert member.get(f"/meetings/{m.pk}/").status_code == 200
    assert member.get(f"/meetings/{m.pk}/record/").status_code == 403


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_election_form_on_the_record_page(tree, users, roster_a, client_for):
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["general_meeting"],
        when=at(2024, 3, 12),
        submit=False,
    )
    c = client_for(users.secretary)
    url = f"/meetings/{m.pk}/elections/"
    r = c.post(url, {"contest": "支部委员会委员", "seats": 3, "candidates": "张三 8\n李四 七"})
    assert r.status_code == 400 and "第2行格式有误" in r.content.decode()
    r = c.post(
        url, {"contest": "支部委员会委员", "seats": 3, "candidates": "张三 8\n李四 7\n王五 6"}
    )
    assert r.status_code == 400 and "至少4名" in r.content.decode()
    r = c.post(
        url,
        {
            "contest": "支部委员会委员",
            "seats": 3,
            "candidates": "张三 8\n李四 6 1\n王五 5，2\n赵六 5\n钱七 0",
        },
    )
    assert r.status_code == 302
    page = c.get(f"/meetings/{m.pk}/record/").content.decode()
    assert "票数相同，需再次投票" in page and "尚有1个名额未选出" in page
    assert [v.title for v in m.votes.filter(passed=True)] == ["张三", "李四"]
    # the same contest again replaces it
    c.post(
        url,
        {"contest": "支部委员会委员", "seats": 3, "candidates": "张三 8\n李四 7\n王五 6\n赵六 2"},
    )
    assert m.votes.count() == 4 and m.votes.filter(passed=True).count() == 3
    assert client_for(users.admin).post(url, {}).status_code == 403
