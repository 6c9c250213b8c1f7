"""The point rules, tree sums, bonus caps, vetoes and thresholds (pure functions)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace as NS

import pytest

from apps.assessments.rules import grade_for, stars_for
from apps.assessments.scoring import apply_bonus_cap, build_card, rule_points
from apps.core.rules import rule_set

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, D("4")), (1, D("3.5")), (3, D("2.5")), (8, D("0")), (9, D("0")), (D("2"), D("3"))],
)
def test_per_unit_deducts_per_month_with_a_floor(value, expected):
    points, _ = rule_points(
        rule="per_unit", max_points=D(4), params={"per": "0.5", "floor": 0}, value=D(value)
    )
    assert points == expected


def test_per_unit_floor_above_zero():
    points, why = rule_points(
        rule="per_unit", max_points=D(6), params={"per": 2, "floor": 1}, value=D(5)
    )
    assert points == D(1)
    assert "扣5分" in why


@pytest.mark.parametrize(("months", "expected"), [(5, D(4)), (6, D(4)), (7, D(0))])
def test_threshold_secretary_vacant_more_than_half_a_year_loses_4(months, expected):
    points, _ = rule_points(
        rule="threshold", max_points=D(4), params={"threshold": 6, "deduct": 4}, value=D(months)
    )
    assert points == expected


@pytest.mark.parametrize(
    ("rate", "expected"), [(95, D(6)), (90, D(6)), (45, D(3)), (0, D(0)), (D("89.9"), D("5.99"))]
)
def test_ratio_scores_in_proportion_to_the_target(rate, expected):
    points, _ = rule_points(rule="ratio", max_points=D(6), params={"target": 90}, value=D(rate))
    assert points == expected


def test_boolean_and_bonus_rules():
    assert rule_points(rule="boolean", max_points=D(3), params={"target": 1}, value=D(1))[0] == D(3)
    assert rule_points(rule="boolean", max_points=D(3), params={"target": 1}, value=D(0))[0] == D(0)
    assert rule_points(rule="per_unit_bonus", max_points=D(5), params={"per": 2}, value=D(2))[
        0
    ] == D(4)
    assert rule_points(rule="per_unit_bonus", max_points=D(5), params={"per": 2}, value=D(4))[
        0
    ] == D(5)


_ids = iter(range(1, 10_000))


def ind(code, method, max_points, parent=None, **kw):
    return NS(
        pk=next(_ids),
        code=code,
        method=method,
        max_points=D(max_points),
        parent_id=parent.pk if parent else None,
        order=0,
        params=kw.get("params", {}),
        evidence_required=False,
        name=code,
    )


def item(points=None, value=None, available=True):
    return NS(
        points=None if points is None else D(points),
        value=None if value is None else D(value),
        available=available,
        explanation="",
        details=[],
    )


def score(self_points=None, review_points=None, vetoed=False):
    return NS(
        self_points=None if self_points is None else D(self_points),
        review_points=None if review_points is None else D(review_points),
        vetoed=vetoed,
        self_comment="",
        review_reason="",
        evidence_list=[],
    )


def test_card_sums_groups_caps_bonus_and_uses_review_over_auto_over_self():
    a = ind("A", "group", 10)
    a1, a2, a3 = (
        ind("A1", "auto", 6, a),
        ind("A2", "manual", 4, a),
        ind("A3", "auto", 3, a),
    )  # children over max
    b = ind("B", "group", 10)
    b1, b2 = ind("B1", "bonus", 6, b), ind("B2", "bonus", 6, b)
    v = ind("V", "veto", 0, params={"threshold": 0})
    computed = {a1.pk: item(5), a3.pk: item(3), v.pk: item(value=0)}
    scores = {
        a2.pk: score(self_points=4),
        b1.pk: score(self_points=6),
        b2.pk: score(self_points=5, review_points=3),
    }
    card = build_card(
        [a, a1, a2, a3, b, b1, b2, v], computed=computed, scores=scores, stage="final"
    )
    # A: 5 + 4 + 3 = 12, capped at the group's 10; B: 6 + 3 (review beats self) = 9 of 10
    assert card.base == D(10)
    assert card.bonus == D(9)
    assert card.total == D(19)
    assert not card.vetoed
    capped = apply_bonus_cap(card, D(5))
    assert capped.total == D(15)
    # before review only the self-assessment counts
    self_card = build_card(
        [a, a1, a2, a3, b, b1, b2, v], computed=computed, scores=scores, stage="self"
    )
    assert self_card.bonus == D(10)  # 6 + 5 = 11, group max 10


def test_veto_from_source_or_reviewer():
    v = ind("V", "veto", 0, params={"threshold": 12})
    m = ind("M", "manual", 10)
    scores = {m.pk: score(self_points=10)}
    assert not build_card([v, m], computed={v.pk: item(value=12)}, scores=scores).vetoed
    assert build_card([v, m], computed={v.pk: item(value=13)}, scores=scores).vetoed
    assert build_card([v, m], computed={}, scores=scores | {v.pk: score(vetoed=True)}).vetoed
    # a reviewer's veto mark is not visible before the review stage
    assert not build_card(
        [v, m], computed={}, scores=scores | {v.pk: score(vetoed=True)}, stage="self"
    ).vetoed


def test_unavailable_source_falls_back_to_hand_score_and_counts_unscored():
    a = ind("A", "auto", 5)
    card = build_card([a], computed={a.pk: item(available=False)}, scores={})
    assert card.unscored == 1 and card.total == D(0)
    card = build_card(
        [a], computed={a.pk: item(available=False)}, scores={a.pk: score(self_points=3)}
    )
    assert card.unscored == 0 and card.total == D(3) and card.lines[0].lost == D(2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("score", "grade", "stars"),
    [
        (D("100"), "good", 5),
        (D("90"), "good", 5),
        (D("89.99"), "fairly_good", 4),
        (D("80"), "fairly_good", 4),
        (D("79.99"), "average", 3),
        (D("70"), "average", 3),
        (D("69.99"), "average", 2),
        (D("60"), "average", 2),
        (D("59.99"), "poor", 1),
        (D("0"), "poor", 1),
    ],
)
def test_grade_and_star_thresholds_at_the_boundaries(score, grade, stars):
    assert grade_for(score) == grade
    assert stars_for(score) == stars


@pytest.mark.django_db
def test_thresholds_are_rule_parameters():
    rule_set(key="assessments.star_thresholds", value={"5": 95, "4": 85, "3": 75, "2": 65})
    assert stars_for(D("94")) == 4
    rule_set(
        key="assessments.grade_thresholds", value={"good": 95, "fairly_good": 85, "average": 70}
    )
    assert grade_for(D("69")) == "poor"


@pytest.mark.django_db
def test_default_branch_template_totals_100_plus_10():
    """DOMAIN §6.4's 100 + 10 (docs/decisions/0004): base dimensions 20 + 20 + 30 + 20 and the
    作用发挥 10, a bonus section capped at 10; every group's points equal its children's."""
    from apps.assessments.models import Indicator, Template, TemplateKind

    t = Template.objects.get(is_default=True, kind=TemplateKind.BRANCH)
    rows = list(Indicator.objects.filter(template=t))
    top = {i.code: i for i in rows if i.parent_id is None}
    base = {c: top[c].max_points for c in ("A", "B", "C", "D", "F")}
    assert base == {"A": 20, "B": 20, "C": 30, "D": 20, "F": 10}
    assert sum(base.values()) == 100
    assert top["E"].max_points == 10 and t.bonus_cap == 10
    assert {top[c].method for c in ("V1", "V2")} == {"veto"}
    for group in (i for i in rows if i.method == "group" and i.code != "E"):
        children = [c.max_points for c in rows if c.parent_id == group.pk]
        assert sum(children) == group.max_points, group.code
