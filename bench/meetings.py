"""Meetings benchmark: prints figures, changes nothing outside a scratch database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dj_x python bench/meetings.py [--requests 200] [--branches 20000]

1. Demo-size county (300 branches, members, two years of meetings from apps/meetings/demo.py):
   seed time, then the compliance reads a dashboard makes (branch, subtree, overdue list).
2. Recording a meeting with 30 attendees through the API (DRF test client, full request:
   auth, serializer, service, rollup UPSERT, flags): p50/p95 over N requests; also submit.
3. A generated city with ~20,000 branches (orgs by bulk insert, one quarter of meetings by
   INSERT … SELECT): rebuild of the branch rollup from raw rows, tree-rollup refresh, and the
   compliance reads at city, county and branch level.
The scratch database `<name>_bench` is created next to DATABASE_URL's and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def timed(fn, repeat: int = 20) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs), pct(runs, 95)


def scratch_url(base: str) -> tuple[str, str, str]:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") + "_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return urlunsplit(parts._replace(path="/" + name)), admin, name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--branches", type=int, default=20000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("Set DATABASE_URL (the scratch database is created next to it).")
    url, admin_url, name = scratch_url(base)
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"scratch database {name}")
        _county, branches = demo_county()
        record_api(branches, args.requests)
        city(args.branches)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- 1. demo county ---------------------------------------------------------------------------------


def demo_county():
    import datetime as dt

    from apps.core.management.commands.seed_demo import DemoContext
    from apps.core.periods import Period, PeriodKind, local_today
    from apps.meetings import demo, selectors
    from apps.members.models import Member, MemberStatus
    from apps.organizations.models import Org, OrgType
    from apps.organizations.services import org_create

    rng = random.Random(1)
    t = time.perf_counter()
    county = org_create(
        actor=None,
        parent=None,
        name="基准县委",
        code="B0",
        org_type=OrgType.LOCAL_COMMITTEE,
        category="rural",
        founded_on=dt.date(2000, 1, 1),
    )
    branches = []
    n = 0
    members = []
    for town_i in range(15):
        county.refresh_from_db()
        town = org_create(
            actor=None,
            parent=county,
            name=f"第{town_i + 1}镇党委",
            code=f"BT{town_i}",
            org_type=OrgType.PRIMARY_COMMITTEE,
            category="rural",
            founded_on=dt.date(2000, 1, 1),
        )
        for _ in range(20):
            n += 1
            town.refresh_from_db()
            b = org_create(
                actor=None,
                parent=town,
                name=f"第{n}村党支部",
                code=f"BB{n}",
                org_type=OrgType.BRANCH,
                category="rural",
                founded_on=dt.date(2005, 1, 1),
            )
            branches.append(b)
            for i in range(rng.randint(8, 40)):
                members.append(
                    Member(
                        branch=b,
                        name=f"党员{n}-{i}",
                        gender="male",
                        status=MemberStatus.PROBATIONARY
                        if rng.random() < 0.06
                        else MemberStatus.FULL,
                    )
                )
    Member.objects.bulk_create(members, batch_size=5000)
    print(
        f"\n1. demo county: {len(branches)} branches, {len(members)} members (tree + members {time.perf_counter() - t:.1f}s)"
    )
    ctx = DemoContext(rng=random.Random(7), today=local_today(), log=lambda *a: print(*a))
    ctx.data["branches"] = branches
    t = time.perf_counter()
    demo.seed(ctx)
    print(f"   meetings.demo.seed: {time.perf_counter() - t:.1f}s")
    county = Org.objects.get(pk=county.pk)
    quarter = Period.current(PeriodKind.QUARTER)
    year = Period.current(PeriodKind.YEAR)
    town = Org.objects.filter(parent=county).first()
    b = branches[0]
    for label, fn in [
        (
            "compliance_for_subtree(county, quarter)",
            lambda: selectors.compliance_for_subtree(county, quarter),
        ),
        (
            "compliance_for_subtree(county, year)",
            lambda: selectors.compliance_for_subtree(county, year),
        ),
        (
            "compliance_for_subtree(town, quarter)",
            lambda: selectors.compliance_for_subtree(town, quarter),
        ),
        (
            "compliance_for_branch(branch, quarter)",
            lambda: selectors.compliance_for_branch(b, quarter),
        ),
        (
            "overdue_requirements(county, quarter)",
            lambda: selectors.overdue_requirements(county, quarter),
        ),
        ("attendance_rate(branch, year)", lambda: selectors.attendance_rate(period=year, branch=b)),
    ]:
        p50, p95 = timed(fn)
        print(f"   {label:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    from apps.meetings import rollups

    t = time.perf_counter()
    rollups.org_stats_refresh(quarter)
    print(
        f"   tree rollup refresh (quarter, whole county): {(time.perf_counter() - t) * 1000:.0f} ms"
    )
    return county, branches


# --- 2. record through the API ---------------------------------------------------------------------


def record_api(branches, requests: int) -> None:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from apps.accounts.models import Role, RoleGrant, User
    from apps.members.models import Member

    branch = next(b for b in branches if Member.objects.filter(branch=b).count() >= 30)
    user = User.objects.create(username="bench-secretary", full_name="基准书记")
    RoleGrant.objects.create(user=user, org=branch, role=Role.SECRETARY)
    client = APIClient()
    client.force_authenticate(user)
    member_ids = list(
        Member.objects.filter(branch=branch).order_by("id").values_list("id", flat=True)[:30]
    )
    start = timezone.now() - dt.timedelta(days=1)
    record_ms, submit_ms = [], []
    statuses = ["present"] * 26 + ["online", "leave", "leave", "absent"]
    rng = random.Random(3)
    for i in range(requests):
        body = {
            "branch": branch.pk,
            "kinds": ["theme_day", "party_lecture"],
            "title": f"基准会议{i}",
            "starts_at": (start - dt.timedelta(hours=i)).isoformat(),
            "ends_at": (start - dt.timedelta(hours=i) + dt.timedelta(hours=1)).isoformat(),
            "attendee_ids": member_ids,
            "unplanned_reason": "基准测试",
        }
        mid = client.post("/api/v1/meetings/", body, format="json").json()["id"]
        rng.shuffle(statuses)
        rec = {
            "attendance": [
                {"member_id": m, "status": s, "reason": "出差" if s == "leave" else ""}
                for m, s in zip(member_ids, statuses, strict=True)
            ],
            "host_id": member_ids[0],
            "recorder_id": member_ids[1],
            "lecturer_id": member_ids[0],
            "minutes": f"第{i}次会议。"
            + "与会党员围绕主题逐一发言，查摆了自身在学习、工作中存在的不足。" * rng.randint(1, 3)
            + str(rng.random()),
            "decisions": "会议决定按计划推进各项工作。",
        }
        t = time.perf_counter()
        r = client.post(f"/api/v1/meetings/{mid}/record/", rec, format="json")
        record_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.content[:300]
        t = time.perf_counter()
        r = client.post(f"/api/v1/meetings/{mid}/submit/")
        submit_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.content[:300]
    print(
        f"\n2. API, meeting with 30 attendees ({requests} requests, DRF test client, one process)"
    )
    print(
        f"   POST /record/ (attendance, minutes, flags) p50 {statistics.median(record_ms):6.1f} ms   p95 {pct(record_ms, 95):6.1f} ms"
    )
    print(
        f"   POST /submit/ (rollup UPSERT)            p50 {statistics.median(submit_ms):6.1f} ms   p95 {pct(submit_ms, 95):6.1f} ms"
    )
    _ = connection


# --- 3. generated city ---------------------------------------------------------------------------------

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def step(i: int) -> str:
    out = ""
    for _ in range(4):
        i, r = divmod(i, 36)
        out = ALPHABET[r] + out
    return out


def city(n_branches: int) -> None:
    import datetime as dt

    from django.db import connection, transaction

    from apps.core.periods import Period, PeriodKind
    from apps.meetings import rollups, selectors
    from apps.meetings.models import BranchPeriodStat
    from apps.organizations.models import Org, OrgType

    counties, towns = 15, 20
    per_town = max(1, n_branches // (counties * towns))
    t = time.perf_counter()
    with transaction.atomic():
        root = Org(
            path="0002",
            depth=1,
            numchild=counties,
            name="基准市委",
            code="C0",
            org_type=OrgType.LOCAL_COMMITTEE,
            category="other",
            founded_on=dt.date(2000, 1, 1),
        )
        root.save()
        rows = []
        for c in range(counties):
            rows.append(
                Org(
                    path=root.path + step(c + 1),
                    depth=2,
                    numchild=towns,
                    parent=root,
                    name=f"市{c + 1}县委",
                    code=f"CC{c}",
                    org_type=OrgType.LOCAL_COMMITTEE,
                    category="other",
                    founded_on=dt.date(2000, 1, 1),
                )
            )
        Org.objects.bulk_create(rows)
        county_objs = list(Org.objects.filter(parent=root).order_by("path"))
        rows = []
        for ci, c in enumerate(county_objs):
            for w in range(towns):
                rows.append(
                    Org(
                        path=c.path + step(w + 1),
                        depth=3,
                        numchild=per_town,
                        parent=c,
                        name=f"{ci}县{w + 1}镇党委",
                        code=f"CT{ci}-{w}",
                        org_type=OrgType.PRIMARY_COMMITTEE,
                        category="rural",
                        founded_on=dt.date(2000, 1, 1),
                    )
                )
        Org.objects.bulk_create(rows, batch_size=2000)
        town_objs = list(Org.objects.filter(depth=3, path__startswith=root.path).order_by("path"))
        rows = []
        for ti, town in enumerate(town_objs):
            for b in range(per_town):
                rows.append(
                    Org(
                        path=town.path + step(b + 1),
                        depth=4,
                        numchild=0,
                        parent=town,
                        name=f"{ti}镇{b + 1}支部",
                        code=f"CB{ti}-{b}",
                        org_type=OrgType.BRANCH,
                        category="rural",
                        founded_on=dt.date(2005, 1, 1),
                    )
                )
        Org.objects.bulk_create(rows, batch_size=5000)
    n = Org.objects.filter(path__startswith=root.path, org_type=OrgType.BRANCH).count()
    print(
        f"\n3. generated city: {n} branches, {Org.objects.filter(path__startswith=root.path).count()} orgs ({time.perf_counter() - t:.1f}s)"
    )
    quarter = Period.current(PeriodKind.QUARTER)
    months = [m.start for m in quarter.months()]
    t = time.perf_counter()
    with connection.cursor() as cur:
        # committee setting for 60% of branches; then one quarter of meetings (5-9% skipped)
        cur.execute(
            """
            INSERT INTO meetings_branchmeetingsetting (branch_id, has_committee, created_at, updated_at)
            SELECT id, (id %% 5) < 3, now(), now() FROM organizations_org WHERE path LIKE %s AND org_type = 'branch'
        """,
            [root.path + "%"],
        )
        cur.execute(
            """
            INSERT INTO meetings_meeting (branch_id, kinds, title, place, starts_at, ends_at, state, planned_at,
                unplanned_reason, lecturer_name, minutes, decisions, topics, expected_count, present_count, online_count,
                leave_count, absent_count, roster_count, version, cancel_reason, review_comment, minutes_bands,
                minutes_signature, created_at, updated_at)
            SELECT o.id, k.kinds, '会议', '', (m.d + time '09:00') AT TIME ZONE 'Asia/Shanghai',
                   (m.d + time '10:00') AT TIME ZONE 'Asia/Shanghai', 'accepted', now(), '', '', '', '', '',
                   20, 18, 0, 1, 1, 20, 1, '', '', '{}', '{}', now(), now()
            FROM organizations_org o
            CROSS JOIN unnest(%s::date[]) AS m(d)
            CROSS JOIN (VALUES (ARRAY['theme_day']::varchar[]), (ARRAY['committee_meeting']::varchar[]),
                               (ARRAY['general_meeting','party_lecture']::varchar[])) AS k(kinds)
            WHERE o.path LIKE %s AND o.org_type = 'branch'
              AND (k.kinds[1] <> 'general_meeting' OR extract(month FROM m.d)::int %% 3 = 2)
              AND (k.kinds[1] <> 'committee_meeting' OR (o.id %% 5) < 3)
              AND random() > 0.05
        """,
            [[d.replace(day=10) for d in months], root.path + "%"],
        )
        meetings = cur.rowcount
    print(
        f"   {meetings} meetings for {quarter.label} by INSERT … SELECT ({time.perf_counter() - t:.1f}s)"
    )
    t = time.perf_counter()
    rows = rollups.stats_recompute_all()
    print(
        f"   rebuild branch rollup from raw meetings: {time.perf_counter() - t:.2f}s ({rows} rows)"
    )
    t = time.perf_counter()
    rollups.org_stats_refresh(quarter)
    print(f"   tree rollup refresh ({quarter.key}, every org): {time.perf_counter() - t:.2f}s")
    root = Org.objects.get(pk=root.pk)
    county = Org.objects.filter(parent=root).order_by("path").first()
    town = Org.objects.filter(parent=county).order_by("path").first()
    branch = Org.objects.filter(parent=town).order_by("path").first()

    def range_scan():
        return list(
            BranchPeriodStat.objects.filter(period_key=quarter.key, path__startswith=root.path)
            .values_list("kind")
            .order_by()
        )

    for label, fn in [
        ("compliance_for_subtree(city)", lambda: selectors.compliance_for_subtree(root, quarter)),
        (
            "compliance_for_subtree(county)",
            lambda: selectors.compliance_for_subtree(county, quarter),
        ),
        ("compliance_for_subtree(town)", lambda: selectors.compliance_for_subtree(town, quarter)),
        ("compliance_for_branch(branch)", lambda: selectors.compliance_for_branch(branch, quarter)),
        ("overdue_requirements(town)", lambda: selectors.overdue_requirements(town, quarter)),
        ("branch-rollup range scan, whole city", range_scan),
    ]:
        p50, p95 = timed(fn, repeat=10)
        print(f"   {label:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")


if __name__ == "__main__":
    main()
