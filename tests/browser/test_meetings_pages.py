"""Meetings pages at phone and desktop size: they render Chinese, fit the screen and are saved
to var/screenshots/ for a human look."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.meetings import services
from apps.members.models import Member
from tests.browser.conftest import assert_renders_chinese
from tests.factories import MemberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def assert_fits(page):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def _held(tree, users):
    for i in range(6):
        MemberFactory(branch=tree.branch_a, name=f"党员{i:02d}")
    start = timezone.now() - dt.timedelta(days=2)
    m = services.meeting_plan(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["theme_day", "party_lecture"],
        title="主题党日：学习党章",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        place="村委会会议室",
        unplanned_reason="临时安排",
    )
    rows = list(m.attendances.all())
    services.meeting_record(
        actor=users.secretary,
        meeting=m,
        attendance=[
            {
                "member_id": a.member_id,
                "status": "leave" if i == 1 else "present",
                "reason": "外出务工" if i == 1 else "",
            }
            for i, a in enumerate(rows)
        ],
        host_id=rows[0].member_id,
        recorder_id=rows[0].member_id,
        lecturer_id=rows[0].member_id,
        minutes="集中学习党章第一章，结合村里的实际工作交流体会。",
        decisions="每月组织一次学习。",
    )
    return m


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_member_meeting_pages(open_page, screenshot, live_server, tree, users, size):
    m = _held(tree, users)
    me = Member.objects.get(user=users.member)
    assert m.attendances.filter(member=me).exists()
    page = open_page(users.member, size=size, path="/meetings/")
    assert "/meetings/mine/" in page.url
    assert_renders_chinese(page)
    assert_fits(page)
    assert page.get_by_text("主题党日：学习党章").count() >= 1
    screenshot(page, f"meetings-mine-{size}")
    page.goto(f"{live_server.url}/meetings/{m.pk}/")
    assert_renders_chinese(page)
    assert_fits(page)
    assert page.get_by_text("我的出席情况").count() == 1
    assert page.get_by_text("外出务工").count() == 0
    screenshot(page, f"meetings-detail-member-{size}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_attendees_page(open_page, screenshot, live_server, tree, users, size):
    m = _held(tree, users)
    rows = list(m.attendances.select_related("member"))
    services.meeting_attendees(
        actor=users.secretary,
        meeting=m,
        remove_ids=[rows[-1].member_id],
        exclude=[
            {
                "member_id": rows[2].member_id,
                "exclusion_reason": "bedridden",
                "exclusion_basis": "经镇党委同意，2024年3月党员大会通过",
            }
        ],
        guests=[{"name": "王书记", "affiliation": "镇党委"}],
    )
    page = open_page(users.secretary, size=size, path=f"/meetings/{m.pk}/attendees/")
    assert_renders_chinese(page)
    assert_fits(page)
    page.locator("details summary").first.click()
    screenshot(page, f"meetings-attendees-{size}")
    # exclude one more person from the page itself
    details = page.locator("details").first
    details.locator("select").select_option("abroad")
    details.locator("input[name=exclusion_basis]").fill("经镇党委同意")
    details.locator("button").click()
    page.wait_for_load_state()
    assert page.get_by_text("应到人员已更新").count() == 1
    assert page.get_by_text("自费出国半年以上").count() >= 1


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_exemptions_page(open_page, screenshot, live_server, tree, users, size):
    services.exemption_grant(
        actor=users.staff,
        branch=tree.branch_a,
        period_key="2026-Q1",
        kind="party_lecture",
        reason="村两委换届，经镇党委批准",
    )
    page = open_page(users.staff, size=size, path=f"/meetings/exemptions/?org={tree.town_a.pk}")
    assert_renders_chinese(page)
    assert_fits(page)
    screenshot(page, f"meetings-exemptions-{size}")
    page.select_option("#id_branch", str(tree.branch_b.pk))
    page.fill("#id_period_key", "2026-Q2")
    page.fill("#id_reason", "新成立支部")
    page.get_by_role("button", name="批准").click()
    page.wait_for_load_state()
    assert page.get_by_text("新成立支部").count() == 1


@pytest.mark.parametrize("size", ["phone"])
def test_record_page_with_election(open_page, screenshot, live_server, tree, users, size):
    for i in range(8):
        MemberFactory(branch=tree.branch_a, name=f"委员{i}")
    start = timezone.now() - dt.timedelta(days=1)
    m = services.meeting_plan(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=["general_meeting"],
        title="支部党员大会：换届选举",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        unplanned_reason="换届",
    )
    rows = list(m.attendances.all())
    services.meeting_record(
        actor=users.secretary,
        meeting=m,
        attendance=[{"member_id": a.member_id, "status": "present"} for a in rows],
        votes=[
            {"kind": "election", "contest": "支部委员会委员", "seats": 3, "title": t, "yes": y}
            for t, y in (("张三", 9), ("李四", 8), ("王五", 5), ("赵六", 5), ("钱七", 0))
        ],
    )
    page = open_page(users.secretary, size=size, path=f"/meetings/{m.pk}/record/")
    assert_renders_chinese(page)
    assert_fits(page)
    page.get_by_text("票数相同，需再次投票").first.scroll_into_view_if_needed()
    screenshot(page, f"meetings-record-election-{size}")
