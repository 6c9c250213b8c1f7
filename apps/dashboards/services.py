"""Writes of the dashboards app: refreshing the rollups (the only writers of its tables)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from apps.core.periods import Period, PeriodKind, local_today
from apps.dashboards.buckets import STATUS_BUCKETS, dimensions, sql_params
from apps.dashboards.models import OrgDuesStat, OrgMemberStat, RollupState
from apps.members.models import MEMBER_STATUSES, Member
from apps.organizations.models import Org

MEMBER_ROLLUP = "member_stats"


def _member_rollup_sql() -> str:
    """One INSERT … SELECT: count member rows per leaf org (the party group if set, else the
    branch) for each dimension, then add each leaf's counts to all its ancestors by slicing its
    materialized path (performance.md §3, tree rollup)."""
    member = Member._meta.db_table
    org = Org._meta.db_table
    stat = OrgMemberStat._meta.db_table
    roster = ", ".join(f"'{s}'" for s in sorted(MEMBER_STATUSES))
    on_books = ", ".join(f"'{code}'" for code, _ in STATUS_BUCKETS)
    dims = dimensions()
    cols = ",\n    ".join(
        f"CASE WHEN m.status IN ({on_books if not d.roster_only else roster}) THEN ({d.sql})::text END AS b_{d.code}"
        for d in dims
    )
    sets = ", ".join(f"(org_id, b_{d.code})" for d in dims)
    unpivot = ", ".join(f"('{d.code}', b_{d.code})" for d in dims)
    # One scan of the member table: each row is classified once per dimension, and GROUPING
    # SETS count every dimension in the same pass; the unpivot keeps the one grouped column.
    leaf = f"""SELECT s.org_id, v.dim, v.bucket, s.n
  FROM (
    SELECT org_id, {", ".join(f"b_{d.code}" for d in dims)}, count(*) AS n
    FROM (SELECT coalesce(m.party_group_id, m.branch_id) AS org_id,
    {cols}
    FROM {member} m WHERE m.status IN ({on_books})) c
    GROUP BY GROUPING SETS ({sets})
  ) s
  CROSS JOIN LATERAL (VALUES {unpivot}) AS v(dim, bucket)
  WHERE v.bucket IS NOT NULL"""
    steplen = Org.steplen
    return f"""
