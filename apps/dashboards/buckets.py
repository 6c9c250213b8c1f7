"""The buckets of each member dimension: one place for the SQL that classifies a member row
and for the Chinese labels shown on charts, tables, workbooks and reports."""

from __future__ import annotations

from dataclasses import dataclass

from apps.members.models import Gender, Member, MemberStatus


@dataclass(frozen=True)
class Dimension:
    code: str
    label: str
    sql: str  # an SQL expression over the member row `m` (and the %(as_of)s parameter)
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

_AGE = "date_part('year', age(%(as_of)s::date, m.birth_date))::int"
_AGE_SQL = f"""CASE WHEN m.birth_date IS NULL THEN 'unknown'
  WHEN {_AGE} <= 30 THEN 'le30' WHEN {_AGE} <= 35 THEN '31_35' WHEN {_AGE} <= 40 THEN '36_40'
  WHEN {_AGE} <= 45 THEN '41_45' WHEN {_AGE} <= 50 THEN '46_50' WHEN {_AGE} <= 55 THEN '51_55'
  WHEN {_AGE} <= 60 THEN '56_60' ELSE 'ge61' END"""
_SEN = "date_part('year', age(%(as_of)s::date, m.confirmed_on))::int"
_SENIORITY_SQL = f"""CASE WHEN m.status IN ('probationary', 'probation_extended') THEN 'probationary'
  WHEN m.confirmed_on IS NULL OR m.confirmed_on > %(as_of)s::date THEN 'unknown'
  WHEN {_SEN} < 5 THEN 'lt5' WHEN {_SEN} < 10 THEN '5_9' WHEN {_SEN} < 20 THEN '10_19'
  WHEN {_SEN} < 30 THEN '20_29' WHEN {_SEN} < 40 THEN '30_39' WHEN {_SEN} < 50 THEN '40_49'
  ELSE 'ge50' END"""


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
