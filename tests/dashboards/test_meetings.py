"""三会一课 on the dashboard: every figure equals a direct recomputation from the raw meeting
rows of a generated tree, and the quarterly report carries the same figures."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict

import pytest
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.core.periods import Period, PeriodKind, local_date
from apps.dashboards.sections import context_for, sections_for
from apps.dashboards.services import subtree_stats_refresh
from apps.meetings import rollups, services
from apps.meetings.models import (
    COUNTED_STATES,
    Meeting,
    MeetingFlag,
    MeetingKind,
    MeetingRequirement,
    MeetingState,
)
from apps.members.models import Member, MemberStatus
from apps.organizations.models import Org
from tests.factories import MemberFactory, make_user
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db
Q3 = Period.quarter(2026, 3)
TODAY = dt.date(2026, 10, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-10-10 10:00 +0800", tick=False):
        yield


@pytest.fixture
def held(tree, users, settings, tmp_path):
    """A random quarter of meetings (fixed seed) across the tree: branch_a has a committee
    (8 full members) and a party group; some meetings are skipped, combined, returned."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rng = random.Random(11)
    people = {
        tree.branch_a: [MemberFactory(branch=tree.branch_a) for _ in range(8)],
        tree.branch_b: [MemberFactory(branch=tree.branch_b) for _ in range(4)]
        + [MemberFactory(branch=tree.branch_b, status=MemberStatus.PROBATIONARY)],
        tree.branch_c: [MemberFactory(branch=tree.branch_c) for _ in range(3)],
    }
    for m in people[tree.branch_a][:3]:
        m.party_group = tree.group_a
        m.save()
    writers = {b: make_user(Role.SECRETARY, b) for b in people}
    skip = {tree.branch_a: 0.15, tree.branch_b: 0.1, tree.branch_c: 0.0}
    for branch in people:
        plan = []
        for month in (7, 8, 9):
            plan.append(([MeetingKind.THEME_DAY], month, None))
            if branch == tree.branch_a:
                plan.append(([MeetingKind.COMMITTEE], month, None))
                plan.append(([MeetingKind.GROUP], month, tree.group_a))
        plan.append(([MeetingKind.GENERAL, MeetingKind.LECTURE], rng.choice([7, 8, 9]), None))
        plan.append(([MeetingKind.TALK], 9, None))
        for kinds, month, group in plan:
            if rng.random() < skip[branch]:
                continue  # not held: somebody is red
            statuses = {
                a.pk: rng.choice(["present"] * 8 + ["leave", "absent"])
                for a in Member.objects.filter(branch=branch)
            }
            hold(
                actor=writers[branch],
                branch=branch,
                kinds=[str(k) for k in kinds],
                when=at(2026, month, rng.randint(1, 28), 9),
                party_group=group,
                statuses=statuses if kinds != [MeetingKind.TALK] else None,
                minutes=f"{branch.name}{month}月会议记录{rng.random()}",
                # a 谈心谈话 is between the people chosen (two here, both present)
                attendee_ids=[m.pk for m in people[branch][:2]]
                if kinds == [MeetingKind.TALK]
                else None,
            )
    # one returned record, one never submitted
    counted = list(Meeting.objects.filter(state=MeetingState.SUBMITTED).order_by("id"))
    services.meeting_return(actor=users.staff, meeting=counted[0], comment="记录过于简单")
    rollups.org_stats_refresh(Q3, today=TODAY)
    rollups.org_stats_refresh(Period.quarter(2026, 2), today=TODAY)
    subtree_stats_refresh(today=TODAY)  # the beat job: returned and flagged records
    return tree


def _sections(org, period=Q3):
    return {s.code: s for s in sections_for(context_for(org=org, period=period, today=TODAY))}


# --- the independent recomputation ------------------------------------------------------------


