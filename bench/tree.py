"""Benchmark: subtree queries and subtree moves on a province-sized org tree (~270,000 nodes).

    DATABASE_URL=... python bench/tree.py [--reps-scale 1.0] [--keep]

It creates a scratch schema `bench_tree_<pid>` in the configured database, copies the
structure (columns, indexes, constraints) of the real tables into it with
`CREATE TABLE ... (LIKE ... INCLUDING ALL)`, COPYs a generated province (province → 14 cities →
10 counties → 18 towns → ~104 orgs each: branches, 党总支 with branches, 党小组) straight into it
with correct path/depth/numchild/parent and one OrgParentLink per node, and puts the schema first
on the search_path, so the REAL selectors and services run against it. The dev data is never
touched; the schema is dropped at the end. Prints p50/p95 wall-clock timings (client side, rows
fetched and model instances built) over repeated warm runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

import django

django.setup()

from django.db import connection, reset_queries, transaction  # noqa: E402

from apps.organizations import selectors, services  # noqa: E402
from apps.organizations.models import Org  # noqa: E402

CITIES, COUNTIES, TOWNS = 14, 10, 18
TOWN_BRANCHES, GENERAL_BRANCHES, GB_BRANCHES, PARTY_GROUPS = 58, 4, 6, 21
TABLES = ["organizations_org", "organizations_orgparentlink", "core_auditentry", "members_member"]
ALPHABET = Org.alphabet


def step(n: int) -> str:
    digits = ""
    while True:
        n, r = divmod(n, len(ALPHABET))
        digits = ALPHABET[r] + digits
        if n == 0:
            break
    return digits.rjust(Org.steplen, "0")


# Place names for believable, searchable org names (a village name recurs across the province
# only now and then, as in life).
SYLLABLES = "东西南北上下前后大小新老金银石木水山河湖田林花桥塘岭坪坡湾沟庄营寨"


def place(n: int) -> str:
    k = len(SYLLABLES)
    return SYLLABLES[n % k] + SYLLABLES[(n // k) % k] + SYLLABLES[(n // (k * k)) % k]


def generate():
    """Yield (id, path, depth, numchild, parent_id, org_type, name) in path order."""
    next_id = iter(range(1, 10_000_000))
    village = iter(range(7, 10_000_000, 7))

    def node(path, depth, parent_id, org_type, name, children):
        nid = next(next_id)
        yield (nid, path, depth, len(children), parent_id, org_type, name)
        for i, (child_type, child_name, grand) in enumerate(children, start=1):
            yield from node(path + step(i), depth + 1, nid, child_type, child_name, grand())

    def town_children():
        kids = []
        for b in range(TOWN_BRANCHES):
            groups = PARTY_GROUPS // 7 if b < 7 else 0
            kids.append(
                (
                    "branch",
                    f"{place(next(village))}村党支部",
                    lambda g=groups: [("party_group", f"第{k + 1}党小组", list) for k in range(g)],
                )
            )
        for g in range(GENERAL_BRANCHES):
            kids.append(
                (
                    "general_branch",
                    f"第{g + 1}党总支",
                    lambda: [("branch", f"第{k + 1}支部", list) for k in range(GB_BRANCHES)],
                )
            )
        return kids

    def county_children():
        return [("primary_committee", f"第{t + 1}镇党委", town_children) for t in range(TOWNS)]

    def city_children():
        return [("local_committee", f"第{c + 1}县委", county_children) for c in range(COUNTIES)]

    province = [("local_committee", f"第{c + 1}市委", city_children) for c in range(CITIES)]
    yield from node(step(1), 1, None, "local_committee", "某省委", province)


def timed(fn, reps: int) -> tuple[float, float, int]:
    fn()  # warm
    samples, size = [], 0
    for _ in range(reps):
        start = time.perf_counter()
        size = fn()
        samples.append((time.perf_counter() - start) * 1000)
        reset_queries()
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps-scale", type=float, default=1.0, help="multiply the repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema (for EXPLAIN)")
    args = parser.parse_args()
    schema = f"bench_tree_{os.getpid()}"
    today = dt.date.today()
    cursor = connection.cursor()
    began = time.perf_counter()
    cursor.execute(f"CREATE SCHEMA {schema}")
    try:
        for table in TABLES:
            cursor.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
        cursor.execute(f"SET search_path TO {schema}, public")
        rows = 0
        now = "2025-01-01 00:00:00+08"
        with cursor.cursor.copy(
            "COPY organizations_org (id, created_at, updated_at, path, depth, numchild, parent_id, org_type, "
            "name, short_name, code, category, setup_form, joint_units, founded_on, address, contact_name, "
            "contact_phone) FROM STDIN"
        ) as copy:
            for nid, path, depth, numchild, parent_id, org_type, name in generate():
                copy.write_row(
                    (
                        nid,
                        now,
                        now,
                        path,
                        depth,
                        numchild,
                        parent_id,
                        org_type,
                        name,
                        "",
                        f"B{nid}",
                        "other",
                        "standalone",
                        "[]",
                        "2000-01-01",
                        "",
                        "",
                        "",
                    )
                )
                rows += 1
        cursor.execute(
            "INSERT INTO organizations_orgparentlink (org_id, parent_id, valid_from, reason) "
            "SELECT id, parent_id, founded_on, '' FROM organizations_org"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('organizations_org', 'id'), (SELECT max(id) FROM organizations_org))"
        )
        cursor.execute("ANALYZE organizations_org; ANALYZE organizations_orgparentlink")
        load = time.perf_counter() - began
        print(f"Generated {rows:,} orgs (+{rows:,} parent links) in schema {schema} in {load:.1f}s")
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        def pick(depth: int) -> Org:
            return Org.objects.filter(depth=depth).order_by("path")[3 if depth > 1 else 0]

        targets = [
            ("root (province)", pick(1), 3),
            ("city", pick(2), 10),
            ("county", pick(3), 30),
            ("town", pick(4), 100),
        ]
        reps_of = lambda n: max(3, round(n * args.reps_scale))  # noqa: E731
        print()
        print(
            f"{'subtree of':<16}{'rows':>9}  {'ORM list p50/p95 ms':>22}  {'ORM count p50/p95':>18}  {'raw SQL p50/p95 ms':>20}  {'DB exec ms':>10}"
        )
        for label, org, reps in targets:
            orm = timed(lambda org=org: len(list(Org.objects.subtree_of(org))), reps_of(reps))
            cnt = timed(lambda org=org: Org.objects.subtree_of(org).count() or 1, reps_of(reps))

            def raw(org=org):
                with connection.cursor() as c:
                    c.execute(
                        "SELECT * FROM organizations_org WHERE path LIKE %s ORDER BY path",
                        [org.path + "%"],
                    )
                    return len(c.fetchall())

            sql = timed(raw, reps_of(reps))
            execs = []
            for _ in range(5):
                with connection.cursor() as c:
                    c.execute(
                        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM organizations_org WHERE path LIKE %s ORDER BY path",
                        [org.path + "%"],
                    )
                    execs.append(c.fetchone()[0][0]["Execution Time"])
            print(
                f"{label:<16}{orm[2]:>9,}  {orm[0]:>10.1f} / {orm[1]:<9.1f}  {cnt[0]:>8.2f} / {cnt[1]:<7.2f}  "
                f"{sql[0]:>9.1f} / {sql[1]:<8.1f}  {statistics.median(execs):>9.2f}"
            )

        county, town = pick(3), pick(4)
        print()
        kids = timed(lambda: len(selectors.org_children(user=_Admin(), org=county)), reps_of(30))
        crumbs = timed(lambda: len(selectors.org_breadcrumb(user=_Admin(), org=town)), reps_of(100))
        asof = timed(lambda: selectors.subtree_as_of(org=county, on=today).count(), reps_of(10))
        print(
            f"children of a county with counts (org_children): p50 {kids[0]:.2f} ms, p95 {kids[1]:.2f} ms ({kids[2]} rows)"
        )
        print(
            f"breadcrumb of a town (org_breadcrumb):          p50 {crumbs[0]:.2f} ms, p95 {crumbs[1]:.2f} ms"
        )
        print(
            f"county subtree as of a date (subtree_as_of):    p50 {asof[0]:.1f} ms, p95 {asof[1]:.1f} ms ({asof[2]:,} orgs)"
        )
        with connection.cursor() as c:
            c.execute(
                "EXPLAIN SELECT id FROM organizations_org WHERE path LIKE %s", [county.path + "%"]
            )
            plan = " | ".join(r[0].strip() for r in c.fetchall()[:2])
        print(f"plan: {plan}")

        print()
        print(f"{'org search (org_search, whole province)':<44}{'p50 ms':>8}  {'p95 ms':>8}  rows")
        rare = Org.objects.filter(name__endswith="村党支部").order_by("path")[5000].name[:3]
        for label, query in (
            (f"name contains {rare} (a village)", rare),
            ("name contains 党支部 (most rows)", "党支部"),
            ("name contains 新 (one character)", "新"),
            ("code prefix B12345", "B12345"),
        ):
            m = timed(
                lambda query=query: len(selectors.org_search(user=_Admin(), query=query)),
                reps_of(10),
            )
            print(f"{label:<44}{m[0]:>8.1f}  {m[1]:>8.1f}  {m[2]}")

        print()
        print(
            f"{'move (org_move, rolled back)':<30}{'rows moved':>11}  {'p50 ms':>8}  {'p95 ms':>8}"
        )
        cities = list(Org.objects.filter(depth=2).order_by("path")[:2])
        counties = list(Org.objects.filter(depth=3, parent=cities[1]).order_by("path")[:1])
        moves = [
            ("town → another county", pick(4), pick(3), 10),
            ("county → another city", pick(3), counties[0], 5),
        ]
        for label, org, target, reps in moves:
            size = Org.objects.subtree_of(org).count()

            def run(org=org, target=target, size=size):
                with transaction.atomic():
                    services.org_move(
                        actor=None, org=org, new_parent=target, on=today, reason="bench"
                    )
                    transaction.set_rollback(True)
                return size

            if target.path.startswith(org.path) or org.parent_id == target.pk:
                continue
            m = timed(run, reps_of(reps))
            print(f"{label:<30}{size:>11,}  {m[0]:>8.1f}  {m[1]:>8.1f}")
    finally:
        cursor.execute("SET search_path TO public")
        if not args.keep:
            cursor.execute(f"DROP SCHEMA {schema} CASCADE")
        cursor.close()
    print(
        f"\nTotal {time.perf_counter() - began:.0f}s; PostgreSQL {connection.cursor().connection.info.server_version}"
    )


class _Admin:
    """An unrestricted reader for the selectors (a superuser-like scope, no DB rows needed)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = 0


if __name__ == "__main__":
    main()
