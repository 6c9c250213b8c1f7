"""`{% load audit %}{% for line in entry.changes|change_lines %}`: an audit entry's changes as
short readable lines ("字段：旧 → 新")."""

from __future__ import annotations

from django import template

register = template.Library()


def _short(value) -> str:
    if value is None or value == "" or value == []:
        return "空"
    if isinstance(value, dict) and "str" in value:
        return str(value["str"])
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


@register.filter
def change_lines(changes) -> list[str]:
    if not isinstance(changes, dict):
        return [_short(changes)] if changes else []
    lines = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            old, new = value
            if old in (None, "", []):
                lines.append(f"{field}：{_short(new)}")
            else:
                lines.append(f"{field}：{_short(old)} → {_short(new)}")
        else:
            lines.append(f"{field}：{_short(value)}")
    return lines
