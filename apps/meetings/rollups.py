"""Keeping the meeting rollups true (performance.md §3, §7; docs/architecture.md).

Layer 2 (`BranchPeriodStat`) is maintained by `stats_apply(before=..., after=...)`: the
services take the meeting's contribution before and after the change and UPSERT the difference
in the same transaction (counts add; month masks are rebuilt from the month rows they cover).
Layer 3 (`OrgPeriodStat`) is rebuilt per period by `org_stats_refresh` from layer 2, for the
periods marked in `RollupDirty` and the current ones (beat job, on demand).
`stats_recompute_all` rebuilds layer 2 from raw meetings (one SQL statement); `check_rollups`
compares.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from apps.core.periods import Period, PeriodKind, local_date, local_today
from apps.meetings.models import (
    ALL_KINDS,
    COUNTED_STATES,
    BranchPeriodStat,
    MeetingKind,
    OrgPeriodStat,
    RollupDirty,
)

StatKey = tuple[int, str, str, str]  # (org_id, path, period_key, kind)
StatVal = tuple[int, int, int, int]  # (meeting_count, expected, present, leave)

logger = logging.getLogger(__name__)
TABLE = BranchPeriodStat._meta.db_table


# --- layer 2: contributions and deltas ------------------------------------------------------


def stat_org(meeting, kind: str) -> tuple[int, str]:
    """The org a meeting's kind is counted under: the party group for 党小组会, else the branch."""
    if kind == MeetingKind.GROUP and meeting.party_group_id:
        return meeting.party_group_id, meeting.party_group.path
    return meeting.branch_id, meeting.branch.path


def period_keys(starts_at: dt.datetime) -> list[str]:
    day = local_date(starts_at)
    return [
        Period.containing(kind, day).key
        for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
    ]


def contribution(meeting) -> dict[StatKey, StatVal]:
    """What a meeting adds to layer 2 in its current state ({} when it does not count)."""
    if meeting is None or meeting.pk is None or meeting.state not in COUNTED_STATES:
        return {}
    out: dict[StatKey, StatVal] = {}
    value = (1, meeting.expected_count, meeting.present_count, meeting.leave_count)
    keys = period_keys(meeting.starts_at)
    for kind in [*sorted(set(meeting.kinds)), ALL_KINDS]:
        org_id, path = stat_org(meeting, kind)
        for key in keys:
            out[(org_id, path, key, kind)] = value
    return out


def is_month_key(key: str) -> bool:
    return len(key) == 7 and key[5] != "Q"


def _dirty_keys(keys) -> set[str]:
    return {k for k in keys if not is_month_key(k)}  # quarters and years