def _raw_branch(branch, meetings, requirements) -> tuple[str, dict[str, bool]]:
    """(state, {kind: ok}) for one branch in Q3 judged on TODAY, from meeting rows only."""
    full = Member.objects.filter(branch=branch, status=MemberStatus.FULL).count()
    groups = list(
        Org.objects.filter(parent=branch)
        .filter(org_type="party_group")
        .values_list("pk", flat=True)
    )
    mine = [m for m in meetings if m.branch_id == branch.pk]

    def count(kind, start, end, group=None):
        return sum(
            1
            for m in mine
            if kind in m.kinds
            and start <= local_date(m.starts_at) <= end
            and (group is None or m.party_group_id == group)
        )

    statuses: dict[str, list[str]] = defaultdict(list)
    for req in requirements:
        if req.needs_committee and full < 7:
            continue
        if req.per_party_group and not groups:
            continue
        targets = groups if req.per_party_group else [None]
        if req.period == "month":
            windows = Q3.months()
        elif req.period == "quarter":
            windows = [Q3]
        else:
            windows = [Period.containing(PeriodKind.YEAR, Q3.start)]
        for w in windows:
            for g in targets:
                n = count(req.kind, w.start, w.end, g)
                if n >= req.min_count:
                    statuses[req.kind].append("met")
                elif w.end < TODAY:
                    statuses[req.kind].append("overdue")
                else:
                    statuses[req.kind].append("pending")  # the year is not over yet
    kinds = {k: "overdue" not in v for k, v in statuses.items()}
    red = any(not ok for ok in kinds.values())
    return ("red" if red else "green"), kinds


def _raw(org, branches, meetings, requirements) -> dict:
    mine = [b for b in branches if b.path.startswith(org.path)]
    states = {b.pk: _raw_branch(b, meetings, requirements) for b in mine}
    in_q = [
        m
        for m in meetings
        if m.branch.path.startswith(org.path) and Q3.start <= local_date(m.starts_at) <= Q3.end
    ]
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _state, kinds in states.values():
        for k, ok in kinds.items():
            per_kind[k][0] += 1
            per_kind[k][1] += ok
    expected = sum(m.expected_count for m in in_q)
    present = sum(m.present_count for m in in_q)
    green = sum(1 for s, _k in states.values() if s == "green")
    return {
        "row": [
            len(mine),
            green,
            round(100 * green / len(mine), 1),
            green,
            0,
            len(mine) - green,
            len(in_q),
            round(100 * present / expected, 1),
        ],
        "per_kind": {k: (a, o) for k, (a, o) in per_kind.items()},
        "red": sorted(b.name for b in mine if states[b.pk][0] == "red"),
    }


def test_meeting_figures_equal_a_recomputation_from_raw_rows(held):
    tree = held
    branches = [tree.branch_a, tree.branch_b, tree.branch_c]
    meetings = list(
        Meeting.objects.filter(state__in=COUNTED_STATES).select_related("branch")
    )  # the attendance counters themselves are checked against attendance rows below
    requirements = list(MeetingRequirement.objects.filter(active=True))
    from apps.meetings.rollups import counters_mismatches

    assert counters_mismatches() == []
    sections = _sections(tree.county)
    table = {r[0]: r[1:] for r in sections["meetings"].rows}
    assert (
        table[f"{tree.county.name}（合计）"]
        == _raw(tree.county, branches, meetings, requirements)["row"]
    )
    for child in (tree.town_a, tree.town_b):
        assert table[child.name] == _raw(child, branches, meetings, requirements)["row"], child.name

    raw = _raw(tree.county, branches, meetings, requirements)
    labels = {str(k.value): str(k.label) for k in MeetingKind}
    kinds = {r[0]: (r[1], r[2]) for r in sections["meeting_kinds"].rows}
    assert kinds == {labels[k]: v for k, v in raw["per_kind"].items()}

    red = sorted(r[0] for r in sections["meeting_overdue"].rows) if raw["red"] else []
    assert red == raw["red"] and 0 < len(raw["red"]) < 3, "the seed should leave some red"
    assert sections["meeting_overdue"].note.startswith(f"共{len(raw['red'])}个")

    # returned and flagged records, counted per child from the flag rows
    flags = MeetingFlag.objects.exclude(
        meeting__state__in=[MeetingState.CANCELLED, MeetingState.PLANNED]
    ).select_related("meeting__branch")
    want = defaultdict(lambda: defaultdict(set))
    for f in flags:
        for town in (tree.town_a, tree.town_b):
            if f.meeting.branch.path.startswith(town.path):
                want[town.name][f.code].add(f.meeting_id)
    returned = Meeting.objects.filter(state=MeetingState.RETURNED).select_related("branch")
    for m in returned:
        town = tree.town_a if m.branch.path.startswith(tree.town_a.path) else tree.town_b
        want[town.name]["returned"].add(m.pk)
    counts = sections["meeting_record_counts"]
    codes = ["returned", "similar_minutes", "late_entry", "over_roster", "unplanned"]
    got = {r[0]: dict(zip(codes, r[1:], strict=True)) for r in counts.rows[1:]}
    assert got == {town: {c: len(want[town].get(c, ())) for c in codes} for town in want}
    listed = {link.rsplit("/", 2)[-2] for link in sections["meeting_records"].links}
    assert listed == {
        str(pk)
        for pk in {
            *returned.values_list("pk", flat=True),
            *flags.values_list("meeting_id", flat=True),
        }
    }

    # a branch sees only itself; its trend row for Q2 is there because Q2 was rolled up
    leaf = _sections(tree.branch_b)
    assert [r[0] for r in leaf["meetings"].rows] == [f"{tree.branch_b.name}（合计）"]
    assert (
        leaf["meetings"].rows[0][1:] == _raw(tree.branch_b, branches, meetings, requirements)["row"]
    )
    assert [r[0] for r in leaf["meeting_trend"].rows] == ["2026年第2季度", "2026年第3季度"]


