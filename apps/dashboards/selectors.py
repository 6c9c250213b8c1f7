"""Reads of the dashboards app. Every figure comes from a rollup row of the org itself or of its
direct children (by parent_id), so the cost does not grow with the size of the subtree.

Callers authorize first (apps.accounts.scope.require); these selectors take an org already
checked to be visible.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from apps.core.periods import Period, PeriodKind, years_between
from apps.dashboards.buckets import Dimension, dimension_map, dimensions
from apps.dashboards.models import OrgMemberStat
from apps.members.models import (
    MEMBER_STATUSES,
    PIPELINE_STATUSES,
    PROBATIONARY_STATUSES,
    Member,
    MemberStatus,
)
from apps.organizations.models import Org, OrgType

ROSTER = tuple(sorted(MEMBER_STATUSES))


def latest_as_of() -> dt.date | None:
    return OrgMemberStat.objects.order_by("-as_of").values_list("as_of", flat=True).first()


def member_snapshot_for(period: Period | None) -> dt.date | None:
    """The member snapshot that stands for `period`: the last one taken on or before its end
    (the current snapshot for the current quarter). None when nothing was rolled up yet."""
    qs = OrgMemberStat.objects.order_by("-as_of")
    if period is not None:
        qs = qs.filter(as_of__lte=period.end)
    return qs.values_list("as_of", flat=True).first()


def available_quarters(*, limit: int = 8) -> list[Period]:
    """Quarters that have a member snapshot, newest first."""
    days = (
        OrgMemberStat.objects.order_by("-as_of")
        .values_list("as_of", flat=True)
        .distinct()[: limit * 3]
    )
    seen: list[Period] = []
    for day in days:
        q = Period.containing(PeriodKind.QUARTER, day)
        if q not in seen:
            seen.append(q)
    return seen[:limit]


def member_stats_rows(*, org: Org, as_of: dt.date | None) -> dict[tuple[str, str], int]:
    if as_of is None:
        as_of = latest_as_of()
    rows = OrgMemberStat.objects.filter(org=org, as_of=as_of).values_list(
        "dimension", "bucket", "count"
    )
    return {(d, b): n for d, b, n in rows}


# --- raw recomputation (the `check` mode and the tests' reference) -------------------------


def classify(values: dict, as_of: dt.date) -> list[tuple[str, str]]:
    """The (dimension, bucket) pairs one member row counts in, computed in Python."""
    dims = dimension_map()
    status = values["status"]
    pairs: list[tuple[str, str]] = []
    if status in {code for code, _ in dims["status"].buckets}:
        pairs.append(("status", status))
    if status not in MEMBER_STATUSES:
        return pairs
    pairs.append(("gender", values.get("gender") or "unknown"))
    birth = values.get("birth_date")
    if birth is None:
        age_bucket = "unknown"
    else:
        age = years_between(birth, as_of)
        limits = [
            (30, "le30"),
            (35, "31_35"),
            (40, "36_40"),
            (45, "41_45"),
            (50, "46_50"),
            (55, "51_55"),
            (60, "56_60"),
        ]
        age_bucket = next((code for top, code in limits if age <= top), "ge61")
    pairs.append(("age", age_bucket))
    confirmed = values.get("confirmed_on")
    if status in PROBATIONARY_STATUSES:
        sen = "probationary"
    elif confirmed is None or confirmed > as_of:
        sen = "unknown"
    else:
        years = years_between(confirmed, as_of)
        limits = [
            (5, "lt5"),
            (10, "5_9"),
            (20, "10_19"),
            (30, "20_29"),
            (40, "30_39"),
            (50, "40_49"),
        ]
        sen = next((code for top, code in limits if years < top), "ge50")
    pairs.append(("seniority", sen))
    for code in ("education", "occupation"):
        if code in dims:
            pairs.append((code, str(values.get(code) or "unknown")))
    return pairs


def _optional_columns() -> dict[str, str]:
    from apps.dashboards.buckets import _choice_dimension

    found = {}
    for code, names in (
        ("education", ("education",)),
        ("occupation", ("occupation", "occupation_category", "job_category")),
    ):
        dim = _choice_dimension(code, code, names)
        if dim is not None:
            for name in names:
                try:
                    Member._meta.get_field(name)
                except Exception:
                    continue
                found[code] = name
                break
    return found


def member_stats_raw(*, org: Org, as_of: dt.date | None) -> dict[tuple[str, str], int]:
    """Counts recomputed from raw member rows of the subtree (slow at scale: checks only)."""
    if as_of is None:
        return {}
    qs = (
        Member.objects.filter(party_group=org)
        if org.org_type == OrgType.PARTY_GROUP
        else Member.objects.filter(branch__path__startswith=org.path)
    )
    extra = _optional_columns()
    fields = ["status", "gender", "birth_date", "confirmed_on", *extra.values()]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in qs.values(*fields).iterator(chunk_size=5000):
        values = dict(row)
        for code, name in extra.items():
            values[code] = row[name]
        for pair in classify(values, as_of):
            counts[pair] += 1
    return dict(counts)


# --- what the dashboard shows ---------------------------------------------------------------


@dataclass
class Series:
    dimension: Dimension
    rows: list[dict]  # {"code", "label", "count", "share"}

    @property
    def code(self) -> str:
        return self.dimension.code

    @property
    def label(self) -> str:
        return self.dimension.label

    @property
    def total(self) -> int:
        return sum(r["count"] for r in self.rows)


@dataclass
class MemberOverview:
    org: Org
    as_of: dt.date | None
    totals: dict[str, int] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)

    def series_by_code(self) -> dict[str, Series]:
        return {s.code: s for s in self.series}


def _series(dim: Dimension, counts: dict[tuple[str, str], int]) -> Series:
    known = {code for code, _ in dim.buckets}
    rows = [
        {"code": code, "label": label, "count": counts.get((dim.code, code), 0)}
        for code, label in dim.buckets
    ]
    # Values the labels do not know (a new choice added by the members app) still count.
    for (d, bucket), n in sorted(counts.items()):
        if d == dim.code and bucket not in known:
            rows.append({"code": bucket, "label": bucket, "count": n})
    if dim.code != "status":
        rows = [r for r in rows if r["count"] or r["code"] != "unknown"]
    total = sum(r["count"] for r in rows) or 1
    for r in rows:
        r["share"] = round(100 * r["count"] / total, 1)
    return Series(dim, rows)


def totals_from(counts: dict[tuple[str, str], int]) -> dict[str, int]:
    def status(*codes) -> int:
        return sum(counts.get(("status", str(c)), 0) for c in codes)

    return {
        "party_members": status(*MEMBER_STATUSES),
        "full": status(MemberStatus.FULL),
        "probationary": status(*PROBATIONARY_STATUSES),
        "pipeline": status(*PIPELINE_STATUSES),
        "applicants": status(MemberStatus.APPLICANT),
        "activists": status(MemberStatus.ACTIVIST),
        "candidates": status(MemberStatus.CANDIDATE),
        "suspended": status(MemberStatus.SUSPENDED),
        "female": counts.get(("gender", "female"), 0),
    }


def member_overview(*, org: Org, as_of: dt.date | None) -> MemberOverview:
    counts = member_stats_rows(org=org, as_of=as_of) if as_of else {}
    return MemberOverview(
        org=org,
        as_of=as_of,
        totals=totals_from(counts),
        series=[_series(dim, counts) for dim in dimensions()],
    )


PIPELINE_STAGES = (
    (MemberStatus.APPLICANT, "入党申请人"),
    (MemberStatus.ACTIVIST, "入党积极分子"),
    (MemberStatus.CANDIDATE, "发展对象"),
    (MemberStatus.PROBATIONARY, "预备党员"),
)


def pipeline_rows(overview: MemberOverview) -> list[dict]:
    status = {r["code"]: r["count"] for r in overview.series_by_code()["status"].rows}
    rows = [
        {"code": str(code), "label": label, "count": status.get(str(code), 0)}
        for code, label in PIPELINE_STAGES
    ]
    rows[-1]["count"] += status.get(MemberStatus.PROBATION_EXTENDED, 0)
    return rows


def children_of(org: Org) -> list[Org]:
    return list(Org.objects.filter(parent=org, abolished_on__isnull=True).order_by("path"))


def children_member_rows(
    *, org: Org, as_of: dt.date | None, kids: list[Org] | None = None
) -> list[dict]:
    """One row per direct child: the member figures of its whole subtree."""
    kids = children_of(org) if kids is None else kids
    by_org: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    if as_of and kids:
        rows = OrgMemberStat.objects.filter(
            as_of=as_of, org__in=[k.pk for k in kids], dimension__in=["status", "gender"]
        ).values_list("org_id", "dimension", "bucket", "count")
        for org_id, d, b, n in rows:
            by_org[org_id][(d, b)] = n
    return [{"org": kid, **totals_from(by_org.get(kid.pk, {}))} for kid in kids]


def ancestors_visible(org: Org, user) -> list[Org]:
    """The breadcrumb: ancestors of `org` the user may see, root first."""
    from apps.accounts.scope import can_see

    paths = org.ancestor_paths()
    if not paths:
        return []
    return [a for a in Org.objects.filter(path__in=paths).order_by("path") if can_see(user, a)]


# --- dues and terms -------------------------------------------------------------------------


def dues_for(*, orgs: list[Org], period: Period) -> dict[int, dict]:
    """Per org: the quarter's dues (sums over its months; 未交清人数 of the last month present)."""
    from decimal import Decimal

    from apps.dashboards.models import OrgDuesStat

    months = [m.start for m in period.months()]
    out: dict[int, dict] = {}
    rows = OrgDuesStat.objects.filter(org__in=[o.pk for o in orgs], month__in=months).order_by(
        "month"
    )
    for r in rows:
        d = out.setdefault(
            r.org_id,
            {"expected": Decimal("0"), "paid": Decimal("0"), "members": 0, "in_arrears": 0},
        )
        d["expected"] += r.expected
        d["paid"] += r.paid
        d["members"] = r.members
        d["in_arrears"] = r.in_arrears
    for d in out.values():
        d["rate"] = round(float(100 * d["paid"] / d["expected"]), 1) if d["expected"] else None
    return out