def stats_apply(*, before: dict[StatKey, StatVal], after: dict[StatKey, StatVal]) -> None:
    """UPSERT after - before into layer 2 and mark the touched periods dirty for layer 3.
    Call inside the service's transaction."""
    delta: dict[StatKey, list[int]] = {}
    for key in set(before) | set(after):
        b = before.get(key, (0, 0, 0, 0))
        a = after.get(key, (0, 0, 0, 0))
        d = [a[i] - b[i] for i in range(4)]
        if any(d):
            delta[key] = d
    if not delta:
        return
    rows = sorted(delta.items(), key=lambda item: (item[0][2], item[0][1], item[0][3]))
    values, params = [], []
    for (org_id, path, key, kind), (count, expected, present, leave) in rows:
        mask = (1 << (int(key[5:7]) - 1)) if is_month_key(key) and count > 0 else 0
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [org_id, path, key, kind, count, mask, expected, present, leave]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TABLE} AS t (org_id, path, period_key, kind, meeting_count, month_mask, expected, present, leave)
            VALUES {", ".join(values)}
            ON CONFLICT (period_key, path, kind) DO UPDATE SET
              meeting_count = t.meeting_count + EXCLUDED.meeting_count,
              expected = t.expected + EXCLUDED.expected,
              present = t.present + EXCLUDED.present,
              leave = t.leave + EXCLUDED.leave,
              month_mask = CASE WHEN t.period_key ~ '^[0-9]{{4}}-[0-9]{{2}}$' THEN
                  CASE WHEN t.meeting_count + EXCLUDED.meeting_count > 0
                       THEN 1 << (substr(t.period_key, 6, 2)::int - 1) ELSE 0 END
                ELSE t.month_mask END
            """,
            params,
        )
        # Masks of the quarter/year rows whose month rows changed count.
        touched = sorted(
            {
                (key, path, kind)
                for (org_id, path, key, kind), d in rows
                if not is_month_key(key) and d[0]
            }
        )
        if touched:
            values, params = [], []
            for key, path, kind in touched:
                months = [m.key for m in Period.parse(key).months()]
                values.append("(%s, %s, %s, %s::text[])")
                params += [key, path, kind, months]
            cursor.execute(
                f"""
                UPDATE {TABLE} q SET month_mask = COALESCE((
                    SELECT bit_or(m.month_mask) FROM {TABLE} m
                    WHERE m.period_key = ANY(v.months) AND m.path = q.path AND m.kind = q.kind), 0)
                FROM (VALUES {", ".join(values)}) AS v(period_key, path, kind, months)
                WHERE q.period_key = v.period_key AND q.path = v.path AND q.kind = v.kind
                """,
                params,
            )
        dirty = sorted(_dirty_keys(k[0][2] for k in rows))
        cursor.execute(
            f"INSERT INTO {RollupDirty._meta.db_table} (period_key, marked_at) "
            f"SELECT unnest(%s::text[]), now() ON CONFLICT DO NOTHING",
            [dirty],
        )


# --- the tree changed: rows that carry a path follow it ---------------------------------------


def paths_follow_move(*, old_path: str, new_path: str) -> None:
    """A subtree moved from `old_path` to `new_path` (treebeard's `path_updated`, inside the
    organizations service's transaction): rewrite the denormalised paths of layers 2 and 3 with
    literal prefixes (index range scans), point the moved root's layer-3 row at its new parent,
    and mark every period of layer 3 dirty — the old and new ancestors' totals are refreshed by
    the next run of the refresh job (readers see them flagged stale until then)."""
    from apps.organizations.models import Org

    steplen = Org.steplen
    with connection.cursor() as cursor:
        for table in (TABLE, OrgPeriodStat._meta.db_table):
            cursor.execute(
                f"UPDATE {table} SET path = %s || substr(path, %s) WHERE path LIKE %s",
                [new_path, len(old_path) + 1, old_path + "%"],  # paths are [0-9A-Z]
            )
        cursor.execute(
            f"""
            UPDATE {OrgPeriodStat._meta.db_table} s SET parent_id_copy = p.id
            FROM {Org._meta.db_table} p
            WHERE s.path = %s AND p.path = %s
            """,
            [new_path, new_path[:-steplen]],
        )
        cursor.execute(
            f"""
            INSERT INTO {RollupDirty._meta.db_table} (period_key, marked_at)
            SELECT DISTINCT period_key, now() FROM {OrgPeriodStat._meta.db_table}
            ON CONFLICT DO NOTHING
            """
        )


def on_path_updated(sender, old_path: str, new_path: str, **kwargs) -> None:
    paths_follow_move(old_path=old_path, new_path=new_path)


# --- layer 2: recomputation from raw rows -----------------------------------------------------

RECOMPUTE_SQL = """
WITH m AS (
    SELECT m.id, m.kinds, m.expected_count, m.present_count, m.leave_count,
           b.id AS branch_id, b.path AS branch_path, g.id AS group_id, g.path AS group_path,
           (m.starts_at AT TIME ZONE 'Asia/Shanghai') AS local_start
    FROM meetings_meeting m
    JOIN organizations_org b ON b.id = m.branch_id
    LEFT JOIN organizations_org g ON g.id = m.party_group_id
    WHERE m.state = ANY(%(states)s) {where}
), e AS (
    SELECT CASE WHEN k = 'group_meeting' AND group_id IS NOT NULL THEN group_id ELSE branch_id END AS org_id,
           CASE WHEN k = 'group_meeting' AND group_id IS NOT NULL THEN group_path ELSE branch_path END AS path,
           k AS kind, p AS period_key, 1 << (extract(month FROM local_start)::int - 1) AS bit,
           expected_count, present_count, leave_count
    FROM m
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(m.kinds || ARRAY['all']::varchar[]) AS k) kk
    CROSS JOIN LATERAL unnest(ARRAY[
        to_char(local_start, 'YYYY-MM'),
        to_char(local_start, 'YYYY') || '-Q' || extract(quarter FROM local_start)::int,
        to_char(local_start, 'YYYY')]) AS p
)
SELECT org_id, path, period_key, kind, count(*), bit_or(bit), sum(expected_count), sum(present_count), sum(leave_count)
FROM e GROUP BY org_id, path, period_key, kind
"""


def stats_from_raw(*, branch_ids: list[int] | None = None) -> dict[tuple[str, str, str], tuple]:
    """Layer 2 as it should be, computed from meetings: {(period_key, path, kind): (org_id,
    count, mask, expected, present, leave)}."""
    where = "AND m.branch_id = ANY(%(branches)s)" if branch_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            RECOMPUTE_SQL.format(where=where),
            {"states": sorted(str(s) for s in COUNTED_STATES), "branches": branch_ids},
        )
        return {(r[2], r[1], r[3]): (r[0], r[4], r[5], r[6], r[7], r[8]) for r in cursor.fetchall()}


def stats_stored(*, branch_ids: list[int] | None = None) -> dict[tuple[str, str, str], tuple]:
    qs = BranchPeriodStat.objects.exclude(
        meeting_count=0, expected=0, present=0, leave=0, month_mask=0
    )
    if branch_ids is not None:
        from apps.organizations.models import Org

        paths = list(Org.objects.filter(pk__in=branch_ids).values_list("path", flat=True))
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path__startswith=p)
        qs = qs.filter(q)
    return {
        (r.period_key, r.path, r.kind): (
            r.org_id,
            r.meeting_count,
            r.month_mask,
            r.expected,
            r.present,
            r.leave,
        )
        for r in qs
    }


@transaction.atomic
def stats_recompute_all() -> int:
    """Rebuild layer 2 from raw meetings (after a bulk load, or to repair drift)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} (org_id, path, period_key, kind, meeting_count, month_mask, expected, present, leave) "
            + RECOMPUTE_SQL.format(where=""),
            {"states": sorted(str(s) for s in COUNTED_STATES)},
        )
        count = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {RollupDirty._meta.db_table} (period_key, marked_at) "
            f"SELECT DISTINCT period_key, now() FROM {TABLE} WHERE period_key !~ '^[0-9]{{4}}-[0-9]{{2}}$' ON CONFLICT DO NOTHING"
        )
    return count


