"""An ordinary member (党员, `self` scope): the meetings they are expected at, read-only, with
their own attendance only — in pages and API — and nothing else."""

from __future__ import annotations

import pytest
import time_machine

from apps.meetings import services
from apps.members.models import Member
from tests.factories import MemberFactory
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree, users, roster_a):
    me = Member.objects.get(user=users.member)
    others = [m for m in roster_a if m.pk != me.pk]
    leave_of = others[0]
    with time_machine.travel(at(2024, 3, 20), tick=False):
        held = hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["theme_day"],
            when=at(2024, 3, 12),
            statuses={leave_of.pk: "leave", me.pk: "online"},
        )
        services.meeting_record(
            actor=users.secretary,
            meeting=held,
            reason="补充决议",
            decisions="通过了学习计划。",
        )
        not_mine = services.meeting_plan(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["committee_meeting"],
            title="支委会研究发展对象",
            starts_at=at(2024, 3, 25),
            ends_at=at(2024, 3, 25, 10),
            attendee_ids=[m.pk for m in others[:3]],
        )
        elsewhere_member = MemberFactory(branch=tree.branch_c)
        elsewhere = services.meeting_plan(
            actor=users.outsider,
            branch=tree.branch_c,
            kinds=["theme_day"],
            title="丙村主题党日",
            starts_at=at(2024, 3, 26),
            ends_at=at(2024, 3, 26, 10),
            attendee_ids=[elsewhere_member.pk],
        )
    return {"held": held, "not_mine": not_mine, "elsewhere": elsewhere, "leave_of": leave_of}


def test_member_pages_show_own_meetings_read_only(world, users, client_for):
    c = client_for(users.member)
    held = world["held"]
    r = c.get("/meetings/?month=2024-03")
    assert r.status_code == 302 and r["Location"].startswith("/meetings/mine/")
    page = c.get("/meetings/mine/?month=2024-03").content.decode()
    assert "测试会议" in page and "线上参会" in page
    assert "支委会研究发展对象" not in page and "丙村主题党日" not in page

    page = c.get(f"/meetings/{held.pk}/").content.decode()
    assert "我的出席情况" in page and "线上参会" in page and "通过了学习计划" in page
    # other people's attendance (names, leave reasons) and the review material stay hidden
    assert world["leave_of"].name not in page and "出差" not in page
    assert "历史版本" not in page and "上级审核" not in page

    assert c.get(f"/meetings/{world['not_mine'].pk}/").status_code == 404
    assert c.get(f"/meetings/{world['elsewhere'].pk}/").status_code == 404
    # read-only: the secretary's pages answer 403 (visible meeting), unknown ones 404
    assert c.get(f"/meetings/{held.pk}/record/").status_code == 403
    assert c.post(f"/meetings/{held.pk}/submit/").status_code == 403
    me = Member.objects.get(user=users.member)
    r = c.post(f"/meetings/{held.pk}/attendance/{me.pk}/", {"status": "present"})
    assert r.status_code == 403
    assert c.get(f"/meetings/{world['not_mine'].pk}/record/").status_code == 404
    for url in ("/meetings/review/", "/meetings/compliance/", "/meetings/plan/"):
        assert c.get(url).status_code in (403, 404), url


def test_member_api_lists_and_reads_only_own_meetings(world, users, api_for):
    api = api_for(users.member)
    me = Member.objects.get(user=users.member)
    ids = {row["id"] for row in api.get("/api/v1/meetings/?page_size=200").json()["results"]}
    assert ids == {world["held"].pk}
    data = api.get(f"/api/v1/meetings/{world['held'].pk}/").json()
    assert [a["member_id"] for a in data["attendances"]] == [me.pk]
    assert data["attendances"][0]["status"] == "online"
    assert data["flags"] == [] and data["attachments"] == []
    assert api.get(f"/api/v1/meetings/{world['not_mine'].pk}/").status_code == 404
    assert api.get(f"/api/v1/meetings/{world['held'].pk}/versions/").status_code == 403
    mine = api.get("/api/v1/meetings/mine/?period=2024").json()
    assert mine["expected"] == 1 and mine["present"] == 1 and mine["rate"] == 1.0
    assert [m["my_status"] for m in mine["meetings"]] == ["online"]
    # a secretary's full view is unchanged: every attendance row
    full = api_for(users.secretary).get(f"/api/v1/meetings/{world['held'].pk}/").json()
    assert len(full["attendances"]) == world["held"].attendances.count() > 1


def test_user_without_member_record_has_no_own_meetings(world, users, client_for, api_for):
    assert client_for(users.nobody).get("/meetings/mine/").status_code == 404
    assert api_for(users.nobody).get("/api/v1/meetings/mine/").status_code == 404
    assert client_for(users.nobody).get(f"/meetings/{world['held'].pk}/").status_code == 404


def test_transferred_member_still_sees_meetings_attended_in_old_branch(world, users, tree, api_for):
    me = Member.objects.get(user=users.member)
    me.branch = tree.branch_b
    me.save()
    api = api_for(users.member)
    assert api.get(f"/api/v1/meetings/{world['held'].pk}/").status_code == 200
