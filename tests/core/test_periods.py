import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.core.periods import Period, PeriodKind, add_months, working_days_after


def test_meeting_at_2330_beijing_on_31_march_is_in_q1():
    held = dt.datetime(2026, 3, 31, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert Period.containing(PeriodKind.QUARTER, held) == Period.quarter(2026, 1)
    utc = held.astimezone(dt.UTC)
    assert Period.containing(PeriodKind.QUARTER, utc) == Period.quarter(2026, 1)


def test_quarter_boundaries_and_navigation():
    q4 = Period.quarter(2025, 4)
    assert q4.start == dt.date(2025, 10, 1) and q4.end == dt.date(2025, 12, 31)
    assert q4.next() == Period.quarter(2026, 1)
    assert Period.quarter(2026, 1).previous() == q4
    assert [m.index for m in Period.quarter(2026, 2).months()] == [4, 5, 6]


def test_leap_day_month_arithmetic():
    assert Period.month(2028, 2).end == dt.date(2028, 2, 29)
    assert add_months(dt.date(2028, 2, 29), 12) == dt.date(2029, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)


def test_parse_and_labels():
    assert Period.parse("2026-Q3").label == "2026年第3季度"
    assert Period.parse("2026-07").key == "2026-07"
    assert Period.parse("2026").end == dt.date(2026, 12, 31)


def test_working_days_skip_weekends():
    friday = dt.date(2026, 11, 20)
    assert working_days_after(friday, 1) == dt.date(2026, 11, 23)
    assert working_days_after(friday, 5) == dt.date(2026, 11, 27)


def test_parse_refuses_years_no_date_can_hold():
    for text in ("0-Q1", "-5-Q1", "99999-Q2", "0-01", "-5", "10000"):
        with pytest.raises(ValueError, match=r"期间年份超出范围|无法识别的期间"):
            Period.parse(text)
    assert Period.parse("2026-07") == Period.month(2026, 7)
    assert Period.parse("1921") == Period.year_of(1921)