def counters_mismatches() -> list[str]:
    """Meetings whose counters disagree with their attendance rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.id, m.expected_count, m.present_count, m.leave_count, m.online_count, m.absent_count,
                   coalesce(a.expected, 0), coalesce(a.present, 0), coalesce(a.leave, 0), coalesce(a.online, 0),
                   coalesce(a.absent, 0)
            FROM meetings_meeting m LEFT JOIN (
                SELECT meeting_id,
                       count(*) FILTER (WHERE NOT excluded_from_expected) AS expected,
                       count(*) FILTER (WHERE NOT excluded_from_expected AND status IN ('present', 'online')) AS present,
                       count(*) FILTER (WHERE NOT excluded_from_expected AND status = 'leave') AS leave,
                       count(*) FILTER (WHERE NOT excluded_from_expected AND status = 'online') AS online,
                       count(*) FILTER (WHERE NOT excluded_from_expected AND status = 'absent') AS absent
                FROM meetings_attendance GROUP BY meeting_id) a ON a.meeting_id = m.id
            WHERE (m.expected_count, m.present_count, m.leave_count, m.online_count, m.absent_count)
               <> (coalesce(a.expected, 0), coalesce(a.present, 0), coalesce(a.leave, 0), coalesce(a.online, 0),
                   coalesce(a.absent, 0))
            ORDER BY m.id
            """
        )
        return [
            f"meeting {r[0]}: counters (expected, present, leave, online, absent) = {r[1:6]}, attendance rows say {r[6:11]}"
            for r in cursor.fetchall()
        ]


def stats_differences() -> list[str]:
    want, have = stats_from_raw(), stats_stored()
    out = []
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            out.append(f"branch stat {key}: stored {have.get(key)}, recomputed {want.get(key)}")
    return out


# --- requirement evaluation over layer 2 --------------------------------------------------------


@dataclass
class BranchInfo:
    id: int
    path: str
    parent_id: int | None
    org_type: str
    category: str
    founded_on: dt.date | None
    abolished_on: dt.date | None
    has_committee: bool
    group_ids: list[int] = field(default_factory=list)


@dataclass
class RequirementResult:
    requirement_id: int
    name: str
    kind: str
    period: str
    min_count: int
    status: str
    done: int  # sub-periods met
    total: int  # sub-periods judged
    count: int  # counted meetings in the window (sum over orgs for per-group rules)
    details: list[tuple[str, str, int]]  # (sub-period label, status, count)


def _applies(req, branch: BranchInfo) -> bool:
    if req.org_types and branch.org_type not in req.org_types:
        return False
    if req.categories and branch.category not in req.categories:
        return False
    if req.needs_committee and not branch.has_committee:
        return False
    return not (req.per_party_group and not branch.group_ids)


def needed_keys(requirements, window: Period) -> set[str]:
    keys = {window.key}
    for req in requirements:
        for sub in rules_sub_periods(req.period, window):
            if sub.kind == PeriodKind.MONTH and req.min_count <= 1:
                continue  # read from the window row's month mask
            keys.add(sub.key)
    return keys


def rules_sub_periods(kind: str, window: Period) -> list[Period]:
    from apps.meetings.rules import sub_periods

    return sub_periods(kind, window)


