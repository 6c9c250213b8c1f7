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


PARAM_LABELS = {
    "per": "每次",
    "floor": "最低",
    "threshold": "阈值",
    "deduct": "扣",
    "target": "目标",
    "unit_label": "单位",
}


@register.filter
def param_label(key: str) -> str:
    """A rule parameter's Chinese label (per → 每次)."""
    return PARAM_LABELS.get(key, key)