INSERT INTO {stat} (as_of, org_id, dimension, bucket, count)
WITH leaf AS (
  {leaf}
)
SELECT %(as_of)s::date, a.id, l.dim, l.bucket, sum(l.n)
FROM leaf l
JOIN {org} o ON o.id = l.org_id
CROSS JOIN LATERAL generate_series(1, o.depth) AS g(i)
JOIN {org} a ON a.path = substr(o.path, 1, {steplen} * g.i)
GROUP BY a.id, l.dim, l.bucket
"""


@dataclass(frozen=True)
class RefreshResult:
    as_of: dt.date
    rows: int
    seconds: float


@transaction.atomic
def member_stats_refresh(*, as_of: dt.date | None = None) -> RefreshResult:
    """Recompute the member rollup snapshot for `as_of` (today by default) in one transaction:
    readers see the old snapshot until it commits. Older snapshots of the same quarter are
    dropped, so every past quarter keeps exactly its last (closing) snapshot."""
    as_of = as_of or local_today()
    started = time.monotonic()
    quarter = Period.containing(PeriodKind.QUARTER, as_of)
    # Serialise concurrent refreshes (beat + a manual run) on one advisory lock.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('dashboards.member_stats'))")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        OrgMemberStat.objects.filter(as_of__gte=quarter.start, as_of__lte=as_of).delete()
        cursor.execute(_member_rollup_sql(), sql_params(as_of))
        rows = cursor.rowcount
    seconds = time.monotonic() - started
    RollupState.objects.update_or_create(
        name=MEMBER_ROLLUP,
        defaults={
            "as_of": as_of,
            "refreshed_at": timezone.now(),
            "rows": rows,
            "duration_ms": int(seconds * 1000),
        },
    )
    return RefreshResult(as_of=as_of, rows=rows, seconds=seconds)


@dataclass(frozen=True)
class Mismatch:
    org_id: int
    dimension: str
    bucket: str
    rollup: int
    raw: int


def member_stats_check(*, orgs: list[Org], as_of: dt.date | None = None) -> list[Mismatch]:
    """Compare the rollup with counts recomputed from raw member rows for `orgs` (each over its
    subtree, by literal path prefix). Returns the differences; empty means the rollup is true."""
    from apps.dashboards.selectors import member_stats_raw, member_stats_rows

    mismatches: list[Mismatch] = []
    for org in orgs:
        rolled = member_stats_rows(org=org, as_of=as_of)
        raw = member_stats_raw(org=org, as_of=as_of or _latest_as_of())
        for key in sorted(set(rolled) | set(raw)):
            if rolled.get(key, 0) != raw.get(key, 0):
                mismatches.append(
                    Mismatch(org.pk, key[0], key[1], rolled.get(key, 0), raw.get(key, 0))
                )
    return mismatches


def _latest_as_of() -> dt.date | None:
    state = RollupState.objects.filter(name=MEMBER_ROLLUP).first()
    return state.as_of if state else None


DUES_ROLLUP = "dues_stats"


@transaction.atomic
def dues_stats_refresh(*, today: dt.date | None = None) -> int:
    """Roll the per-branch dues rollup up the tree for the months of the current and the
    previous quarter (late payments change them); older months keep their last figures."""
    from apps.members.models import DuesBranchMonth

    today = today or local_today()
    started = time.monotonic()
    first = Period.containing(PeriodKind.QUARTER, today).previous().start
    org = Org._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('dashboards.dues_stats'))")
        OrgDuesStat.objects.filter(month__gte=first).delete()
        cursor.execute(
            f"""INSERT INTO {OrgDuesStat._meta.db_table} (month, org_id, members, expected, paid, in_arrears)
            SELECT d.month, a.id, sum(d.members), sum(d.expected), sum(d.paid), sum(d.in_arrears)
            FROM {DuesBranchMonth._meta.db_table} d
            JOIN {org} o ON o.id = d.branch_id
            CROSS JOIN LATERAL generate_series(1, o.depth) AS g(i)
            JOIN {org} a ON a.path = substr(o.path, 1, {Org.steplen} * g.i)
            WHERE d.month >= %s
            GROUP BY d.month, a.id""",
            [first],
        )
        rows = cursor.rowcount
    RollupState.objects.update_or_create(
        name=DUES_ROLLUP,
        defaults={
            "as_of": today,
            "refreshed_at": timezone.now(),
            "rows": rows,
            "duration_ms": int((time.monotonic() - started) * 1000),
        },
    )
    return rows


# --- subtree figures: study hours, stars, scores, 软弱涣散, terms (OrgSubtreeStat, TermDue) ------

SUBTREE_ROLLUP = "subtree_stats"


def _up_the_tree(leaf_sql: str) -> str:
    """Wrap a query yielding (org_id, metric, key, bucket, n, total) per leaf org into one that
    adds every leaf row to all the org's ancestors (and itself) by path slicing."""
    org = Org._meta.db_table
    return f"""
SELECT a.id, l.metric, l.key, l.bucket, sum(l.n), sum(l.total)
FROM ({leaf_sql}) l
JOIN {org} o ON o.id = l.org_id
CROSS JOIN LATERAL generate_series(1, o.depth) AS g(i)
JOIN {org} a ON a.path = substr(o.path, 1, {Org.steplen} * g.i)
GROUP BY a.id, l.metric, l.key, l.bucket"""


def _study_leaf_sql() -> str:
    """Per leaf org (party group, else branch) and year: party members, those whose hours of
    the year reach the requirement (DOMAIN §5: 32, 56 for secretaries and committee members,
    the members app's rules), leaders and leaders who reach it, and the hours."""
    from apps.members.models import StudyRecord
    from apps.organizations.models import CommitteePosition, Position

    member = Member._meta.db_table
    roster = ", ".join(f"'{s}'" for s in sorted(MEMBER_STATUSES))
    return f"""
WITH y AS (SELECT unnest(%(years)s::int[]) AS year),
h AS (
  SELECT s.member_id, extract(year FROM s.held_on)::int AS year, sum(s.hours) AS hours
  FROM {StudyRecord._meta.db_table} s
  WHERE s.held_on >= make_date((SELECT min(year) FROM y), 1, 1)
    AND s.held_on < make_date((SELECT max(year) FROM y) + 1, 1, 1)
  GROUP BY 1, 2),
lead AS (
  SELECT DISTINCT member_id FROM {CommitteePosition._meta.db_table}
  WHERE ended_on IS NULL AND position <> '{Position.GROUP_LEADER}'),
per AS (
  SELECT coalesce(m.party_group_id, m.branch_id) AS org_id, y.year,
         (lead.member_id IS NOT NULL) AS leader, coalesce(h.hours, 0) AS hours
  FROM {member} m CROSS JOIN y
  LEFT JOIN h ON h.member_id = m.id AND h.year = y.year
  LEFT JOIN lead ON lead.member_id = m.id
  WHERE m.status IN ({roster})),
agg AS (
  SELECT org_id, year,
         count(*) AS members,
         count(*) FILTER (WHERE hours >= CASE WHEN leader THEN %(lead_hours)s ELSE %(member_hours)s END) AS met,
         count(*) FILTER (WHERE leader) AS leaders,
         count(*) FILTER (WHERE leader AND hours >= %(lead_hours)s) AS leaders_met,
         sum(hours) AS hours
  FROM per GROUP BY org_id, year)
SELECT agg.org_id, 'study' AS metric, agg.year::text AS key, v.bucket, v.n, v.total
FROM agg CROSS JOIN LATERAL (VALUES
  ('members', agg.members, agg.hours), ('met', agg.met, 0), ('leaders', agg.leaders, 0),
  ('leaders_met', agg.leaders_met, 0)) AS v(bucket, n, total)"""