def evaluate_branch(
    branch: BranchInfo,
    *,
    requirements,
    window: Period,
    stats: dict[tuple[int, str, str], tuple[int, int]],
    exemptions: set[tuple[int, str, str]],
    today: dt.date,
    due_soon_days: int,
    partial: bool | None = None,
) -> list[RequirementResult]:
    """Evaluate every applicable requirement for one branch in `window`.
    `stats` maps (org_id, period_key, kind) -> (meeting_count, month_mask). `partial` is the
    rule meetings.exempt_partial_periods (read here when not given; pass it when evaluating
    many branches)."""
    from apps.core.rules import rule_value
    from apps.meetings import rules

    if partial is None:
        partial = bool(rule_value("meetings.exempt_partial_periods"))
    results = []
    for req in requirements:
        if not _applies(req, branch):
            continue
        orgs = branch.group_ids if req.per_party_group else [branch.id]
        statuses, details, done, count_total = [], [], 0, 0
        subs = rules.sub_periods(req.period, window)
        for sub in subs:
            exempt = _exempt(branch, req.kind, sub, exemptions, partial)
            sub_statuses = []
            sub_count = 0
            for org_id in orgs:
                if (
                    sub.kind == PeriodKind.MONTH
                    and req.min_count <= 1
                    and sub.key not in {window.key}
                ):
                    _, mask = stats.get((org_id, window.key, req.kind), (0, 0))
                    count = 1 if mask & (1 << (sub.index - 1)) else 0
                else:
                    count, _ = stats.get((org_id, sub.key, req.kind), (0, 0))
                sub_count += count
                sub_statuses.append(
                    rules.period_status(
                        count=count,
                        min_count=req.min_count,
                        period=sub,
                        today=today,
                        due_soon_days=due_soon_days,
                        exempt=exempt,
                    )
                )
            status = rules.combine(sub_statuses)
            statuses.append(status)
            done += status in (rules.MET, rules.EXEMPT)
            count_total += sub_count
            details.append((sub.label, status, sub_count))
        results.append(
            RequirementResult(
                requirement_id=req.pk,
                name=req.name,
                kind=req.kind,
                period=req.period,
                min_count=req.min_count,
                status=rules.combine(statuses),
                done=done,
                total=len(subs),
                count=count_total,
                details=details,
            )
        )
    return results


def _exempt(branch: BranchInfo, kind: str, sub: Period, exemptions, partial: bool) -> bool:
    from apps.meetings import rules

    if branch.founded_on and branch.founded_on > sub.end:
        return True
    if branch.abolished_on and branch.abolished_on < sub.start:
        return True
    if rules.partial_period_exempt(
        founded_on=branch.founded_on, abolished_on=branch.abolished_on, period=sub, enabled=partial
    ):
        return True
    keys = {sub.key, Period.containing(PeriodKind.YEAR, sub.start).key}
    if sub.kind == PeriodKind.MONTH:
        keys.add(Period.containing(PeriodKind.QUARTER, sub.start).key)
    return any((branch.id, k, key) in exemptions for k in (kind, "") for key in keys)


# --- loading inputs --------------------------------------------------------------------------


def load_branches(
    *, window: Period, prefix: str = "", branch_ids: list[int] | None = None
) -> list[BranchInfo]:
    from django.db.models import Count, Q

    from apps.core.rules import rule_value
    from apps.meetings.models import BranchMeetingSetting
    from apps.members.models import MemberStatus
    from apps.organizations.models import BRANCH_TYPES, Org, OrgType

    qs = Org.objects.filter(org_type__in=BRANCH_TYPES).filter(
        Q(founded_on__isnull=True) | Q(founded_on__lte=window.end),
        Q(abolished_on__isnull=True) | Q(abolished_on__gte=window.start),
    )
    if prefix:
        qs = qs.filter(path__startswith=prefix)
    if branch_ids is not None:
        qs = qs.filter(pk__in=branch_ids)
    rows = list(
        qs.order_by().values_list(
            "id", "path", "parent_id", "org_type", "category", "founded_on", "abolished_on"
        )
    )
    ids = [r[0] for r in rows]
    threshold = int(rule_value("meetings.committee_threshold"))
    from apps.members.models import Member

    full_counts: dict[int, int] = {}
    overrides: dict[int, bool] = {}
    groups: dict[int, list[int]] = defaultdict(list)
    if ids:
        member_qs = Member.objects.filter(status=MemberStatus.FULL)
        member_qs = (
            member_qs.filter(branch__path__startswith=prefix)
            if prefix
            else member_qs.filter(branch_id__in=ids)
        )
        full_counts = dict(
            member_qs.order_by()
            .values("branch_id")
            .annotate(n=Count("id"))
            .values_list("branch_id", "n")
        )
        setting_qs = BranchMeetingSetting.objects.filter(has_committee__isnull=False)
        if branch_ids is not None:
            setting_qs = setting_qs.filter(branch_id__in=ids)
        overrides = dict(setting_qs.values_list("branch_id", "has_committee"))
        group_qs = Org.objects.filter(org_type=OrgType.PARTY_GROUP).filter(
            Q(abolished_on__isnull=True) | Q(abolished_on__gte=window.start)
        )
        group_qs = (
            group_qs.filter(path__startswith=prefix)
            if prefix
            else group_qs.filter(parent_id__in=ids)
        )
        for gid, parent_id in group_qs.order_by("path").values_list("id", "parent_id"):
            groups[parent_id].append(gid)
    return [
        BranchInfo(
            id=r[0],
            path=r[1],
            parent_id=r[2],
            org_type=r[3],
            category=r[4],
            founded_on=r[5],
            abolished_on=r[6],
            has_committee=overrides.get(r[0], full_counts.get(r[0], 0) >= threshold),
            group_ids=groups.get(r[0], []),
        )
        for r in rows
    ]


