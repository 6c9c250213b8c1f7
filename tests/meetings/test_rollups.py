"""The rollups stay equal to a recomputation from raw rows; check_rollups notices tampering."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from apps.accounts.models import Role
from apps.core.periods import Period
from apps.meetings import rollups, services
from apps.meetings.models import BranchPeriodStat, Meeting, MeetingState, OrgPeriodStat
from apps.members.models import MemberStatus
from apps.organizations.models import OrgType
from tests.factories import MemberFactory, make_org, make_user
from tests.meetings.conftest import at, hold

KINDS = [
    "general_meeting",
    "committee_meeting",
    "party_lecture",
    "theme_day",
    "group_meeting",
    "talk",
]
# boundary instants: last day of a quarter late at night, a leap day, first minutes of a month
WHENS = [
    at(2024, 3, 31, 23, 30),
    at(2024, 2, 29, 20),
    at(2024, 4, 1, 0, 5),
    at(2024, 6, 30, 23, 59),
    at(2024, 12, 31, 23, 30),
    at(2025, 1, 1, 0, 30),
    at(2024, 5, 15, 9),
]

action = st.one_of(
    st.tuples(
        st.just("create"),
        st.integers(0, 1),
        st.lists(st.sampled_from(KINDS), min_size=1, max_size=3),
        st.sampled_from(WHENS),
        st.integers(0, 6),
        st.booleans(),
    ),
    st.tuples(st.just("edit"), st.integers(0, 20), st.integers(0, 6)),
    st.tuples(st.just("move"), st.integers(0, 20), st.sampled_from(WHENS)),
    st.tuples(st.just("return"), st.integers(0, 20)),
    st.tuples(st.just("resubmit"), st.integers(0, 20)),
    st.tuples(st.just("accept"), st.integers(0, 20)),
    st.tuples(st.just("delete"), st.integers(0, 20)),
)


class RollupPropertyTest(HypothesisTestCase):
    def setUp(self):
        county = make_org(None, org_type=OrgType.LOCAL_COMMITTEE, name="县委")
        self.branches = [make_org(county, name=f"支部{i}") for i in range(2)]
        self.groups = [
            make_org(b, org_type=OrgType.PARTY_GROUP, name=f"小组{i}")
            for i, b in enumerate(self.branches)
        ]
        for b, g in zip(self.branches, self.groups, strict=True):
            b.refresh_from_db()
            g.refresh_from_db()
            for i in range(7):
                MemberFactory(
                    branch=b,
                    party_group=g if i < 3 else None,
                    status=MemberStatus.PROBATIONARY if i == 6 else MemberStatus.FULL,
                )
        self.secretary = make_user(Role.SECRETARY, county)
        self.staff = make_user(Role.ORG_STAFF, county)

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(action, min_size=1, max_size=12))
    def test_rollups_equal_recomputation(self, actions):
        with time_machine.travel(at(2025, 2, 1), tick=False):
            for step in actions:
                self._do(step)
            assert rollups.stats_differences() == []
            assert rollups.counters_mismatches() == []
            for key in ("2024-Q1", "2024", "2025-Q1"):
                rollups.org_stats_refresh(Period.parse(key))
            assert rollups.org_stats_differences() == []

    def _meeting(self, index):
        ids = list(Meeting.objects.order_by("id").values_list("id", flat=True))
        return Meeting.objects.get(pk=ids[index % len(ids)]) if ids else None

    def _do(self, step):
        from django.core.exceptions import ValidationError

        kind = step[0]
        try:
            if kind == "create":
                _, b, kinds, when, absent, submit = step
                branch = self.branches[b]
                group = self.groups[b] if "group_meeting" in kinds else None
                members = list(branch.members.order_by("id"))
                statuses = {m.pk: "absent" for m in members[:absent]}
                hold(
                    actor=self.secretary,
                    branch=branch,
                    kinds=kinds,
                    when=when,
                    party_group=group,
                    statuses=statuses,
                    submit=submit,
                )
                return
            meeting = self._meeting(step[1])
            if meeting is None:
                return
            if kind == "edit":
                members = list(
                    meeting.attendances.order_by("member_id").values_list("member_id", flat=True)
                )
                attendance = [
                    {
                        "member_id": mid,
                        "status": "leave" if i < step[2] else "present",
                        "reason": "因公出差",
                    }
                    for i, mid in enumerate(members)
                ]
                services.meeting_record(
                    actor=self.secretary,
                    meeting=meeting,
                    attendance=attendance,
                    reason="更正出席情况" if meeting.is_locked else "",
                )
            elif kind == "move":
                services.meeting_move(
                    actor=self.secretary,
                    meeting=meeting,
                    starts_at=step[2],
                    ends_at=step[2] + dt.timedelta(hours=1),
                )
            elif kind == "return":
                services.meeting_return(actor=self.staff, meeting=meeting, comment="请补充签到表")
            elif kind == "resubmit":
                services.meeting_submit(actor=self.secretary, meeting=meeting)
            elif kind == "accept":
                services.meeting_accept(actor=self.staff, meeting=meeting)
            elif kind == "delete":
                services.meeting_delete(actor=self.staff, meeting=meeting, reason="重复录入")
        except ValidationError:
            pass  # a step not allowed in the meeting's state changes nothing


@pytest.mark.django_db
def test_check_rollups_exits_non_zero_when_tampered(tree, users, roster_a, capsys):
    with time_machine.travel(at(2024, 4, 2), tick=False):
        hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["theme_day", "party_lecture"],
            when=at(2024, 3, 10),
        )
        rollups.org_stats_refresh(Period.quarter(2024, 1))
        call_command("check_rollups")
        BranchPeriodStat.objects.filter(
            org=tree.branch_a, period_key="2024-Q1", kind="theme_day"
        ).update(meeting_count=2)
        with pytest.raises(CommandError) as exc:
            call_command("check_rollups")
        assert exc.value.returncode == 1
        assert "2024-Q1" in capsys.readouterr().err
        call_command("rebuild_rollups")
        call_command("check_rollups")
        Meeting.objects.update(present_count=0)
        OrgPeriodStat.objects.filter(org=tree.county).update(compliant_count=3)
        with pytest.raises(CommandError):
            call_command("check_rollups")
        err = capsys.readouterr().err
        assert "counters" in err and "org stat" in err
        assert Meeting.objects.get().state == MeetingState.SUBMITTED


def test_rollups_follow_an_org_move_and_merge(tree, users, roster_a):
    """Moving a branch (org_move) and merging a town (org_merge) rewrite the path-carrying
    rollup rows in the same transaction: check_rollups exits 0 right away, and after the
    refresh job the new ancestors carry the branch."""
    from apps.organizations import services as org_services
    from apps.organizations.models import Org

    q = Period.quarter(2024, 1)
    with time_machine.travel(at(2024, 3, 20), tick=False):
        hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 3, 5))
        hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["group_meeting"],
            party_group=tree.group_a,
            when=at(2024, 3, 6),
        )
        rollups.org_stats_refresh(q)
        call_command("check_rollups")
        org_services.org_move(actor=None, org=tree.branch_a, new_parent=tree.town_b)
        branch_a = Org.objects.get(pk=tree.branch_a.pk)
        group_a = Org.objects.get(pk=tree.group_a.pk)
        assert branch_a.path.startswith(Org.objects.get(pk=tree.town_b.pk).path)
        assert set(
            BranchPeriodStat.objects.filter(org=branch_a).values_list("path", flat=True)
        ) == {branch_a.path}
        assert set(BranchPeriodStat.objects.filter(org=group_a).values_list("path", flat=True)) == {
            group_a.path
        }
        call_command("check_rollups")  # exits 0: no path left behind, layer 3 marked stale
        rollups.org_stats_refresh_due()
        call_command("check_rollups")
        row = OrgPeriodStat.objects.get(period_key=q.key, org=branch_a)
        assert row.parent_id_copy == tree.town_b.pk and row.path == branch_a.path
        town_b = OrgPeriodStat.objects.get(period_key=q.key, org=tree.town_b)
        assert town_b.meeting_count == 2
        assert not OrgPeriodStat.objects.filter(
            period_key=q.key, org=tree.town_a, meeting_count__gt=0
        )

        # merge a town into another: its children (branch_b) move with their rows
        extra = make_org(tree.county, name="丁镇党委", org_type=OrgType.PRIMARY_COMMITTEE)
        org_services.org_merge(actor=None, org=tree.town_a, into=extra)
        call_command("check_rollups")
        rollups.org_stats_refresh_due()
        call_command("check_rollups")


@pytest.mark.parametrize(
    "today",
    [dt.date(2024, 2, 20), dt.date(2024, 3, 26), dt.date(2024, 3, 31), dt.date(2024, 4, 1)],
)
def test_set_based_tree_rollup_equals_python_evaluation(tree, users, roster_a, today):
    """ORG_STATS_SQL (the refresh) and evaluate_branch (the check) agree on exemptions of a kind
    and of all kinds, party groups, committee settings, branches founded or abolished inside the
    period, due-soon and overdue days, for a quarter and its year."""
    from apps.meetings.models import BranchMeetingSetting

    late = make_org(tree.town_b, name="新村党支部", founded_on=dt.date(2024, 2, 10))
    make_org(late, org_type=OrgType.PARTY_GROUP, name="新村党小组")
    gone = make_org(tree.town_b, name="旧村党支部")
    gone.abolished_on = dt.date(2024, 3, 2)
    gone.save()
    BranchMeetingSetting.objects.create(branch=tree.branch_b, has_committee=True)
    with time_machine.travel(at(2024, 3, 20), tick=False):
        hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 1, 5))
        hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2024, 1, 25))
        hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["group_meeting"],
            party_group=tree.group_a,
            when=at(2024, 2, 6),
        )
        hold(
            actor=users.secretary,
            branch=tree.branch_a,
            kinds=["general_meeting", "party_lecture"],
            when=at(2024, 3, 6),
        )
        services.exemption_grant(
            actor=users.staff,
            branch=tree.branch_b,
            period_key="2024-02",
            kind="theme_day",
            reason="x",
        )
        services.exemption_grant(
            actor=users.staff, branch=tree.branch_b, period_key="2024-Q1", reason="全部类型"
        )
        services.exemption_grant(
            actor=users.staff,
            branch=tree.branch_c,
            period_key="2024",
            kind="party_lecture",
            reason="y",
        )
    for window in (Period.quarter(2024, 1), Period.year_of(2024)):
        rollups.org_stats_refresh(window, today=today)
        want = {r.org_id: r for r in rollups.org_stats_compute(window, today=today)}
        have = {r.org_id: r for r in OrgPeriodStat.objects.filter(period_key=window.key)}
        assert set(want) == set(have)
        fields = ["branch_count", "compliant_count", "green", "yellow", "red", "meeting_count"]
        fields += ["expected", "present", "leave", "per_kind", "parent_id_copy", "path"]
        for org_id, w in want.items():
            h = have[org_id]
            assert {f: getattr(h, f) for f in fields} == {f: getattr(w, f) for f in fields}, org_id
    county = OrgPeriodStat.objects.get(period_key="2024-Q1", org=tree.county)
    assert county.branch_count == 5  # 甲, 乙, 丙, 新村 and 旧村 (abolished inside the quarter)
