"""`{% dash_table_body section %}`: a section's table rows as HTML, built in Python.

A city-level dashboard shows a few thousand table cells; Django's template loop costs tens of
microseconds per cell, this about one. Cells are escaped and localized exactly as `{{ cell }}`
would be (dates in the site's format, None as "—")."""

from __future__ import annotations

from django import template
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import mark_safe

from apps.dashboards.sections import Section

register = template.Library()


def _text(value) -> str:
    return "—" if value is None else escape(localize(value))


@register.simple_tag
def dash_table_body(section: Section) -> str:
    numeric = section.numeric_columns()
    out = []
    for link, row in section.linked_rows():
        cells = []
        for i, value in enumerate(row):
            if i == 0:
                text = escape(localize(value))
                if link:
                    text = f'<a href="{escape(link)}">{text}</a>'
                cells.append(f'<td class="text-nowrap">{text}</td>')
            elif i < len(numeric) and numeric[i]:
                cells.append(f'<td class="text-end text-nowrap">{_text(value)}</td>')
            else:
                cells.append(f'<td class="dash-text">{_text(value)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    if not out:
        out.append(
            f'<tr><td colspan="{len(section.columns)}" class="text-muted">暂无数据</td></tr>'
        )
    return mark_safe("\n".join(out))  # every value is escaped above