def load_stats(*, keys: set[str], prefix: str = "", org_ids: list[int] | None = None) -> dict:
    qs = BranchPeriodStat.objects.filter(period_key__in=sorted(keys))
    if prefix:
        qs = qs.filter(path__startswith=prefix)
    if org_ids is not None:
        qs = qs.filter(org_id__in=org_ids)
    return {
        (org_id, key, kind): (count, mask)
        for org_id, key, kind, count, mask in qs.values_list(
            "org_id", "period_key", "kind", "meeting_count", "month_mask"
        )
    }


def load_exemptions(
    *, window: Period, branch_ids: list[int] | None = None
) -> set[tuple[int, str, str]]:
    from apps.meetings.models import Exemption

    keys = {window.key, Period.containing(PeriodKind.YEAR, window.start).key}
    for sub in window.quarters() + window.months():
        keys.add(sub.key)
    qs = Exemption.objects.filter(period_key__in=keys)
    if branch_ids is not None:
        qs = qs.filter(branch_id__in=branch_ids)
    return {(b, k, p) for b, k, p in qs.values_list("branch_id", "kind", "period_key")}


def active_requirements():
    from apps.meetings.models import MeetingRequirement

    return list(MeetingRequirement.objects.filter(active=True).order_by("kind", "period", "id"))


# --- layer 3: the org tree rollup ------------------------------------------------------------------