def subtree_figures(
    *, orgs: list[Org], metric: str, key: str | None = None
) -> dict[int, dict[tuple[str, str], tuple[int, Decimal]]]:
    """{org id: {(key, bucket): (count, total)}} from OrgSubtreeStat for a few orgs (the org and
    its children): one index lookup per org."""
    from apps.dashboards.models import OrgSubtreeStat

    qs = OrgSubtreeStat.objects.filter(org__in=[o.pk for o in orgs], metric=metric)
    if key is not None:
        qs = qs.filter(key=key)
    out: dict[int, dict[tuple[str, str], tuple[int, Decimal]]] = defaultdict(dict)
    for org_id, k, bucket, count, total in qs.values_list(
        "org_id", "key", "bucket", "count", "total"
    ):
        out[org_id][(k, bucket)] = (count, total)
    return out


def terms_due(
    *, org: Org, today: dt.date | None = None, limit: int = 30
) -> tuple[list[tuple], int, int, dt.date | None]:
    """Open terms in the subtree ending (or overdue) within 6 months of the last refresh:
    (rows for the table, total, overdue, refresh day) from the TermDue list and the subtree
    counts, so the root costs what a branch does. Labels are the organizations app's
    (term_status) on the refresh day."""
    from apps.dashboards.models import TermDue

    figures = subtree_figures(orgs=[org], metric="terms").get(org.pk, {})
    overdue = figures.get(("", "overdue"), (0, 0))[0]
    total = overdue + figures.get(("", "due_soon"), (0, 0))[0]
    if not total:
        return [], 0, 0, None
    rows = list(
        TermDue.objects.filter(path__startswith=org.path).order_by("deadline", "path")[:limit]
    )
    return (
        [(r.org_name, f"第{r.number}届", r.deadline, r.label) for r in rows],
        total,
        overdue,
        rows[0].as_of if rows else None,
    )