def _assessment_leaf_sql() -> str:
    """Published results (结果公布/已归档 cycles) per rated org and year: star counts, scored
    star ratings (count and sum of scores), 软弱涣散 designations per state, and final scores
    of the organisations' scorecards (count, sum, grades)."""
    from apps.assessments.models import Assessment, Cycle, StarRating, TemplateKind, WeakOrg
    from apps.assessments.selectors import PUBLIC_PHASES

    public = ", ".join(f"'{p}'" for p in PUBLIC_PHASES)
    cycle = Cycle._meta.db_table
    return f"""
SELECT s.org_id, 'stars' AS metric, c.year::text AS key, s.stars::text AS bucket,
       count(*) AS n, 0::numeric AS total
FROM {StarRating._meta.db_table} s JOIN {cycle} c ON c.id = s.cycle_id
WHERE c.phase IN ({public}) GROUP BY 1, 3, 4
UNION ALL
SELECT s.org_id, 'stars', c.year::text, 'scored', count(*), sum(s.score)
FROM {StarRating._meta.db_table} s JOIN {cycle} c ON c.id = s.cycle_id
WHERE c.phase IN ({public}) AND s.score IS NOT NULL GROUP BY 1, 3
UNION ALL
SELECT a.org_id, 'score', c.year::text, 'final', count(*), sum(a.final_score)
FROM {Assessment._meta.db_table} a JOIN {cycle} c ON c.id = a.cycle_id
WHERE c.phase IN ({public}) AND a.kind = '{TemplateKind.BRANCH}' AND a.final_score IS NOT NULL
GROUP BY 1, 3
UNION ALL
SELECT a.org_id, 'score', c.year::text, 'grade:' || a.grade, count(*), 0
FROM {Assessment._meta.db_table} a JOIN {cycle} c ON c.id = a.cycle_id
WHERE c.phase IN ({public}) AND a.kind = '{TemplateKind.BRANCH}' AND a.grade <> ''
GROUP BY 1, 3, 4
UNION ALL
SELECT w.org_id, 'weak', w.year::text, w.state, count(*), 0
FROM {WeakOrg._meta.db_table} w GROUP BY 1, 3, 4"""


def _terms_due(today: dt.date) -> list:
    """The open terms due within six months or overdue, labelled by the organizations app."""
    from django.db.models import F
    from django.db.models.functions import Coalesce

    from apps.core.periods import add_months
    from apps.dashboards.models import TermDue
    from apps.organizations.models import Term, TermState
    from apps.organizations.rules import term_status

    qs = (
        Term.objects.filter(org__abolished_on__isnull=True)
        .exclude(state__in=[TermState.CLOSED, TermState.RESULT_APPROVED])
        .annotate(deadline=Coalesce(F("extension_until"), F("ends_on")))
        .filter(deadline__lte=add_months(today, 6))
        .select_related("org")
    )
    rows = []
    for term in qs.iterator(chunk_size=2000):
        status = term_status(term, today)
        rows.append(
            TermDue(
                org_id=term.org_id,
                path=term.org.path,
                org_name=term.org.name,
                number=term.number,
                deadline=term.deadline,
                label=status.label[:40],
                overdue=term.deadline < today,
                as_of=today,
            )
        )
    return rows


def _records(quarters: list[Period]) -> list:
    """RecordAttention rows for `quarters` from the meetings app's selector."""
    from apps.dashboards.models import RecordAttention
    from apps.meetings.selectors import attention_records

    rows = []
    for quarter in quarters:
        for m in attention_records(quarter).iterator(chunk_size=2000):
            flags = list(m.flags.all())
            rows.append(
                RecordAttention(
                    meeting_id=m.pk,
                    period_key=quarter.key,
                    path=m.branch.path,
                    starts_at=m.starts_at,
                    branch_name=m.branch.name[:120],
                    title=m.title[:200],
                    state_label=m.get_state_display()[:40],
                    returned=m.state == "returned",
                    codes=sorted({f.code for f in flags}),
                    flag_labels="、".join(sorted({f.get_code_display() for f in flags}))[:300],
                )
            )
    return rows


