"""The buckets of each member dimension: one place for the SQL that classifies a member row
and for the Chinese labels shown on charts, tables, workbooks and reports."""

from __future__ import annotations

from dataclasses import dataclass

from apps.members.models import Gender, Member, MemberStatus


@dataclass(frozen=True)
class Dimension:
    code: str
    label: str
    sql: str  # an SQL expression over the member row `m` (parameters: sql_params(as_of))
    buckets: tuple[tuple[str, str], ...]  # (code, label) in display order
    roster_only: bool = True  # count only 预备/正式党员


UNKNOWN = ("unknown", "未填写")

# Statuses kept in the status dimension (people on the books; history states are left out).
STATUS_BUCKETS = tuple(
    (s.value, s.label)
    for s in (
        MemberStatus.FULL,
        MemberStatus.PROBATIONARY,
        MemberStatus.PROBATION_EXTENDED,
        MemberStatus.SUSPENDED,
        MemberStatus.CANDIDATE,
        MemberStatus.ACTIVIST,
        MemberStatus.APPLICANT,
    )
)

AGE_BUCKETS = (
    ("le30", "30岁及以下"),
    ("31_35", "31-35岁"),
    ("36_40", "36-40岁"),
    ("41_45", "41-45岁"),
    ("46_50", "46-50岁"),
    ("51_55", "51-55岁"),
    ("56_60", "56-60岁"),
    ("ge61", "61岁及以上"),
    UNKNOWN,
)
SENIORITY_BUCKETS = (
    ("lt5", "不满5年"),
    ("5_9", "5-9年"),
    ("10_19", "10-19年"),
    ("20_29", "20-29年"),
    ("30_39", "30-39年"),
    ("40_49", "40-49年"),
    ("ge50", "50年及以上"),
    ("probationary", "预备党员"),
    UNKNOWN,
)

# Age and 党龄 bands as date comparisons (cheap, index-friendly): "age ≥ N on as_of" is
# "born on or before as_of minus N years" (add_years clamps 29 Feb the way years_between counts).
AGE_LIMITS = (
    (31, "le30"),
    (36, "31_35"),
    (41, "36_40"),
    (46, "41_45"),
    (51, "46_50"),
    (56, "51_55"),
    (61, "56_60"),
)
SENIORITY_LIMITS = (
    (5, "lt5"),
    (10, "5_9"),
    (20, "10_19"),
    (30, "20_29"),
    (40, "30_39"),
    (50, "40_49"),
)


def _bands(column: str, limits, last: str) -> str:
    whens = " ".join(f"WHEN m.{column} > %(minus_{n}y)s::date THEN '{code}'" for n, code in limits)
    return f"CASE WHEN m.{column} IS NULL THEN 'unknown' {whens} ELSE '{last}' END"


_AGE_SQL = _bands("birth_date", AGE_LIMITS, "ge61")
_SENIORITY_SQL = f"""CASE WHEN m.status IN ('probationary', 'probation_extended') THEN 'probationary'
  WHEN m.confirmed_on IS NULL OR m.confirmed_on > %(as_of)s::date THEN 'unknown'
  ELSE ({_bands("confirmed_on", SENIORITY_LIMITS, "ge50")}) END"""


def sql_params(as_of) -> dict:
    """The parameters the dimension SQL uses: as_of and as_of minus N years."""
    from apps.core.periods import add_years

    years = {n for n, _ in AGE_LIMITS} | {n for n, _ in SENIORITY_LIMITS}
    return {"as_of": as_of, **{f"minus_{n}y": add_years(as_of, -n) for n in years}}


def _choice_dimension(code: str, label: str, field_names: tuple[str, ...]) -> Dimension | None:
    """A dimension over an optional Member column (the members app adds education/occupation)."""
    for name in field_names:
        try:
            field = Member._meta.get_field(name)
        except Exception:
            continue
        column = field.column
        choices = tuple((str(k), str(v)) for k, v in (field.choices or ()))
        return Dimension(
            code, label, f"coalesce(nullif(m.{column}::text, ''), 'unknown')", (*choices, UNKNOWN)
        )
    return None


def dimensions() -> list[Dimension]:
    dims = [
        Dimension(
            "status",
            "党员状态",
            "m.status",
            STATUS_BUCKETS,
            roster_only=False,
        ),
        Dimension(
            "gender",
            "性别",
            "coalesce(nullif(m.gender, ''), 'unknown')",
            (*Gender.choices, UNKNOWN),
        ),
        Dimension("age", "年龄", _AGE_SQL, AGE_BUCKETS),
        Dimension("seniority", "党龄", _SENIORITY_SQL, SENIORITY_BUCKETS),
    ]
    for extra in (
        _choice_dimension("education", "学历", ("education",)),
        _choice_dimension(
            "occupation", "职业", ("occupation", "occupation_category", "job_category")
        ),
    ):
        if extra is not None:
            dims.append(extra)
    return dims


def dimension_map() -> dict[str, Dimension]:
    return {d.code: d for d in dimensions()}