# --- assessments ------------------------------------------------------------------------------


def star_distribution(*, org: Org) -> tuple[int | None, list[tuple[int, int]], float | None]:
    """(year, [(stars, orgs)], average score) of the latest year with *published* star ratings
    in the subtree (published results are visible to the whole subtree, so no per-user
    filtering), from the subtree rollup."""
    figures = subtree_figures(orgs=[org], metric="stars").get(org.pk, {})
    years = sorted({int(k) for k, _b in figures}, reverse=True)
    if not years:
        return None, [], None
    year = str(years[0])
    counts = {int(b): n for (k, b), (n, _t) in figures.items() if k == year and b.isdigit()}
    scored, total = figures.get((year, "scored"), (0, 0))
    return (
        years[0],
        [(s, counts.get(s, 0)) for s in range(5, 0, -1)],
        round(float(total) / scored, 1) if scored else None,
    )


def weak_counts(*, org: Org) -> dict[str, int]:
    """软弱涣散 designations in the subtree per state (all years), from the subtree rollup."""
    figures = subtree_figures(orgs=[org], metric="weak").get(org.pk, {})
    out: dict[str, int] = defaultdict(int)
    for (_k, state), (n, _t) in figures.items():
        out[state] += n
    return dict(out)


def weak_orgs(*, org: Org, limit: int = 50) -> list[tuple]:
    """The 软弱涣散 designations of the subtree (a few per cent of the orgs at most); only read
    when the rollup says there are any."""
    from apps.assessments.models import WeakOrg

    if not weak_counts(org=org):
        return []
    qs = (
        WeakOrg.objects.filter(org__path__startswith=org.path)
        .select_related("org")
        .order_by("state", "-year", "org__path")
    )
    return [
        (w.org.name, w.year, w.get_state_display(), "；".join(map(str, w.reasons))[:80])
        for w in qs[:limit]
    ]


