"""Turning source values and hand entries into points (pure functions, no queries).

Rules (Indicator.rule, parameters in Indicator.params):
- per_unit        points = max(floor, max - per × value)          e.g. -2 per month without 支委会, floor 0
- threshold       points = max - deduct when value > threshold      e.g. 书记空缺超6个月扣4
- ratio           points = max × min(1, value / target)             e.g. 参会率 against 90%
- boolean         points = max when value ≥ target (default 1) else 0
- per_unit_bonus  points = min(max, per × value)                    bonus items

Tree: a group's points are the sum of its children clamped to [0, group max]. The total is the
sum of the top-level non-bonus items plus the bonus items, the bonus part capped at the
template's bonus cap. A triggered veto (一票否决) keeps the score visible but forces the grade
to 差 and caps the stars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from apps.assessments.models import Method, RuleKind

TWO = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(TWO, rounding=ROUND_HALF_UP)


def _param(params: dict, key: str, default: Any) -> Decimal:
    return Decimal(str(params.get(key, default)))


def _num(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def rule_points(
    *, rule: str, max_points: Decimal, params: dict, value: Decimal
) -> tuple[Decimal, str]:
    """Points for one automatic indicator, and a sentence saying how they were reached."""
    value = Decimal(value)
    if rule == RuleKind.PER_UNIT:
        per, floor = _param(params, "per", 1), _param(params, "floor", 0)
        points = max(floor, max_points - per * value)
        lost = max_points - points
        if value <= 0:
            return q2(max_points), "未发现扣分情形"
        return (
            q2(points),
            f"每{params.get('unit_label', '次')}扣{_num(per)}分，共{_num(value)}{params.get('unit_label', '次')}，扣{_num(q2(lost))}分（最低{_num(floor)}分）",
        )
    if rule == RuleKind.THRESHOLD:
        threshold, deduct = _param(params, "threshold", 0), _param(params, "deduct", max_points)
        if value > threshold:
            return q2(
                max(Decimal(0), max_points - deduct)
            ), f"超过{_num(threshold)}，扣{_num(deduct)}分"
        return q2(max_points), "未超过阈值"
    if rule == RuleKind.RATIO:
        target = _param(params, "target", 100)
        if target <= 0:
            return q2(max_points), ""
        share = min(Decimal(1), max(Decimal(0), value / target))
        points = q2(max_points * share)
        if share >= 1:
            return points, f"达到目标{_num(target)}"
        return points, f"实际{_num(q2(value))}，目标{_num(target)}，按比例得{_num(points)}分"
    if rule == RuleKind.BOOLEAN:
        target = _param(params, "target", 1)
        if value >= target:
            return q2(max_points), "已完成"
        return Decimal("0.00"), f"未完成（要求至少{_num(target)}，实际{_num(value)}）"
    if rule == RuleKind.PER_UNIT_BONUS:
        per = _param(params, "per", 1)
        points = min(max_points, per * value)
        return q2(
            max(Decimal(0), points)
        ), f"每项加{_num(per)}分，共{_num(value)}项（上限{_num(max_points)}分）"
    raise ValueError(f"unknown rule {rule!r}")


def veto_triggered(*, params: dict, value: Decimal | None) -> bool:
    if value is None:
        return False
    return Decimal(value) > _param(params, "threshold", 0)


@dataclass
class Line:
    """One indicator on a scorecard."""

    indicator: Any
    depth: int
    max_points: Decimal
    auto_points: Decimal | None = None
    self_points: Decimal | None = None
    review_points: Decimal | None = None
    points: Decimal | None = None  # the effective points
    lost: Decimal = Decimal("0")
    explanation: str = ""
    review_reason: str = ""
    self_comment: str = ""
    value: Decimal | None = None
    available: bool = True
    details: list = field(default_factory=list)
    vetoed: bool = False
    unscored: bool = False
    children: list = field(default_factory=list)
    evidence: list = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.indicator.method

    @property
    def is_group(self) -> bool:
        return self.indicator.method == Method.GROUP

    @property
    def is_bonus(self) -> bool:
        return self.indicator.method == Method.BONUS

    @property
    def is_veto(self) -> bool:
        return self.indicator.method == Method.VETO


@dataclass
class Card:
    lines: list[Line]  # flat, tree order
    base: Decimal
    bonus: Decimal
    total: Decimal
    vetoed: bool
    unscored: int


def build_card(indicators: list, *, computed: dict, scores: dict, stage: str = "final") -> Card:
    """Assemble a scorecard.

    indicators: every Indicator of the template; computed: {indicator_id: ComputedItem-like with
    value/points/available/explanation/details}; scores: {indicator_id: Score-like}.
    stage: "auto" (automatic points only), "self" (+ self-assessment), "final" (+ review).
    Effective points: review adjustment, else the automatic points when the source is live,
    else the self-assessment (hand-scored items and waiting sources).
    """
    by_parent: dict[int | None, list] = {}
    for ind in indicators:
        by_parent.setdefault(ind.parent_id, []).append(ind)
    for rows in by_parent.values():
        rows.sort(key=lambda i: (i.order, i.pk))
    flat: list[Line] = []

    def make(ind, depth: int) -> Line:
        line = Line(indicator=ind, depth=depth, max_points=Decimal(ind.max_points))
        flat.append(line)
        item = computed.get(ind.pk)
        score = scores.get(ind.pk)
        if score is not None:
            line.self_points = score.self_points if stage in ("self", "final") else None
            line.self_comment = score.self_comment
            if stage == "final":
                line.review_points = score.review_points
                line.review_reason = score.review_reason
            line.evidence = list(getattr(score, "evidence_list", []))
        if ind.method == Method.GROUP:
            line.children = [make(child, depth + 1) for child in by_parent.get(ind.pk, [])]
            total = sum((c.points or Decimal(0)) for c in line.children if not c.is_veto)
            line.points = q2(min(line.max_points, max(Decimal(0), total)))
            line.vetoed = any(c.vetoed for c in line.children)
            line.unscored = any(c.unscored for c in line.children)
            line.lost = q2(line.max_points - line.points) if not _all_bonus(line) else Decimal(0)
            return line
        if item is not None:
            line.value = item.value
            line.available = item.available
            line.explanation = item.explanation
            line.details = list(item.details or [])
            if item.available:
                line.auto_points = item.points
        if ind.method == Method.VETO:
            line.vetoed = bool(
                item is not None
                and item.available
                and veto_triggered(params=ind.params, value=item.value)
            )
            if score is not None and stage == "final" and score.vetoed:
                line.vetoed = True
            line.points = Decimal(0)
            return line
        if line.review_points is not None:
            line.points = line.review_points
        elif line.auto_points is not None:
            line.points = line.auto_points
        elif line.self_points is not None:
            line.points = line.self_points
        else:
            line.points = None
            line.unscored = True
        if line.points is not None and not line.is_bonus:
            line.lost = q2(line.max_points - line.points)
        return line

    roots = [make(ind, 0) for ind in by_parent.get(None, [])]
    base = sum((r.points or Decimal(0)) for r in roots if not _all_bonus(r) and not r.is_veto)
    bonus = sum((r.points or Decimal(0)) for r in roots if _all_bonus(r))
    return Card(
        lines=flat,
        base=q2(base),
        bonus=q2(bonus),
        total=q2(base + bonus),
        vetoed=any(line.vetoed for line in flat),
        unscored=sum(1 for line in flat if line.unscored),
    )


def _all_bonus(line: Line) -> bool:
    if line.is_bonus:
        return True
    if line.is_group:
        return bool(line.children) and all(_all_bonus(c) for c in line.children)
    return False


def apply_bonus_cap(card: Card, cap: Decimal) -> Card:
    bonus = min(card.bonus, Decimal(cap))
    card.bonus = q2(bonus)
    card.total = q2(card.base + card.bonus)
    return card
