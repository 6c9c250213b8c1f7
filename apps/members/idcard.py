"""公民身份号码 (GB 11643-1999): 6-digit area code, 8-digit birth date, 3-digit sequence whose
last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def birth_date_of(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def gender_of(value: str) -> str:
    """ "male" or "female" from the sequence digit (odd = male)."""
    return "male" if int(value[16]) % 2 else "female"


def validate_id_number(
    value: str, *, birth_date: dt.date | None = None, gender: str | None = None
) -> str:
    """Return the normalised number or raise ValidationError({"id_number": ...}) in Chinese.
    When `birth_date` / `gender` are given they must agree with the number."""
    number = normalize(value)
    if not _PATTERN.match(number):
        raise ValidationError(
            {"id_number": ["公民身份号码应为18位：前17位为数字，最后一位为数字或X。"]}
        )
    try:
        born = birth_date_of(number)
    except ValueError:
        raise ValidationError(
            {"id_number": ["公民身份号码中的出生日期（第7–14位）不是有效日期。"]}
        ) from None
    if born.year < 1900 or born > dt.date.today():
        raise ValidationError({"id_number": ["公民身份号码中的出生日期（第7–14位）不合理。"]})
    expected = check_char(number[:17])
    if number[17] != expected:
        raise ValidationError({"id_number": ["公民身份号码校验位不正确，请核对后重新输入。"]})
    errors: dict[str, list[str]] = {}
    if birth_date is not None and birth_date != born:
        errors["birth_date"] = [f"出生日期与公民身份号码不一致（号码中为{born:%Y年%m月%d日}）。"]
    if gender and gender != gender_of(number):
        label = "男" if gender_of(number) == "male" else "女"
        errors["gender"] = [f"性别与公民身份号码不一致（号码第17位表示“{label}”）。"]
    if errors:
        raise ValidationError(errors)
    return number


def make_id_number(area: str, born: dt.date, sequence: int, *, male: bool) -> str:
    """Build a valid number (demo data, tests): `sequence` 0-99 is combined with the gender digit."""
    seq = f"{sequence % 100:02d}"
    gender_digit = (sequence % 5) * 2 + (1 if male else 0)
    first17 = f"{area}{born:%Y%m%d}{seq}{gender_digit}"
    return first17 + check_char(first17)