def org_stats_compute(window: Period, *, today: dt.date | None = None) -> list[OrgPeriodStat]:
    """Layer 3 rows for every org for one quarter or year (not saved), computed in Python with
    `evaluate_branch`: the independent recomputation check_rollups compares the stored rows
    (written by ORG_STATS_SQL) against."""
    from apps.core.rules import rule_value
    from apps.meetings import rules
    from apps.organizations.models import Org

    today = today or local_today()
    requirements = active_requirements()
    branches = load_branches(window=window)
    stats = load_stats(keys=needed_keys(requirements, window) | {window.key})
    # attendance and meeting totals for the window: "all" kind at branch level
    totals = {
        org_id: (count, expected, present, leave)
        for org_id, count, expected, present, leave in BranchPeriodStat.objects.filter(
            period_key=window.key, kind=ALL_KINDS
        ).values_list("org_id", "meeting_count", "expected", "present", "leave")
    }
    exemptions = load_exemptions(window=window)
    due_soon = int(rule_value("meetings.due_soon_days"))
    orgs = list(Org.objects.order_by("path").values_list("id", "path", "parent_id", "org_type"))
    by_path = {path: (oid, parent) for oid, path, parent, _t in orgs}
    acc: dict[str, dict] = {}

    def bucket(path: str) -> dict:
        b = acc.get(path)
        if b is None:
            b = acc[path] = {
                "branch_count": 0,
                "compliant_count": 0,
                "green": 0,
                "yellow": 0,
                "red": 0,
                "meeting_count": 0,
                "expected": 0,
                "present": 0,
                "leave": 0,
                "per_kind": {},
            }
        return b

    steplen = Org.steplen
    for branch in branches:
        results = evaluate_branch(
            branch,
            requirements=requirements,
            window=window,
            stats=stats,
            exemptions=exemptions,
            today=today,
            due_soon_days=due_soon,
        )
        statuses = [r.status for r in results]
        state = rules.state_of(statuses)
        compliant = all(rules.is_ok(s) for s in statuses)
        count, expected, present, leave = totals.get(branch.id, (0, 0, 0, 0))
        per_kind: dict[str, tuple[int, int, int]] = {}
        for r in results:
            ok = int(rules.is_ok(r.status))
            if r.kind in per_kind:  # two rules on one kind: ok only if both are
                _a, o, m = per_kind[r.kind]
                per_kind[r.kind] = (1, o & ok, max(m, r.count))
            else:
                per_kind[r.kind] = (1, ok, r.count)
        for depth in range(1, len(branch.path) // steplen + 1):
            b = bucket(branch.path[: depth * steplen])
            b["branch_count"] += 1
            b["compliant_count"] += compliant
            b[state] += 1
            b["meeting_count"] += count
            b["expected"] += expected
            b["present"] += present
            b["leave"] += leave
            for kind, (a, o, m) in per_kind.items():
                pk = b["per_kind"].setdefault(kind, {"applicable": 0, "ok": 0, "meetings": 0})
                pk["applicable"] += a
                pk["ok"] += o
                pk["meetings"] += m
    now = timezone.now()
    rows = []
    for path, b in acc.items():
        if path not in by_path:
            continue
        oid, parent = by_path[path]
        rows.append(
            OrgPeriodStat(
                org_id=oid,
                parent_id_copy=parent,
                path=path,
                period_key=window.key,
                refreshed_at=now,
                **b,
            )
        )
    return rows


# Layer 3 as one set-based statement (performance.md §3 "tree rollup"). The same rules as
# `evaluate_branch` (which serves single branches and is the independent recomputation that
# check_rollups compares against): each applicable requirement × sub-period × org (the branch,
# or each party group) gets a severity — 0 met, 1 exempt, 2 pending, 3 due soon, 4 overdue —
# combined per requirement (worst; all-exempt stays exempt), per branch (state, compliant,
# per-kind ok/meetings), then added to every ancestor by slicing the path.
ORG_STATS_SQL = """
WITH req AS (
    SELECT * FROM jsonb_to_recordset(%(reqs)s::jsonb) AS x(
        id int, kind text, min_count int, org_types text[], categories text[],
        needs_committee bool, per_group bool)
), sub AS (
    SELECT * FROM jsonb_to_recordset(%(subs)s::jsonb) AS x(
        req_id int, key text, starts date, ends date, year_key text, quarter_key text,
        use_mask bool)
), fc AS (
    SELECT branch_id, count(*) AS n FROM members_member WHERE status = 'full' GROUP BY branch_id
), b AS (
    SELECT o.id, o.path, o.org_type, o.category, o.founded_on, o.abolished_on,
           COALESCE(s.has_committee, COALESCE(fc.n, 0) >= %(threshold)s) AS has_committee
    FROM organizations_org o
    LEFT JOIN meetings_branchmeetingsetting s ON s.branch_id = o.id
    LEFT JOIN fc ON fc.branch_id = o.id
    WHERE o.org_type = ANY(%(branch_types)s)
      AND (o.founded_on IS NULL OR o.founded_on <= %(w_end)s)
      AND (o.abolished_on IS NULL OR o.abolished_on >= %(w_start)s)
), grp AS (
    SELECT g.parent_id AS branch_id, g.id AS org_id FROM organizations_org g
    WHERE g.org_type = 'party_group' AND (g.abolished_on IS NULL OR g.abolished_on >= %(w_start)s)
), app AS (
    SELECT b.id AS branch_id, b.founded_on, b.abolished_on, r.id AS req_id, r.kind, r.min_count,
           r.per_group
    FROM b JOIN req r
      ON (cardinality(r.org_types) = 0 OR b.org_type = ANY(r.org_types))
     AND (cardinality(r.categories) = 0 OR b.category = ANY(r.categories))
     AND (NOT r.needs_committee OR b.has_committee)
     AND (NOT r.per_group OR EXISTS (SELECT 1 FROM grp WHERE grp.branch_id = b.id))
), leaf AS (
    SELECT a.branch_id, a.req_id, a.kind, a.min_count, s.starts, s.ends,
           CASE WHEN s.use_mask THEN LEAST(COALESCE(st.meeting_count, 0), 1)
                ELSE COALESCE(st.meeting_count, 0) END AS cnt,
           (   (a.founded_on IS NOT NULL AND a.founded_on > s.ends)
            OR (a.abolished_on IS NOT NULL AND a.abolished_on < s.starts)
            OR (%(partial)s AND a.founded_on IS NOT NULL
                AND s.starts < a.founded_on AND a.founded_on <= s.ends)
            OR (%(partial)s AND a.abolished_on IS NOT NULL
                AND s.starts <= a.abolished_on AND a.abolished_on <= s.ends)
            OR EXISTS (SELECT 1 FROM meetings_exemption e
                       WHERE e.branch_id = a.branch_id AND e.kind IN (a.kind, '')
                         AND e.period_key IN (s.key, s.year_key, s.quarter_key))
           ) AS exempt
    FROM app a
    JOIN sub s ON s.req_id = a.req_id
    CROSS JOIN LATERAL (
        SELECT a.branch_id AS org_id WHERE NOT a.per_group
        UNION ALL
        SELECT grp.org_id FROM grp WHERE a.per_group AND grp.branch_id = a.branch_id
    ) o
    LEFT JOIN meetings_branchperiodstat st
      ON st.org_id = o.org_id AND st.period_key = s.key AND st.kind = a.kind
), leaf_sev AS (
    SELECT branch_id, req_id, kind, cnt,
           CASE WHEN cnt >= min_count THEN 0
                WHEN exempt THEN 1
                WHEN ends < %(today)s THEN 4
                WHEN starts > %(today)s THEN 2
                WHEN ends - %(today)s < %(due_soon)s THEN 3
                ELSE 2 END AS sev
    FROM leaf
), rr AS (
    SELECT branch_id, req_id, kind, sum(cnt) AS cnt,
           CASE WHEN max(sev) >= 2 THEN max(sev) WHEN min(sev) = 1 THEN 1 ELSE 0 END AS sev
    FROM leaf_sev GROUP BY branch_id, req_id, kind
), bk AS (
    SELECT branch_id, kind, bool_and(sev <= 2) AS ok, max(cnt) AS meetings
    FROM rr GROUP BY branch_id, kind
), bs AS (
    SELECT b.id, b.path, COALESCE(w.worst, 0) AS worst,
           COALESCE(t.meeting_count, 0) AS meeting_count, COALESCE(t.expected, 0) AS expected,
           COALESCE(t.present, 0) AS present, COALESCE(t.leave, 0) AS leave
    FROM b
    LEFT JOIN (SELECT branch_id, max(sev) AS worst FROM rr GROUP BY branch_id) w ON w.branch_id = b.id
    LEFT JOIN meetings_branchperiodstat t
      ON t.org_id = b.id AND t.period_key = %(window)s AND t.kind = 'all'
), anc AS (
    SELECT substr(bs.path, 1, %(steplen)s * i) AS apath, bs.*
    FROM bs CROSS JOIN LATERAL generate_series(1, length(bs.path) / %(steplen)s) AS i
), agg AS (
    SELECT apath, count(*) AS branch_count, count(*) FILTER (WHERE worst <= 2) AS compliant,
           count(*) FILTER (WHERE worst <= 2) AS green, count(*) FILTER (WHERE worst = 3) AS yellow,
           count(*) FILTER (WHERE worst = 4) AS red, sum(meeting_count) AS meeting_count,
           sum(expected) AS expected, sum(present) AS present, sum(leave) AS leave
    FROM anc GROUP BY apath
), kinds AS (
    SELECT apath, jsonb_object_agg(kind, jsonb_build_object(
               'applicable', applicable, 'ok', ok, 'meetings', meetings)) AS per_kind
    FROM (SELECT anc.apath, bk.kind, count(*) AS applicable, count(*) FILTER (WHERE bk.ok) AS ok,
                 sum(bk.meetings) AS meetings
          FROM anc JOIN bk ON bk.branch_id = anc.id GROUP BY anc.apath, bk.kind) k
    GROUP BY apath
)
INSERT INTO meetings_orgperiodstat (org_id, parent_id_copy, path, period_key, branch_count,
    compliant_count, green, yellow, red, meeting_count, expected, present, leave, per_kind,
    refreshed_at)
SELECT o.id, o.parent_id, o.path, %(window)s, agg.branch_count, agg.compliant, agg.green,
       agg.yellow, agg.red, agg.meeting_count, agg.expected, agg.present, agg.leave,
       COALESCE(kinds.per_kind, '{}'::jsonb), %(now)s
FROM agg
JOIN organizations_org o ON o.path = agg.apath
LEFT JOIN kinds ON kinds.apath = agg.apath
"""


def _org_stats_params(window: Period, today: dt.date) -> dict:
    import json

    from apps.core.rules import rule_value
    from apps.meetings import rules
    from apps.organizations.models import BRANCH_TYPES, Org

    requirements = active_requirements()
    reqs, subs = [], []
    for req in requirements:
        reqs.append(
            {
                "id": req.pk,
                "kind": req.kind,
                "min_count": req.min_count,
                "org_types": list(req.org_types),
                "categories": list(req.categories),
                "needs_committee": req.needs_committee,
                "per_group": req.per_party_group,
            }
        )
        for sub in rules.sub_periods(req.period, window):
            subs.append(
                {
                    "req_id": req.pk,
                    "key": sub.key,
                    "starts": sub.start.isoformat(),
                    "ends": sub.end.isoformat(),
                    "year_key": Period.containing(PeriodKind.YEAR, sub.start).key,
                    "quarter_key": (
                        Period.containing(PeriodKind.QUARTER, sub.start).key
                        if sub.kind == PeriodKind.MONTH
                        else sub.key
                    ),
                    # evaluate_branch reads these from the window row's month mask: 0 or 1
                    "use_mask": sub.kind == PeriodKind.MONTH
                    and req.min_count <= 1
                    and sub.key != window.key,
                }
            )
    return {
        "reqs": json.dumps(reqs),
        "subs": json.dumps(subs),
        "threshold": int(rule_value("meetings.committee_threshold")),
        "branch_types": sorted(str(t) for t in BRANCH_TYPES),
        "w_start": window.start,
        "w_end": window.end,
        "partial": bool(rule_value("meetings.exempt_partial_periods")),
        "today": today,
        "due_soon": int(rule_value("meetings.due_soon_days")),
        "window": window.key,
        "steplen": Org.steplen,
        "now": timezone.now(),
    }


@transaction.atomic
def org_stats_refresh(window: Period, *, today: dt.date | None = None) -> int:
    """Rebuild layer 3 for one quarter or year in one INSERT … SELECT (ORG_STATS_SQL). Safe to
    run concurrently (advisory lock); readers never see a half-written period."""
    today = today or local_today()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"meetings.org_stats:{window.key}"]
        )
        # claim the dirty mark first: writes committed after this point mark it again
        cursor.execute(
            f"DELETE FROM {RollupDirty._meta.db_table} WHERE period_key = %s", [window.key]
        )
        cursor.execute(
            f"DELETE FROM {OrgPeriodStat._meta.db_table} WHERE period_key = %s", [window.key]
        )
        cursor.execute(ORG_STATS_SQL, _org_stats_params(window, today))
        return cursor.rowcount


