"""Assessment rule parameters (DOMAIN.md §6: all local practice ⚠️, editable on 规则参数)."""

from __future__ import annotations

from decimal import Decimal

from apps.core.rules import register, rule_value

register(
    "assessments.grade_thresholds",
    {"good": 90, "fairly_good": 80, "average": 60},
    "考核等次分数线",
    "年终考核最终得分 ≥ good 为“好”，≥ fairly_good 为“较好”，≥ average 为“一般”，其余为“差”。一票否决直接定为“差”。",
    kind=dict,
)
register(
    "assessments.star_thresholds",
    {"5": 90, "4": 80, "3": 70, "2": 60},
    "评星定级分数线",
    "样例A：≥90五星、80–89四星、70–79三星、60–69二星、<60一星。",
    kind=dict,
)
register(
    "assessments.five_star_ratio",
    Decimal("0.30"),
    "五星比例上限",
    "五星党组织不超过本周期范围内参评党支部的比例（按得分排名，末位同分者整体不进入，见 docs/decisions）。",
    min_value=Decimal("0"),
    max_value=Decimal("1"),
)
register(
    "assessments.capped_max_stars",
    2,
    "一票否决/软弱涣散最高星级",
    "被一票否决或认定为软弱涣散的党组织不得评三星及以上（样例B）。",
    min_value=1,
    max_value=5,
)
register(
    "assessments.vote_values",
    {"good": 100, "fairly_good": 80, "average": 60, "poor": 0},
    "述职评议票值",
    "每张“好/较好/一般/差”票折算的分值。",
    kind=dict,
)
register(
    "assessments.vote_group_weights",
    {"committee": 70, "representative": 30},
    "述职评议权重",
    "上级党组织班子成员与党员群众代表两类评议人的权重（按有投票的类别归一）。",
    kind=dict,
)
register(
    "assessments.duty_grade_thresholds",
    {"good": 90, "fairly_good": 75, "average": 60},
    "述职评议等次分数线",
    "综合测评得分 ≥ good 为“好”，≥ fairly_good 为“较好”，≥ average 为“一般”，其余为“差”。",
    kind=dict,
)
register(
    "assessments.weak.secretary_vacant_months",
    3,
    "软弱涣散排查：书记空缺月数",
    "书记出缺超过该月数的列入软弱涣散候选。",
    min_value=1,
)
register(
    "assessments.weak.term_overdue_months",
    0,
    "软弱涣散排查：换届逾期月数",
    "任期届满逾期超过该月数（0 表示逾期即列入）的列入候选。",
    min_value=0,
)
register(
    "assessments.weak.no_development_years",
    2,
    "软弱涣散排查：连续未发展党员年数",
    "连续该年数无新发展党员（预备党员接收）的列入候选。",
    min_value=1,
)
register(
    "assessments.weak.overdue_quarters",
    1,
    "软弱涣散排查：“三会一课”整季度未开展",
    "截至排查日的最近四个季度中，有该数目的季度整季度未开展“三会一课”（党员大会、支委会、党小组会、党课均未达到要求）的列入候选。",
    min_value=1,
)
register(
    "assessments.weak.returned_records",
    3,
    "软弱涣散排查：被退回记录数",
    "年度内会议记录被上级退回达到该数目的列入候选。",
    min_value=1,
)
register(
    "assessments.weak.low_score",
    60,
    "软弱涣散排查：考核低分线",
    "最近一次已公布考核得分低于该分数的列入候选。",
    min_value=0,
)


def thresholds(key: str) -> list[tuple[str, Decimal]]:
    """A {label: minimum} rule as [(label, minimum)], highest minimum first."""
    values = rule_value(key) or {}
    return sorted(
        ((str(k), Decimal(str(v))) for k, v in values.items()), key=lambda kv: kv[1], reverse=True
    )


def grade_for(score: Decimal | None, *, key: str = "assessments.grade_thresholds") -> str:
    if score is None:
        return ""
    for grade, minimum in thresholds(key):
        if score >= minimum:
            return grade
    return "poor"


def stars_for(score: Decimal | None) -> int:
    if score is None:
        return 1
    for stars, minimum in thresholds("assessments.star_thresholds"):
        if score >= minimum:
            return int(stars)
    return 1
