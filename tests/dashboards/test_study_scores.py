"""Study-hour attainment and assessment scores: dashboard figures equal recomputations from the
raw rows (study records, committee positions, scorecards)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from apps.core.periods import Period
from apps.dashboards.sections import context_for, sections_for
from apps.dashboards.services import subtree_stats_refresh
from apps.members.models import MEMBER_STATUSES, Member, StudyRecord
from apps.organizations.models import CommitteePosition, Position

pytestmark = pytest.mark.django_db
Q3 = Period.quarter(2026, 3)
TODAY = dt.date(2026, 10, 10)


def _sections(org):
    return {s.code: s for s in sections_for(context_for(org=org, period=Q3, today=TODAY))}


def test_study_attainment_equals_a_recomputation(populated):
    tree = populated
    rng = random.Random(3)
    members = list(Member.objects.all())
    for m in members:
        for _ in range(rng.randint(0, 4)):
            StudyRecord.objects.create(
                member=m,
                course="集中学习",
                held_on=dt.date(rng.choice([2025, 2026]), rng.randint(1, 12), 1),
                hours=Decimal(rng.choice([4, 8, 16, 24])),
            )
    party = [m for m in members if m.status in MEMBER_STATUSES]
    leaders = party[:4]
    for m, position in zip(
        leaders[:3], [Position.SECRETARY, Position.ORGANIZATION, Position.MEMBER], strict=True
    ):
        CommitteePosition.objects.create(
            org=m.branch, member=m, position=position, started_on=dt.date(2024, 1, 1)
        )
    CommitteePosition.objects.create(  # a group leader is not a 班子成员
        org=leaders[3].branch,
        member=leaders[3],
        position=Position.GROUP_LEADER,
        started_on=dt.date(2024, 1, 1),
    )
    CommitteePosition.objects.create(  # an ended position does not count
        org=party[5].branch,
        member=party[5],
        position=Position.SECRETARY,
        started_on=dt.date(2020, 1, 1),
        ended_on=dt.date(2023, 1, 1),
    )
    subtree_stats_refresh(today=TODAY)

    def raw(org):
        mine = [m for m in party if m.branch.path.startswith(org.path)]
        lead = {m.pk for m in leaders[:3]}
        hours = {
            m.pk: sum(
                (r.hours for r in StudyRecord.objects.filter(member=m, held_on__year=2026)),
                Decimal(0),
            )
            for m in mine
        }
        met = sum(1 for m in mine if hours[m.pk] >= (56 if m.pk in lead else 32))
        in_lead = [m for m in mine if m.pk in lead]
        lead_met = sum(1 for m in in_lead if hours[m.pk] >= 56)
        return [
            len(mine),
            met,
            round(100 * met / len(mine), 1),
            len(in_lead),
            lead_met,
            round(100 * lead_met / len(in_lead), 1) if in_lead else None,
            round(float(sum(hours.values())) / len(mine), 1),
        ]

    rows = {r[0]: r[1:] for r in _sections(tree.county)["study"].rows}
    assert rows[f"{tree.county.name}（合计）"] == raw(tree.county)
    assert rows[tree.town_a.name] == raw(tree.town_a)
    assert rows[tree.town_b.name] == raw(tree.town_b)
    assert _sections(tree.branch_b)["study"].rows[0][1:] == raw(tree.branch_b)
    assert 0 < raw(tree.county)[1] < raw(tree.county)[0], "some but not all reach 32"


def test_assessment_scores_of_the_latest_published_cycle(tree):
    from apps.assessments.models import Assessment, Cycle, Template, TemplateKind

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
    for org, score, grade in (
        (tree.branch_a, "92.00", "good"),
        (tree.branch_b, "78.00", "fairly_good"),
        (tree.town_a, "88.00", "good"),
    ):
        for cycle in (published, draft):
            Assessment.objects.create(
                cycle=cycle,
                org=org,
                kind=TemplateKind.BRANCH,
                template=templates["branch_template"],
                final_score=Decimal(score) if cycle == published else Decimal("10"),
                grade=grade if cycle == published else "poor",
            )
    subtree_stats_refresh(today=TODAY)
    section = _sections(tree.county)["scores"]
    assert section.title == "2025年度考核得分"
    rows = {r[0]: r[1:] for r in section.rows}
    assert rows[f"{tree.county.name}（合计）"] == [None, "—", 3, 86.0, 2, 1, 0, 0]
    assert rows[tree.town_a.name] == [Decimal("88.00"), "好", 3, 86.0, 2, 1, 0, 0]
    assert rows[tree.town_b.name] == [None, "—", 0, None, 0, 0, 0, 0]
    town = {r[0]: r[1:] for r in _sections(tree.town_a)["scores"].rows}
    assert town[tree.branch_b.name][:2] == [Decimal("78.00"), "较好"]