def current_windows(today: dt.date | None = None) -> list[Period]:
    today = today or local_today()
    quarter = Period.containing(PeriodKind.QUARTER, today)
    year = Period.containing(PeriodKind.YEAR, today)
    return [quarter, year]


def _dirty_windows(key: str) -> list[Period]:
    """The tree-rollup windows (quarter, year) a dirty mark stands for; none for a key that is
    not a period (it is logged and dropped by the job, never blocking the others)."""
    try:
        period = Period.parse(key)
    except ValueError:
        return []
    if period.kind == PeriodKind.MONTH:
        return [
            Period.containing(PeriodKind.QUARTER, period.start),
            Period.year_of(period.year),
        ]
    return [period]


def org_stats_refresh_due(*, today: dt.date | None = None) -> list[str]:
    """The periodic job: refresh the current quarter and year and every dirty period. A dirty
    mark that is not a period is dropped with a warning; a window whose refresh fails is
    logged and left dirty for the next run, and the other windows are still refreshed."""
    windows = {w.key: w for w in current_windows(today)}
    for key in RollupDirty.objects.values_list("period_key", flat=True):
        found = _dirty_windows(key)
        if not found:
            logger.warning("meetings rollup: dropping dirty mark %r (not a period)", key)
            RollupDirty.objects.filter(period_key=key).delete()
        elif [w.key for w in found] != [key]:
            RollupDirty.objects.filter(period_key=key).delete()  # stands for its windows
            for w in found:
                RollupDirty.objects.get_or_create(period_key=w.key)
        for w in found:
            windows.setdefault(w.key, w)
    done = []
    for key, window in sorted(windows.items()):
        try:
            org_stats_refresh(window, today=today)
        except Exception:  # one window must not block the others (STYLE #9)
            logger.exception("meetings rollup: refreshing %s failed", key)
            continue
        done.append(key)
    return done


