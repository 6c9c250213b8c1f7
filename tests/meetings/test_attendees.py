"""Editing who is expected at a meeting (add from the roster or a party group, remove, 列席) and
leaving members out of the expected count for the six situations of DOMAIN §1.4 — service,
page and API."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.meetings import rollups, services
from apps.meetings.models import BranchPeriodStat
from apps.members.models import MemberStatus
from tests.factories import MemberFactory
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db


def _plan(users, tree, **kw):
    return services.meeting_plan(
        actor=users.secretary,
        branch=tree.branch_a,
        kinds=kw.pop("kinds", ["general_meeting"]),
        title="党员大会",
        starts_at=at(2024, 3, 25),
        ends_at=at(2024, 3, 25, 11),
        **kw,
    )


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_add_remove_and_only_party_members_of_the_branch(tree, users, roster_a):
    m = _plan(users, tree, attendee_ids=[roster_a[0].pk, roster_a[1].pk])
    assert m.expected_count == 2
    m = services.meeting_attendees(
        actor=users.secretary, meeting=m, add_ids=[roster_a[2].pk], remove_ids=[roster_a[0].pk]
    )
    assert set(m.attendances.values_list("member_id", flat=True)) == {
        roster_a[1].pk,
        roster_a[2].pk,
    }
    assert m.expected_count == 2
    activist = MemberFactory(branch=tree.branch_a, status=MemberStatus.ACTIVIST)
    elsewhere = MemberFactory(branch=tree.branch_c)
    for bad in (activist, elsewhere):
        with pytest.raises(ValidationError) as exc:
            services.meeting_attendees(
                actor=users.secretary, meeting=m, add_ids=[bad.pk], remove_ids=[roster_a[1].pk]
            )
        assert "只能添加本支部的党员" in str(exc.value)
    # nothing half-saved: the removal in the refused call did not happen
    assert m.attendances.filter(member=roster_a[1]).exists()
    with pytest.raises(ValidationError):
        services.meeting_attendees(actor=users.secretary, meeting=m, remove_ids=[activist.pk])
    m = services.meeting_attendees(
        actor=users.secretary,
        meeting=m,
        guests=[{"name": "王书记", "affiliation": "镇党委"}, {"name": " "}],
    )
    assert list(m.guests.values_list("name", "affiliation")) == [("王书记", "镇党委")]
    assert m.state == "planned"  # editing the list is not recording the meeting


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_exclusion_needs_one_of_the_six_situations_and_an_approval(tree, users, roster_a):
    m = _plan(users, tree)
    target = roster_a[0]
    for entry, message in (
        ({"exclusion_reason": "", "exclusion_basis": "经镇党委同意"}, "六种情形"),
        ({"exclusion_reason": "busy", "exclusion_basis": "经镇党委同意"}, "六种情形"),
        ({"exclusion_reason": "abroad", "exclusion_basis": " "}, "党员大会通过的依据"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.meeting_attendees(
                actor=users.secretary, meeting=m, exclude=[{"member_id": target.pk, **entry}]
            )
        assert message in str(exc.value)
    m.refresh_from_db()
    assert m.expected_count == 10
    m = services.meeting_attendees(
        actor=users.secretary,
        meeting=m,
        exclude=[
            {
                "member_id": target.pk,
                "exclusion_reason": "abroad",
                "exclusion_basis": "经镇党委同意，2024年1月党员大会通过",
            }
        ],
    )
    row = m.attendances.get(member=target)
    assert row.excluded_from_expected and row.get_exclusion_reason_display() == "自费出国半年以上"
    assert m.expected_count == 9
    m = services.meeting_attendees(actor=users.secretary, meeting=m, include_ids=[target.pk])
    assert m.expected_count == 10 and not m.attendances.get(member=target).exclusion_reason


def test_editing_a_submitted_record_versions_and_moves_rollups_and_votes(tree, users, roster_a):
    with time_machine.travel(at(2024, 3, 20), tick=False):
        m = hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["general_meeting"],
            when=at(2024, 3, 12),
            votes=[{"title": "接收预备党员", "yes": 5}],
        )
        vote = m.votes.get()
        assert (vote.expected_voting, vote.passed) == (8, True)
        with pytest.raises(ValidationError):  # a locked record needs a reason
            services.meeting_attendees(
                actor=users.secretary, meeting=m, remove_ids=[roster_a[0].pk]
            )
        m = services.meeting_attendees(
            actor=users.secretary,
            meeting=m,
            add_ids=[
                MemberFactory(branch=tree.branch_a).pk,
                MemberFactory(branch=tree.branch_a).pk,
            ],
            reason="漏登两名党员",
        )
    assert m.version == 2 and m.versions.count() == 1
    assert m.expected_count == 12
    vote = m.votes.get()
    # 5 yes of 10 expected voting members is no longer more than half
    assert (vote.expected_voting, vote.passed) == (10, False)
    stat = BranchPeriodStat.objects.get(org=tree.branch_a, period_key="2024-03", kind="all")
    assert stat.expected == 12
    assert rollups.stats_differences() == [] and rollups.counters_mismatches() == []


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_attendees_page(tree, users, roster_a, client_for):
    m = _plan(users, tree, attendee_ids=[roster_a[0].pk])
    url = f"/meetings/{m.pk}/attendees/"
    c = client_for(users.secretary)
    page = c.get(url).content.decode()
    assert roster_a[1].name in page and f"添加{tree.group_a.name}全部党员" in page
    r = c.post(url, {"action": "add", "member": [roster_a[1].pk, roster_a[2].pk]})
    assert r.status_code == 302
    r = c.post(url, {"action": "add_group", "group": tree.group_a.pk})
    assert r.status_code == 302
    in_group = {x.pk for x in roster_a if x.party_group_id == tree.group_a.pk}
    assert in_group <= set(m.attendances.values_list("member_id", flat=True))
    r = c.post(url, {"action": "remove", "member": [roster_a[0].pk]})
    assert r.status_code == 302 and not m.attendances.filter(member=roster_a[0]).exists()
    r = c.post(url, {"action": "exclude", "member": roster_a[1].pk, "exclusion_basis": "同意"})
    assert r.status_code == 400 and "六种情形" in r.content.decode()
    r = c.post(
        url,
        {
            "action": "exclude",
            "member": roster_a[1].pk,
            "exclusion_reason": "bedridden",
            "exclusion_basis": "经镇党委同意、党员大会通过",
        },
    )
    assert r.status_code == 302
    page = c.get(url).content.decode()
    assert "年老体弱卧床" in page and "恢复计入应到" in page
    r = c.post(
        url, {"action": "guests", "guest_name": ["李主任", ""], "guest_affiliation": ["镇妇联", ""]}
    )
    assert r.status_code == 302 and m.guests.get().name == "李主任"
    assert client_for(users.committee).get(url).status_code == 200
    assert client_for(users.admin).get(url).status_code == 403
    # the `member` user is not expected at this meeting: it does not exist for them
    assert client_for(users.member).get(url).status_code == 404
    assert client_for(users.outsider).get(url).status_code == 404
    assert (
        client_for(users.outsider)
        .post(url, {"action": "remove", "member": [roster_a[1].pk]})
        .status_code
        == 404
    )


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_attendees_api(tree, users, roster_a, api_for):
    m = _plan(users, tree, attendee_ids=[roster_a[0].pk, roster_a[1].pk])
    api = api_for(users.secretary)
    r = api.post(
        f"/api/v1/meetings/{m.pk}/attendees/",
        {
            "add": [roster_a[2].pk],
            "exclude": [
                {"member_id": roster_a[0].pk, "exclusion_reason": "away", "exclusion_basis": "同意"}
            ],
            "guests": [{"name": "张三", "affiliation": "驻村工作队"}],
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["expected_count"] == 2 and len(data["attendances"]) == 3
    assert data["guests"] == [{"name": "张三", "affiliation": "驻村工作队"}]
    r = api.post(
        f"/api/v1/meetings/{m.pk}/attendees/",
        {
            "exclude": [
                {"member_id": roster_a[1].pk, "exclusion_reason": "x", "exclusion_basis": "y"}
            ]
        },
        format="json",
    )
    assert r.status_code == 400 and "exclude" in r.json()
