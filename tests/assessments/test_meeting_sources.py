"""Automatic scores from the meetings records, as of a cut-off, traced to the meetings and
periods behind them; the 软弱涣散 screening rules that read them. Every expected value is worked
out here from the meetings this module seeds, not from the platform's own counters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from apps.assessments import services as svc
from apps.assessments.models import Computation
from apps.assessments.selectors import weak_org_candidates
from apps.assessments.sources import record_url
from apps.core.rules import rule_set
from apps.meetings import services as msvc
from apps.meetings.models import Exemption
from tests.meetings.conftest import at, hold, roster_a  # noqa: F401  (roster_a is a fixture)

D = Decimal
ROSTER = 10  # roster_a: 8 full members (incl. the `member` user's record) + 2 probationary
GROUP = 3  # of them in group_a


def _hold(users, when, kinds, **kw):
    """Record and submit a meeting the day after it was held (time frozen then)."""
    with time_machine.travel(when + dt.timedelta(hours=8), tick=False):
        return hold(actor=users.secretary, branch=kw.pop("branch"), kinds=kinds, when=when, **kw)


@pytest.fixture
def meetings(tree, users, roster_a):  # noqa: F811
    """branch_a in 2025 (the numbers in brackets are expected/present):
    1 Jan 10 支委会 [10/10]          2 Jan 15 党小组会 of group_a [3/3]
    3 Jan 20 主题党日, 2 absent [10/8] 4 Feb 10 支委会 [10/10], returned 20 Mar, resubmitted 21 Mar
    5 Feb 20 党员大会+党课, 1 leave [10/9]   6 Feb 25 主题党日 [10/10]
    7 Mar 5 书记讲党课 (also a 党课) [10/10]  8 Mar 31 23:30 Beijing 主题党日 [10/10]
    9 Apr 1 00:30 Beijing 支委会 [10/10]"""
    a = tree.branch_a
    ids = [m.pk for m in roster_a]
    m = {}
    m[1] = _hold(users, at(2025, 1, 10), ["committee_meeting"], branch=a)
    m[2] = _hold(users, at(2025, 1, 15), ["group_meeting"], branch=a, party_group=tree.group_a)
    m[3] = _hold(
        users,
        at(2025, 1, 20),
        ["theme_day"],
        branch=a,
        statuses={ids[0]: "absent", ids[1]: "absent"},
    )
    m[4] = _hold(users, at(2025, 2, 10), ["committee_meeting"], branch=a)
    m[5] = _hold(
        users,
        at(2025, 2, 20),
        ["general_meeting", "party_lecture"],
        branch=a,
        statuses={ids[2]: "leave"},
    )
    m[6] = _hold(users, at(2025, 2, 25), ["theme_day"], branch=a)
    m[7] = _hold(users, at(2025, 3, 5), ["secretary_lecture"], branch=a)
    m[8] = _hold(users, at(2025, 3, 31, 23, 30), ["theme_day"], branch=a)
    with time_machine.travel(at(2025, 3, 20, 10), tick=False):
        msvc.meeting_return(actor=users.staff, meeting=m[4], comment="请补充签到表")
    with time_machine.travel(at(2025, 3, 21, 10), tick=False):
        msvc.meeting_submit(actor=users.secretary, meeting=m[4])
    m[9] = _hold(users, at(2025, 4, 1, 0, 30), ["committee_meeting"], branch=a)
    return m


def compute(staff, tree, template, cutoff):
    cycle = svc.Cycle.objects.filter(org=tree.county, year=2025).first() or svc.cycle_open(
        actor=staff, org=tree.county, year=2025, branch_template=template
    )
    svc.cycle_compute(actor=staff, cycle=cycle, cutoff=cutoff)
    out = {}
    for a in cycle.assessments.select_related("org"):
        comp = Computation.objects.filter(assessment=a).latest("computed_at", "id")
        out[a.org_id] = {i.indicator.code: i for i in comp.items.select_related("indicator")}
    return out


def test_meeting_items_at_a_quarter_end_cutoff(
    tree, users, county_staff, meetings, branch_template
):
    with time_machine.travel(at(2025, 4, 1, 10), tick=False):
        items = compute(county_staff, tree, branch_template, dt.date(2025, 3, 31))[tree.branch_a.pk]
    # 支委会: January and February held, March missed (the April 1 00:30 one is April) → −0.5
    assert (items["B1a"].value, items["B1a"].points) == (D(1), D("1.5"))
    (row,) = items["B1a"].details
    assert row["label"] == "2025年3月" and row["type"] == "meetings.period"
    assert record_url(row) == f"/meetings/?branch={tree.branch_a.pk}&month=2025-03"
    # 党员大会 and 党课 held in Q1 (the quarter ends on the cut-off day, so it is judged)
    assert (items["B1b"].value, items["B1b"].points) == (D(0), D("1.5"))
    assert (items["B1d"].value, items["B1d"].points) == (D(0), D("1.5"))
    # 党小组会: only January → February and March missed, 0.25 each
    assert (items["B1c"].value, items["B1c"].points) == (D(2), D("0.5"))
    assert [d["label"] for d in items["B1c"].details] == ["2025年2月", "2025年3月"]
    # 主题党日 every month; March's at 23:30 Beijing on the 31st counts for March
    assert (items["B2"].value, items["B2"].points) == (D(0), D(4))
    # 书记讲党课 held on 5 March, named
    assert (items["A3"].value, items["A3"].points) == (D(1), D(4))
    assert items["A3"].details[0]["id"] == meetings[7].pk
    # no 组织生活会 yet: 0 points, the year so far named as the period
    assert (items["B3a"].value, items["B3a"].points) == (D(0), D(0))
    assert items["B3a"].details[0]["type"] == "meetings.period"
    # one record returned (20 Mar), even though it was resubmitted → −1
    assert (items["B4"].value, items["B4"].points) == (D(1), D(3))
    assert items["B4"].details[0]["id"] == meetings[4].pk
    # attendance over meetings 1–8: expected 7 × 10 + 3, present 2 absent and 1 leave fewer
    expected, present = 7 * ROSTER + GROUP, 7 * ROSTER + GROUP - 3
    rate = (D(present) / D(expected) * 100).quantize(D("0.01"))
    assert items["C1"].value == rate == D("95.89") and items["C1"].points == D(6)
    assert items["C1"].details[0]["id"] == meetings[3].pk  # the most absentees first


def test_a_period_ending_after_the_cutoff_is_not_judged(
    tree, users, county_staff, meetings, branch_template
):
    with time_machine.travel(at(2025, 4, 1, 10), tick=False):
        items = compute(county_staff, tree, branch_template, dt.date(2025, 3, 30))[tree.branch_a.pk]
    # March and Q1 still run on 30 March: only February's missing 党小组会 counts
    assert items["B1a"].value == 0 and items["B1b"].value == 0 and items["B1c"].value == 1
    # meeting 8 (31 March) is after the cut-off: attendance over meetings 1–7
    expected, present = 6 * ROSTER + GROUP, 6 * ROSTER + GROUP - 3
    assert items["C1"].value == (D(present) / D(expected) * 100).quantize(D("0.01"))


def test_a_returned_record_stops_counting_and_later_periods_are_judged(
    tree, users, county_staff, meetings, branch_template
):
    with time_machine.travel(at(2025, 4, 2, 10), tick=False):
        msvc.meeting_return(actor=users.staff, meeting=meetings[6], comment="记录不完整")
    with time_machine.travel(at(2025, 5, 2, 10), tick=False):
        items = compute(county_staff, tree, branch_template, dt.date(2025, 4, 30))[tree.branch_a.pk]
    # February's only 主题党日 is returned (not counted) and April has none → 2 months
    assert [d["label"] for d in items["B2"].details] == ["2025年2月", "2025年4月"]
    # April's 支委会 (1 April 00:30) is held: still only March missed
    assert items["B1a"].value == 1
    assert items["B4"].value == 2
    assert {d["id"] for d in items["B4"].details} == {meetings[4].pk, meetings[6].pk}


def test_an_approved_exemption_is_not_a_missed_period(
    tree, users, county_staff, meetings, branch_template
):
    Exemption.objects.create(
        branch=tree.branch_a,
        kind="committee_meeting",
        period_key="2025-03",
        reason="书记参加集中培训",
        approved_by=users.staff,
        approved_on=dt.date(2025, 3, 1),
    )
    with time_machine.travel(at(2025, 4, 1, 10), tick=False):
        items = compute(county_staff, tree, branch_template, dt.date(2025, 3, 31))[tree.branch_a.pk]
    assert (items["B1a"].value, items["B1a"].points) == (D(0), D(2))


def test_each_branch_is_scored_on_its_own_meetings(
    tree, users, county_staff, meetings, branch_template
):
    with time_machine.travel(at(2025, 4, 1, 10), tick=False):
        items = compute(county_staff, tree, branch_template, dt.date(2025, 3, 31))
    b = items[tree.branch_b.pk]
    # branch_b held nothing: no committee (no members) and no party group → those do not apply
    assert b["B1a"].value == 0 and "不适用" in b["B1a"].explanation
    assert b["B1c"].value == 0
    assert (b["B1b"].value, b["B2"].value, b["A3"].value, b["B4"].value) == (1, 3, 0, 0)
    assert b["C1"].value == 0  # no records: attendance counted as 0
    assert not any(d["type"] == "meetings.meeting" for i in b.values() for d in i.details)


def test_scorecard_page_names_the_missing_month_for_the_branch(
    tree, users, county_staff, meetings, branch_template, client_for
):
    with time_machine.travel(at(2025, 4, 1, 10), tick=False):
        compute(county_staff, tree, branch_template, dt.date(2025, 3, 31))
        a = svc.Assessment.objects.get(cycle__year=2025, org=tree.branch_a)
        page = client_for(users.secretary).get(f"/assessments/scorecards/{a.pk}/")
        assert page.status_code == 200
        html = page.content.decode()
        assert f"/meetings/?branch={tree.branch_a.pk}&amp;month=2025-03" in html
        assert f"/meetings/{meetings[4].pk}/" in html  # the returned record
        assert client_for(users.outsider).get(f"/assessments/scorecards/{a.pk}/").status_code == 404


def test_screening_three_meetings_one_lecture_overdue_for_whole_quarters(tree, users, meetings):
    with time_machine.travel(at(2025, 4, 2, 10), tick=False):
        msvc.meeting_return(actor=users.staff, meeting=meetings[6], comment="记录不完整")
    rule_set(key="assessments.weak.returned_records", value=2)
    with time_machine.travel(at(2026, 1, 5, 10), tick=False):
        found = {
            c.org.pk: c
            for c in weak_org_candidates(users.staff, tree.town_a, cutoff=dt.date(2025, 12, 31))
        }
    a = found[tree.branch_a.pk]
    # Q1 and Q2 (April 支委会) had 三会一课; Q3 and Q4 had none
    assert "“三会一课”整季度未开展（2025年第3季度、2025年第4季度）" in a.reasons
    quarters = [d for d in a.details if d["type"] == "meetings.period"]
    assert [d["period"] for d in quarters] == ["2025-Q3", "2025-Q4"]
    # two records returned in 2025 (threshold set to 2), each named
    assert "2025年会议记录被上级退回2份（达到2份）" in a.reasons
    assert {d["id"] for d in a.details if d["type"] == "meetings.meeting"} == {
        meetings[4].pk,
        meetings[6].pk,
    }
    # one returned record is below the threshold of 3
    rule_set(key="assessments.weak.returned_records", value=3)
    with time_machine.travel(at(2026, 1, 5, 10), tick=False):
        again = weak_org_candidates(users.staff, tree.town_a, cutoff=dt.date(2025, 12, 31))
    assert not any("退回" in r for c in again for r in c.reasons)


def test_screening_a_quarter_with_only_a_lecture_is_not_whole(tree, users, roster_a):  # noqa: F811
    # branch_a: only a 党课 in Q3 2025 → Q3 is not a whole quarter without 三会一课; Q4 is
    _hold(users, at(2025, 8, 12), ["party_lecture"], branch=tree.branch_a)
    with time_machine.travel(at(2026, 1, 5, 10), tick=False):
        found = {
            c.org.pk: c
            for c in weak_org_candidates(users.staff, tree.town_a, cutoff=dt.date(2025, 12, 31))
        }
    reasons = found[tree.branch_a.pk].reasons
    assert "“三会一课”整季度未开展（2025年第1季度、2025年第2季度、2025年第4季度）" in reasons