def org_stats_differences() -> list[str]:
    """Layer 3 rows that differ from a recomputation as of their own refresh date (periods
    marked dirty are only stale, not wrong, and are skipped)."""
    dirty = set(RollupDirty.objects.values_list("period_key", flat=True))
    out = []
    fields = [
        "branch_count",
        "compliant_count",
        "green",
        "yellow",
        "red",
        "meeting_count",
        "expected",
        "present",
        "leave",
        "per_kind",
    ]
    for key, refreshed in (
        OrgPeriodStat.objects.exclude(period_key__in=dirty)
        .values_list("period_key", "refreshed_at")
        .distinct("period_key")
        .order_by("period_key")
    ):
        window = Period.parse(key)
        want = {r.org_id: r for r in org_stats_compute(window, today=local_date(refreshed))}
        have = {r.org_id: r for r in OrgPeriodStat.objects.filter(period_key=key)}
        for org_id in sorted(set(want) | set(have)):
            w, h = want.get(org_id), have.get(org_id)
            if w is None or h is None:
                out.append(
                    f"org stat {key} org {org_id}: {'missing' if h is None else 'unexpected'}"
                )
                continue
            diffs = {
                f: (getattr(h, f), getattr(w, f)) for f in fields if getattr(h, f) != getattr(w, f)
            }
            if diffs:
                out.append(f"org stat {key} org {org_id}: {diffs}")
    return out
