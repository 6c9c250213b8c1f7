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