def missed_text(compliance) -> str:
    """ "支部委员会会议（2026年10月、2026年11月）；党课（2026年第4季度）" for one red branch."""
    return "；".join(
        f"{r.name}（" + "、".join(label for label, st, _n in r.details if st == "overdue") + "）"
        for r in compliance.results
    )


def _overdue(quarters: list[Period]) -> list:
    """OverdueBranch rows for `quarters`: every red branch under every root, in one batch each."""
    from apps.dashboards.models import OverdueBranch
    from apps.meetings.selectors import overdue_requirements

    rows = []
    for root in Org.objects.filter(depth=1):
        for quarter in quarters:
            red = overdue_requirements(root, quarter, limit=None)
            rows.extend(
                OverdueBranch(
                    org_id=c.branch.pk,
                    period_key=quarter.key,
                    path=c.branch.path,
                    branch_name=c.branch.name[:120],
                    missed=missed_text(c)[:500],
                )
                for c in red
            )
    return rows


@transaction.atomic
def subtree_stats_refresh(
    *, today: dt.date | None = None, quarters: list[Period] | None = None
) -> int:
    """Rewrite OrgSubtreeStat, TermDue, OverdueBranch and RecordAttention in one transaction
    (readers see the old rows until it commits): study hours for this year and last year, red
    branches and returned/flagged meeting records for this quarter and the last (older periods
    keep their last figures),
    published assessment results for every year, and the terms due as of `today`."""
    from apps.dashboards.models import OrgSubtreeStat, OverdueBranch, RecordAttention, TermDue
    from apps.members import rules as member_rules

    today = today or local_today()
    started = time.monotonic()
    years = [today.year - 1, today.year]
    if quarters is None:
        current = Period.containing(PeriodKind.QUARTER, today)
        quarters = [current.previous(), current]
    stat = OrgSubtreeStat._meta.db_table
    columns = "(org_id, metric, key, bucket, count, total)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('dashboards.subtree_stats'))")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"DELETE FROM {stat} WHERE metric IN ('stars', 'score', 'weak', 'terms') "
            f"OR (metric = 'study' AND key = ANY(%s)) OR (metric = 'records' AND key = ANY(%s))",
            [[str(y) for y in years], [q.key for q in quarters]],
        )
        cursor.execute(
            f"INSERT INTO {stat} {columns} " + _up_the_tree(_study_leaf_sql()),
            {
                "years": years,
                "member_hours": member_rules.STUDY_HOURS_MEMBER,
                "lead_hours": member_rules.STUDY_HOURS_LEADER,
            },
        )
        rows = cursor.rowcount
        cursor.execute(f"INSERT INTO {stat} {columns} " + _up_the_tree(_assessment_leaf_sql()))
        rows += cursor.rowcount
        TermDue.objects.all().delete()
        due = _terms_due(today)
        TermDue.objects.bulk_create(due, batch_size=2000)
        cursor.execute(
            f"INSERT INTO {stat} {columns} "
            + _up_the_tree(
                f"SELECT org_id, 'terms' AS metric, '' AS key, "
                f"CASE WHEN overdue THEN 'overdue' ELSE 'due_soon' END AS bucket, 1 AS n, 0 AS total "
                f"FROM {TermDue._meta.db_table}"
            )
        )
        rows += cursor.rowcount
        keys = [q.key for q in quarters]
        OverdueBranch.objects.filter(period_key__in=keys).delete()
        OverdueBranch.objects.bulk_create(_overdue(quarters), batch_size=2000)
        RecordAttention.objects.filter(period_key__in=keys).delete()
        RecordAttention.objects.bulk_create(_records(quarters), batch_size=2000)
        cursor.execute(
            f"INSERT INTO {stat} {columns} "
            + _up_the_tree(
                f"""SELECT o.id AS org_id, 'records' AS metric, r.period_key AS key, b.bucket,
                       1 AS n, 0 AS total
                FROM {RecordAttention._meta.db_table} r
                JOIN {Org._meta.db_table} o ON o.path = r.path
                CROSS JOIN LATERAL unnest(
                    r.codes || CASE WHEN r.returned THEN ARRAY['returned'] ELSE ARRAY[]::varchar[] END
                ) AS b(bucket)
                WHERE r.period_key = ANY(%s)"""
            ),
            [keys],
        )
        rows += cursor.rowcount
    RollupState.objects.update_or_create(
        name=SUBTREE_ROLLUP,
        defaults={
            "as_of": today,
            "refreshed_at": timezone.now(),
            "rows": rows,
            "duration_ms": int((time.monotonic() - started) * 1000),
        },
    )
    return rows