def test_report_carries_the_dashboards_meeting_figures(held, users, api_for):
    from apps.reports import services as reports

    report = reports.report_build(org=held.county, period=Q3, actor=users.staff)
    dashboard = (
        api_for(users.admin)
        .get(f"/api/v1/dashboards/orgs/{held.county.pk}/?quarter=2026-Q3")
        .json()
    )
    ours = [s for s in dashboard["sections"] if s["group"] == "meetings"]
    assert {s["code"] for s in ours} >= {"meetings", "meeting_kinds", "meeting_overdue"}
    assert [s for s in report.figures if s["group"] == "meetings"] == ours

    text = "".join(p.extract_text() for p in PdfReader(report.pdf.path).pages)
    for heading in ("三会一课落实情况", "三会一课分类型达标情况", "逾期未开展三会一课的支部"):
        assert heading in text, heading
    total = next(s for s in ours if s["code"] == "meetings")["rows"][0]
    assert f"{total[1]}个党支部中{total[2]}个各项要求全部达标" in text.replace("\n", "")

    sheet = load_workbook(report.xlsx.path)["三会一课落实情况"]
    rows = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert rows == next(s for s in ours if s["code"] == "meetings")["rows"]


def test_meeting_sections_on_the_page_and_in_downloads(held, users, client_for):
    client = client_for(users.admin)
    page = client.get(f"/dashboards/org/{held.county.pk}/?q=2026-Q3").content.decode()
    for title in ("三会一课落实情况", "三会一课分类型达标情况", "逾期未开展三会一课的支部"):
        assert title in page
    response = client.get(f"/dashboards/org/{held.county.pk}/export/meetings.xlsx?q=2026-Q3")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["三会一课落实情况"]
    assert sheet["A4"].value == f"{held.county.name}（合计）"
    # outside the subtree the download is a 404, like a missing org
    outsider = client_for(users.outsider)
    assert outsider.get(f"/dashboards/org/{held.town_a.pk}/export/meetings.xlsx").status_code == 404


def test_table_cells_are_escaped_and_numbers_aligned():
    from apps.dashboards.sections import Section
    from apps.dashboards.templatetags.dashboard_tables import dash_table_body

    html = dash_table_body(
        Section(
            code="x",
            title="x",
            columns=["党组织", "人数", "说明"],
            rows=[["<script>甲</script>", 3, None], ["乙", 4, "说明"]],
            links=["/dashboards/org/1/?q=2026-Q3&a=<b>", None],
        )
    )
    assert "<script>" not in html and "&lt;script&gt;甲" in html
    assert '<td class="text-end text-nowrap">3</td>' in html
    assert '<td class="dash-text">—</td>' in html and "&amp;a=&lt;b&gt;" in html
