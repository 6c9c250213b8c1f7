"""Month, quarter and year arithmetic: the only place the platform does calendar maths.

Every date is a *local* date in Asia/Shanghai. Convert aware datetimes with `local_date`
before asking which period they fall in: a meeting at 23:30 on 31 March Beijing time is in Q1
even though it is 15:30 UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


KIND_LABELS = {PeriodKind.MONTH: "月", PeriodKind.QUARTER: "季度", PeriodKind.YEAR: "年"}


def local_now() -> dt.datetime:
    return timezone.now().astimezone(SHANGHAI)


def local_today() -> dt.date:
    return local_now().date()


def local_date(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValueError("naive datetime: make it aware (Asia/Shanghai) first")
        return value.astimezone(SHANGHAI).date()
    return value


def local_midnight(day: dt.date) -> dt.datetime:
    """The aware datetime at 00:00 Beijing time on `day`."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole years; 29 Feb becomes 28 Feb in a common year."""
    return add_months(day, 12 * years)


def years_between(start: dt.date, end: dt.date) -> int:
    """Completed years from `start` to `end` (an age, a seniority)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


# Years a period typed by a user may name: from the Party's founding to far enough ahead.
PARSE_YEARS = range(1921, 2200)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period. `index` is the month (1-12), the quarter (1-4), or 1 for a year."""

    year: int
    kind: PeriodKind
    index: int

    def __post_init__(self) -> None:
        limits = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}
        if not 1 <= self.index <= limits[PeriodKind(self.kind)]:
            raise ValueError(f"bad {self.kind} index {self.index}")

    # --- construction -----------------------------------------------------------------
    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(year, PeriodKind.MONTH, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls(year, PeriodKind.QUARTER, quarter)

    @classmethod
    def year_of(cls, year: int) -> Period:
        return cls(year, PeriodKind.YEAR, 1)

    @classmethod
    def containing(cls, kind: PeriodKind | str, value: dt.date | dt.datetime) -> Period:
        day = local_date(value)
        kind = PeriodKind(kind)
        if kind is PeriodKind.MONTH:
            return cls.month(day.year, day.month)
        if kind is PeriodKind.QUARTER:
            return cls.quarter(day.year, quarter_of(day))
        return cls.year_of(day.year)

    @classmethod
    def current(cls, kind: PeriodKind | str) -> Period:
        return cls.containing(kind, local_today())

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse `2026`, `2026-Q3` or `2026-07`. Years outside PARSE_YEARS are refused (user
        input such as `0-Q1` or `-5-Q1` would otherwise fail later in date arithmetic)."""
        text = text.strip().upper()
        try:
            if "-Q" in text:
                year, q = text.split("-Q")
                period = cls.quarter(int(year), int(q))
            elif "-" in text[1:]:
                year, m = text.rsplit("-", 1)
                period = cls.month(int(year), int(m))
            else:
                period = cls.year_of(int(text))
        except ValueError as exc:
            raise ValueError(f"无法识别的期间：{text}") from exc
        if period.year not in PARSE_YEARS:
            raise ValueError(
                f"期间年份超出范围（{PARSE_YEARS.start}–{PARSE_YEARS.stop - 1}）：{text}"
            )
        return period

    # --- properties -------------------------------------------------------------------
    @property
    def start(self) -> dt.date:
        if self.kind == PeriodKind.MONTH:
            return dt.date(self.year, self.index, 1)
        if self.kind == PeriodKind.QUARTER:
            return dt.date(self.year, 3 * (self.index - 1) + 1, 1)
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the period (inclusive)."""
        return self.next().start - dt.timedelta(days=1)

    @property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive end as an aware datetime: midnight Beijing time after the last day."""
        return local_midnight(self.next().start)

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year}-Q{self.index}"
        return f"{self.year}"

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.year}年{self.index}月"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year}年第{self.index}季度"
        return f"{self.year}年"

    def __str__(self) -> str:
        return self.key

    def contains(self, value: dt.date | dt.datetime) -> bool:
        day = local_date(value)
        return self.start <= day <= self.end

    def days_left(self, today: dt.date | None = None) -> int:
        today = today or local_today()
        return (self.end - today).days

    def next(self) -> Period:
        if self.kind == PeriodKind.MONTH:
            return Period.month(self.year + self.index // 12, self.index % 12 + 1)
        if self.kind == PeriodKind.QUARTER:
            return Period.quarter(self.year + self.index // 4, self.index % 4 + 1)
        return Period.year_of(self.year + 1)

    def previous(self) -> Period:
        if self.kind == PeriodKind.MONTH:
            return Period.month(self.year - (self.index == 1), (self.index - 2) % 12 + 1)
        if self.kind == PeriodKind.QUARTER:
            return Period.quarter(self.year - (self.index == 1), (self.index - 2) % 4 + 1)
        return Period.year_of(self.year - 1)

    def months(self) -> list[Period]:
        """The months this period covers, in order."""
        first = self.start
        count = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[
            PeriodKind(self.kind)
        ]
        return [
            Period.month(add_months(first, i).year, add_months(first, i).month)
            for i in range(count)
        ]

    def quarters(self) -> list[Period]:
        if self.kind == PeriodKind.YEAR:
            return [Period.quarter(self.year, q) for q in range(1, 5)]
        return [Period.containing(PeriodKind.QUARTER, self.start)]


def working_days_after(day: dt.date, count: int) -> dt.date:
    """The date `count` working days (Mon-Fri) after `day`. Public holidays are not modelled."""
    current = day
    remaining = count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
