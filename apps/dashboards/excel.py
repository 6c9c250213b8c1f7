"""Excel workbooks of dashboard sections (openpyxl): one sheet per section, the same rows as
the tables on the page."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from apps.core.excel import excel_row
from apps.dashboards.sections import Section

HEADER_FILL = PatternFill("solid", fgColor="C8161D")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def _sheet_title(text: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]\*\?/\\:]", "", text)[:28] or "Sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:26]}{n}"
        n += 1
    used.add(title)
    return title


def sections_workbook(sections: Iterable[Section], *, heading: str) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for section in sections:
        ws = wb.create_sheet(_sheet_title(section.title, used))
        ws.append(excel_row(ws, [heading]))
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(excel_row(ws, [section.title + (f"（{section.note}）" if section.note else "")]))
        ws.append(excel_row(ws, section.columns))
        for cell in ws[3]:
            cell.fill, cell.font = HEADER_FILL, HEADER_FONT
            cell.alignment = Alignment(horizontal="center")
        for row in section.rows:
            ws.append(excel_row(ws, row))
        for i, col in enumerate(section.columns, start=1):
            width = (
                max([len(str(col))] + [len(str(r[i - 1])) for r in section.rows if i - 1 < len(r)])
                * 2
                + 2
            )
            ws.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 48)
        ws.freeze_panes = "A4"
    if not wb.sheetnames:
        wb.create_sheet("空")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
