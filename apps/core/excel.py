"""Cells for the workbooks the platform writes (dashboards, reports, rosters, error lists).

openpyxl stores any string that starts with `=` as a formula, so a member's name or a meeting
title typed as `=HYPERLINK(...)` would run in the reader's Excel. `excel_row` keeps such text a
plain string, passes numbers (Decimal included) and dates through so that they stay numbers and
dates in Excel, writes zone-aware times in Beijing time, and turns anything else into text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone
from openpyxl.cell import WriteOnlyCell


def excel_value(ws, value):
    """One value ready for `ws.append` (normal or write-only worksheet)."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    text = str(value)
    if text.startswith("="):
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"
        return cell
    return text


def excel_row(ws, values: Iterable) -> list:
    return [excel_value(ws, v) for v in values]
