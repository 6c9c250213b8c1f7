"""民主评议 and 批评与自我批评 on the record page (HTMX fragments) and in the API; 纸上党建
similarity flags that point outside the reader's scope."""

from __future__ import annotations

import pytest
import time_machine

from apps.meetings.models import Appraisal, CriticismNote, FlagCode, MeetingFlag
from apps.members.models import MemberStatus
from tests.factories import MemberFactory
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db

MINUTES = (
    "会议传达学习了上级党委关于加强基层党组织建设的文件精神，书记结合本村实际，"
    "就村级集体经济发展、人居环境整治和矛盾纠纷排查化解作了部署，党员们围绕如何发挥"
    "先锋模范作用踊跃发言，提出了在春耕生产中帮扶困难群众、组织志愿服务队等具体建议。"
)


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_appraisal_page_grades_members(tree, users, roster_a, client_for):
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["org_life_meeting", "member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    c = client_for(users.secretary)
    page = c.get(f"/meetings/{m.pk}/record/").content.decode()
    assert "民主评议党员" in page and "预备党员 · 不评定等次" in page
    assert "批评与自我批评" in page and "组织生活会主题" in page
    full = [x for x in roster_a if x.status == MemberStatus.FULL]
    prob = [x for x in roster_a if x.status != MemberStatus.FULL]
    data = {f"grade_{x.pk}": "excellent" if i < 3 else "qualified" for i, x in enumerate(full)}
    data[f"grade_{prob[0].pk}"] = "excellent"  # ignored: probationary members are not graded
    url = f"/meetings/{m.pk}/appraisals/"
    r = c.post(url, data, HTTP_HX_REQUEST="true")
    assert r.status_code == 400
    assert "评定为优秀的3人，超过参评党员8人的1/3" in r.content.decode()
    assert not Appraisal.objects.filter(meeting=m).exists()
    data[f"grade_{full[2].pk}"] = "basically_qualified"
    data[f"comment_{full[2].pk}"] = "学习不够主动"
    r = c.post(url, data, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "民主评议结果已保存" in r.content.decode()
    grades = dict(Appraisal.objects.filter(meeting=m).values_list("member_id", "grade"))
    assert grades[full[0].pk] == "excellent" and grades[full[2].pk] == "basically_qualified"
    assert grades[prob[0].pk] == "" and len(grades) == len(roster_a)
    # a grade left empty: Chinese message, nothing written
    data[f"grade_{full[3].pk}"] = ""
    r = c.post(url, data)
    assert r.status_code == 400 and f"请为{full[3].name}评定等次" in r.content.decode()
    # 批评与自我批评 with the topics on the record form
    r = c.post(
        f"/meetings/{m.pk}/criticism/",
        {f"self_{full[0].pk}": "理论学习不深入", f"received_{full[0].pk}": "联系群众不够"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    note = CriticismNote.objects.get(meeting=m)
    assert (note.member_id, note.self_criticism) == (full[0].pk, "理论学习不深入")
    r = c.post(
        f"/meetings/{m.pk}/record/",
        {
            "host": full[0].pk,
            "recorder": full[0].pk,
            "minutes": "开展批评与自我批评。",
            "topics": "对照党章党规找差距",
        },
    )
    assert r.status_code == 302
    m.refresh_from_db()
    assert m.topics == "对照党章党规找差距"
    detail = c.get(f"/meetings/{m.pk}/").content.decode()
    assert "基本合格" in detail and "理论学习不深入" in detail and "不评定等次" in detail


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_sheet_pages_scope(tree, users, roster_a, client_for):
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["org_life_meeting", "member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    for url in (f"/meetings/{m.pk}/appraisals/", f"/meetings/{m.pk}/criticism/"):
        assert client_for(users.outsider).get(url).status_code == 404
        assert client_for(users.outsider).post(url, {}).status_code == 404
        assert client_for(users.admin).post(url, {}).status_code == 403  # read-only
        assert client_for(users.member).post(url, {}).status_code == 403
        assert client_for(users.secretary).get(url).status_code == 200
    other = hold(
        actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 12, 1)
    )
    assert client_for(users.secretary).get(f"/meetings/{other.pk}/appraisals/").status_code == 404


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_api_detail_has_appraisals_and_notes(tree, users, roster_a, api_for):
    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["org_life_meeting", "member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    api = api_for(users.secretary)
    grades = [
        {"member_id": x.pk, "grade": "" if x.status != MemberStatus.FULL else "qualified"}
        for x in roster_a
    ]
    r = api.post(f"/api/v1/meetings/{m.pk}/appraisals/", {"grades": grades}, format="json")
    assert r.status_code == 200, r.content
    labels = {a["member_id"]: a["grade_label"] for a in r.json()["appraisals"]}
    assert labels[roster_a[0].pk] == "合格" and labels[roster_a[-1].pk] == "不评定等次"
    r = api.post(
        f"/api/v1/meetings/{m.pk}/criticism/",
        {"notes": [{"member_id": roster_a[0].pk, "self_criticism": "学习不够"}], "topics": "主题"},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["criticism_notes"][0]["self_criticism"] == "学习不够"
    assert r.json()["topics"] == "主题"


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_similar_flag_hides_a_meeting_outside_the_scope(tree, users, roster_a, client_for, api_for):
    MemberFactory(branch=tree.branch_c, name="丙01")
    theirs = hold(
        actor=users.outsider,
        branch=tree.branch_c,
        kinds=["theme_day"],
        when=at(2024, 3, 5),
        minutes=MINUTES,
    )
    theirs.title = "丙村机密议题"
    theirs.save(update_fields=["title"])
    ours = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["theme_day"],
        when=at(2024, 3, 12),
        minutes=MINUTES,
    )
    flag = MeetingFlag.objects.get(meeting=ours, code=FlagCode.SIMILAR_MINUTES)
    assert flag.other_id == theirs.pk
    for user in (users.secretary, users.staff):  # neither sees branch_c
        page = client_for(user).get(f"/meetings/{ours.pk}/").content.decode()
        assert "与其他组织的一条记录高度相似" in page
        assert "丙村" not in page and f"/meetings/{theirs.pk}/" not in page
        data = api_for(user).get(f"/api/v1/meetings/{ours.pk}/").json()
        (f,) = [f for f in data["flags"] if f["code"] == "similar_minutes"]
        assert f["other_id"] is None and f["detail"] == "与其他组织的一条记录高度相似"
    record = client_for(users.secretary).get(f"/meetings/{ours.pk}/record/").content.decode()
    assert "丙村" not in record and "与其他组织的一条记录高度相似" in record
    # the county sees both: the link and the other meeting's details
    page = client_for(users.admin).get(f"/meetings/{ours.pk}/").content.decode()
    assert "丙村党支部 · 丙村机密议题" in page and f"/meetings/{theirs.pk}/" in page
    data = api_for(users.admin).get(f"/api/v1/meetings/{ours.pk}/").json()
    assert [f["other_id"] for f in data["flags"] if f["code"] == "similar_minutes"] == [theirs.pk]


@time_machine.travel(at(2024, 12, 20), tick=False)
def test_timeline_entries_for_reported_appraisals(tree, users, roster_a, client_for):
    from apps.meetings import selectors, services

    m = hold(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["member_appraisal"],
        when=at(2024, 12, 10),
        submit=False,
    )
    full = [x for x in roster_a if x.status == MemberStatus.FULL]
    prob = [x for x in roster_a if x.status != MemberStatus.FULL]
    services.appraisal_record(
        actor=users.secretary,
        meeting=m,
        grades=[{"member_id": full[0].pk, "grade": "excellent"}]
        + [{"member_id": x.pk, "grade": "qualified"} for x in full[1:]]
        + [{"member_id": x.pk, "grade": ""} for x in prob],
    )
    assert selectors.appraisal_timeline_entries(member=full[0]) == []  # not reported yet
    c = client_for(users.secretary)
    assert "民主评议" not in c.get(f"/members/{full[0].pk}/").content.decode()
    services.meeting_submit(actor=users.secretary, meeting=m)
    ((on, title, _detail),) = selectors.appraisal_timeline_entries(member=full[0])
    assert on.isoformat() == "2024-12-10" and title == "民主评议：优秀"
    assert "不评定等次" in selectors.appraisal_timeline_entries(member=prob[0])[0][1]
    # and on the member's page (its timeline)
    assert "民主评议：优秀" in c.get(f"/members/{full[0].pk}/").content.decode()
    assert "参加评议（不评定等次）" in c.get(f"/members/{prob[0].pk}/").content.decode()