def study_rows(*, orgs: list[Org], year: int) -> dict[int, dict[str, float | int | None]]:
    """Study-hour attainment (DOMAIN §5) of `year` per org subtree: members, met, leaders,
    leaders met, hours, rates."""
    figures = subtree_figures(orgs=orgs, metric="study", key=str(year))
    out = {}
    for org in orgs:
        f = figures.get(org.pk, {})
        members, hours = f.get((str(year), "members"), (0, Decimal(0)))
        met = f.get((str(year), "met"), (0, 0))[0]
        leaders = f.get((str(year), "leaders"), (0, 0))[0]
        leaders_met = f.get((str(year), "leaders_met"), (0, 0))[0]
        out[org.pk] = {
            "members": members,
            "met": met,
            "rate": round(100 * met / members, 1) if members else None,
            "leaders": leaders,
            "leaders_met": leaders_met,
            "leaders_rate": round(100 * leaders_met / leaders, 1) if leaders else None,
            "hours_avg": round(float(hours) / members, 1) if members else None,
        }
    return out


def score_rows(*, org: Org, kids: list[Org]) -> tuple[int | None, list[dict]]:
    """Assessment results of the latest year with published scores in the subtree: per org
    (the org, then each child) its own scorecard's final score and grade (a handful of rows)
    and its subtree's scored count and average (rollup)."""
    from apps.assessments.models import Assessment, TemplateKind
    from apps.assessments.selectors import PUBLIC_PHASES

    orgs = [org, *kids]
    figures = subtree_figures(orgs=orgs, metric="score")
    years = sorted({int(k) for k, _b in figures.get(org.pk, {})}, reverse=True)
    if not years:
        return None, []
    year = years[0]
    own = {
        a.org_id: a
        for a in Assessment.objects.filter(
            org__in=[o.pk for o in orgs],
            kind=TemplateKind.BRANCH,
            cycle__year=year,
            cycle__phase__in=PUBLIC_PHASES,
        ).order_by("org_id", "cycle__org__depth")  # the nearest cycle last: it wins
    }
    out = []
    for o in orgs:
        scored, total = figures.get(o.pk, {}).get((str(year), "final"), (0, 0))
        grades = {
            b.split(":", 1)[1]: n
            for (k, b), (n, _t) in figures.get(o.pk, {}).items()
            if k == str(year) and b.startswith("grade:")
        }
        a = own.get(o.pk)
        out.append(
            {
                "org": o,
                "score": a.final_score if a else None,
                "grade": a.get_grade_display() if a and a.grade else "",
                "scored": scored,
                "average": round(float(total) / scored, 1) if scored else None,
                "grades": grades,
            }
        )
    return year, out


def record_counts(*, org_ids: list[int], period: Period) -> dict[int, dict[str, int]]:
    """Returned and flagged meeting records of the quarter per org subtree: {org id: {"returned"
    or flag code: records}} from the subtree rollup."""
    from apps.dashboards.models import OrgSubtreeStat

    out: dict[int, dict[str, int]] = defaultdict(dict)
    for org_id, bucket, n in OrgSubtreeStat.objects.filter(
        org__in=org_ids, metric="records", key=period.key
    ).values_list("org_id", "bucket", "count"):
        out[org_id][bucket] = n
    return dict(out)


def records_for(*, org: Org, period: Period, limit: int = 30) -> list:
    """The newest returned or flagged records of the subtree in the quarter (the rollup's list)."""
    from apps.dashboards.models import RecordAttention

    return list(
        RecordAttention.objects.filter(period_key=period.key, path__startswith=org.path).order_by(
            "-starts_at", "-meeting_id"
        )[:limit]
    )


def overdue_for(*, org: Org, period: Period, limit: int = 20) -> list:
    """The first red branches of the subtree by path, with what they missed (the rollup's list)."""
    from apps.dashboards.models import OverdueBranch

    return list(
        OverdueBranch.objects.filter(period_key=period.key, path__startswith=org.path).order_by(
            "path"
        )[:limit]
    )
