from django import template

register = template.Library()

GRADE_CLASS = {"good": "success", "fairly_good": "primary", "average": "warning", "poor": "danger"}


@register.filter
def grade_class(grade: str) -> str:
    """Bootstrap colour for a grade (好/较好/一般/差)."""
    return GRADE_CLASS.get(grade or "", "secondary")


@register.filter
def indent(depth: int) -> str:
    return f"{(depth or 0) * 1.1:.1f}rem"


@register.filter
def rule_summary(ind) -> str:
    """An indicator's rule in words: 每个月扣0.5分（最低0分）, 超过6扣4分, 目标90按比例得分."""
    p = ind.params or {}
    unit = p.get("unit_label", "次")
    if ind.rule == "per_unit":
        floor = f"（最低{p['floor']}分）" if p.get("floor") not in (None, "") else ""
        return f"每{unit}扣{p.get('per', 1)}分{floor}"
    if ind.rule == "threshold":
        return f"超过{p.get('threshold', 0)}扣{p.get('deduct', ind.max_points)}分"
    if ind.rule == "ratio":
        return f"目标{p.get('target', 100)}，按比例得分"
    if ind.rule == "boolean":
        return f"达到{p.get('target', 1)}得满分"
    if ind.rule == "per_unit_bonus":
        return f"每{unit}加{p.get('per', 1)}分"
    if ind.method == "veto" and ind.source:
        return f"超过{p.get('threshold', 0)}即否决"
    return ""
