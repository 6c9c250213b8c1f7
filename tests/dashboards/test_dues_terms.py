"""Dues and term sections: figures equal recomputations from the raw rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.core.periods import Period
from apps.dashboards.sections import context_for, sections_for
from apps.dashboards.services import dues_stats_refresh, subtree_stats_refresh
from apps.members.models import DuesBranchMonth
from apps.organizations.models import Term

pytestmark = pytest.mark.django_db
Q3 = Period.quarter(2026, 3)
TODAY = dt.date(2026, 10, 10)


def _sections(org, period=Q3, today=TODAY):
    return {s.code: s for s in sections_for(context_for(org=org, period=period, today=today))}


def test_dues_per_child_and_total_equal_the_branch_rows(tree):
    data = {
        tree.branch_a: [
            ("2026-07-01", 10, "100.00", "100.00", 0),
            ("2026-09-01", 10, "100.00", "80.00", 2),
        ],
        tree.branch_b: [
            ("2026-08-01", 5, "50.00", "0.00", 5),
            ("2026-09-01", 5, "50.00", "25.50", 3),
        ],
        tree.branch_c: [("2026-09-01", 4, "40.00", "40.00", 0), ("2026-06-01", 4, "40.00", "0", 4)],
    }
    for branch, months in data.items():
        for month, members, expected, paid, arrears in months:
            DuesBranchMonth.objects.create(
                branch=branch,
                month=dt.date.fromisoformat(month),
                members=members,
                expected=Decimal(expected),
                paid=Decimal(paid),
                in_arrears=arrears,
            )
    dues_stats_refresh(today=TODAY)
    county = {row[0]: row for row in _sections(tree.county)["dues"].rows}
    # Q3 only (the June row of branch_c is Q2): 340.00 expected, 245.50 paid.
    total = county[f"{tree.county.name}（合计）"]
    assert total[2] == Decimal("340.00") and total[3] == Decimal("245.50")
    assert total[4] == Decimal("94.50")  # owed: expected less paid
    assert total[5] == round(100 * 245.5 / 340, 1)
    assert total[6] == 2 + 3 + 0  # arrears in the quarter's last month
    town_a = county[tree.town_a.name]
    assert (town_a[2], town_a[3], town_a[4]) == (
        Decimal("300.00"),
        Decimal("205.50"),
        Decimal("94.50"),
    )
    assert _sections(tree.town_b)["dues"].rows[0][5] == 100.0
    chart = _sections(tree.county)["dues"].chart_spec()
    assert f"{tree.county.name}（合计）" not in str(chart)  # the chart compares the children


def test_terms_due_within_six_months_boundary(tree):
    def term(org, ends_on):
        return Term.objects.create(
            org=org, number=1, elected_on=dt.date(2021, 1, 1), term_years=5, ends_on=ends_on
        )

    term(tree.branch_a, dt.date(2027, 4, 10))  # exactly six months ahead: listed
    term(tree.branch_b, dt.date(2027, 4, 11))  # one day more: not listed
    term(tree.branch_c, dt.date(2026, 9, 30))  # already over: 逾期未换届
    subtree_stats_refresh(today=TODAY)
    county = _sections(tree.county)["terms"]
    rows = county.rows
    assert [r[0] for r in rows] == [tree.branch_c.name, tree.branch_a.name]
    assert rows[0][3] == "逾期未换届" and rows[1][3] == "即将到期"
    assert county.note.startswith("共2个（逾期1个）")
    assert [r[0] for r in _sections(tree.town_a)["terms"].rows] == [tree.branch_a.name]
    subtree_stats_refresh(today=dt.date(2026, 10, 9))  # the day before: branch_a not yet due
    assert "terms" not in _sections(tree.town_a, today=dt.date(2026, 10, 9))


def test_star_distribution_counts_only_published_results_and_weak_orgs_listed(tree):
    from apps.assessments.models import Cycle, StarRating, Template, TemplateKind, WeakOrg

    templates = {
        "branch_template": Template.objects.get(is_default=True, kind=TemplateKind.BRANCH),
        "secretary_template": Template.objects.get(is_default=True, kind=TemplateKind.SECRETARY),
    }
    published = Cycle.objects.create(
        org=tree.county, name="2025年度考核", year=2025, phase="published", **templates
    )
    draft = Cycle.objects.create(
        org=tree.county, name="2026年度考核", year=2026, phase="review", **templates
    )
    for org, stars, score in (
        (tree.branch_a, 5, 95),
        (tree.branch_b, 4, 85),
        (tree.branch_c, 4, 82),
    ):
        StarRating.objects.create(
            cycle=published, org=org, score=score, stars=stars, by_score=stars
        )
        StarRating.objects.create(
            cycle=draft, org=org, score=50, stars=1, by_score=1
        )  # not public yet
    WeakOrg.objects.create(org=tree.branch_b, year=2025, reasons=["不按期开展三会一课"])
    subtree_stats_refresh(today=TODAY)
    county = _sections(tree.county)
    assert county["stars"].title == "2025年度评星定级"
    assert county["stars"].rows == [["5星", 1], ["4星", 2], ["3星", 0], ["2星", 0], ["1星", 0]]
    assert "87.3" in county["stars"].note
    assert _sections(tree.town_b)["stars"].rows[1] == ["4星", 1]
    assert [r[0] for r in county["weak"].rows] == [tree.branch_b.name]
    assert "weak" not in _sections(tree.town_b)
