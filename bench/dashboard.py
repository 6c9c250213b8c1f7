"""Dashboard, member search and report benchmarks on a seed_scale database.

    createdb dj_scale_city
    DATABASE_URL=postgres://…/dj_scale_city python manage.py migrate
    DATABASE_URL=postgres://…/dj_scale_city python manage.py seed_scale --tier city
    DATABASE_URL=postgres://…/dj_scale_city python bench/dashboard.py --tier city [--runs 30] [--reports 20]

Prints p50/p95 (ms, warm, in-process through Django's test client: URL routing, scope checks,
queries and template rendering included; no network) of the dashboard page and its API for the
root, a county and a branch; member search (page 1 of 20 plus capped count) within each subtree;
the rollup refresh; and report throughput (PDF + Excel per minute, one process) for branches and
committees. Nothing is left behind: reports are built inside a transaction that is rolled back,
with files under a temporary MEDIA_ROOT.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault(
    "DJANGO_DEBUG", "1"
)  # plain static storage (no collectstatic manifest); DEBUG is switched off below


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn, runs: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def line(label: str, samples: list[float], extra: str = "") -> None:
    print(
        f"  {label:<44} p50 {statistics.median(samples):8.1f} ms   p95 {pct(samples, 95):8.1f} ms  {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tier", choices=["city", "province", "tiny"], required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--reports", type=int, default=12, help="reports built per kind for throughput"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client

    from apps.accounts.models import User
    from apps.core.periods import Period, PeriodKind
    from apps.members.models import Member
    from apps.members.selectors import capped_count, member_search
    from apps.organizations.models import BRANCH_TYPES, Org, OrgType

    settings.DEBUG = False
    users = {
        name: User.objects.get(username=f"scale_{name}") for name in ("root", "county", "branch")
    }
    orgs = {name: u.grants.first().org for name, u in users.items()}
    print(
        f"tier {args.tier}: {Org.objects.count():,} orgs, {Member.objects.count():,} members; "
        f"PostgreSQL {connection.pg_version // 10000}; {args.runs} runs each"
    )
    period = Period.current(PeriodKind.QUARTER)

    print("dashboard (page and API, same sections):")
    for name in ("root", "county", "branch"):
        client = Client()
        client.force_login(users[name])
        org = orgs[name]
        size = Org.objects.filter(path__startswith=org.path).count()
        page = timed(
            lambda c=client, o=org: c.get(f"/dashboards/org/{o.pk}/?q={period.key}"), args.runs
        )
        api = timed(
            lambda c=client, o=org: c.get(f"/api/v1/dashboards/orgs/{o.pk}/?quarter={period.key}"),
            args.runs,
        )
        line(f"page  {name:<7} ({size:,} orgs in subtree)", page)
        line(f"api   {name:<7}", api)

    print("member search within the subtree (name prefix, page 1 of 20 + capped count):")
    for name in ("root", "county", "branch"):
        user, org = users[name], orgs[name]
        prefix = (
            Member.objects.filter(branch__path__startswith=org.path)
            .values_list("name", flat=True)
            .first()[:1]
        )

        def search(u=user, o=org, q=prefix):
            qs = member_search(user=u, org=o, q=q)
            list(qs[:20])
            capped_count(qs)

        line(f"search {name:<7} q='{prefix}'", timed(search, args.runs))

    from apps.dashboards.services import member_stats_refresh

    with transaction.atomic():
        started = time.perf_counter()
        result = member_stats_refresh()
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"member rollup refresh (whole tier): {seconds:.1f} s, {result.rows:,} rows")

    print(f"report throughput (PDF + Excel, {args.reports} reports per kind, one process):")
    from apps.dashboards.excel import sections_workbook
    from apps.dashboards.sections import context_for, sections_for
    from apps.reports import services
    from apps.reports.pdf import report_pdf

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bench-media-")
    branch_ids = list(
        Org.objects.filter(
            path__startswith=orgs["county"].path, org_type__in=BRANCH_TYPES
        ).values_list("pk", flat=True)[: args.reports]
    )
    committee_ids = list(
        Org.objects.filter(
            path__startswith=orgs["root"].path,
            org_type__in=[OrgType.PRIMARY_COMMITTEE, OrgType.LOCAL_COMMITTEE],
        )
        .order_by("depth", "path")
        .values_list("pk", flat=True)[: args.reports]
    )
    last = period.previous()
    rates = {}
    for label, ids in (("branches", branch_ids), ("committees", committee_ids)):
        with transaction.atomic():
            started = time.perf_counter()
            pdf_ms, xlsx_ms = [], []
            for pk in ids:
                org = Org.objects.get(pk=pk)
                sections = sections_for(context_for(org=org, period=last, today=period.start))
                t0 = time.perf_counter()
                report_pdf(title=org.name, subtitle="bench", meta="", summary="", sections=sections)
                t1 = time.perf_counter()
                sections_workbook(sections, heading=org.name)
                t2 = time.perf_counter()
                pdf_ms.append((t1 - t0) * 1000)
                xlsx_ms.append((t2 - t1) * 1000)
            figures_only = time.perf_counter() - started
            started = time.perf_counter()
            for pk in ids:
                services.report_build(org=Org.objects.get(pk=pk), period=last)
            full = time.perf_counter() - started
            transaction.set_rollback(True)
        per_minute = rates[label] = 60 * len(ids) / full
        print(
            f"  {label:<11} {per_minute:7.0f} reports/min (full build: figures, PDF, Excel, files, version switch); "
            f"PDF p50 {statistics.median(pdf_ms):.0f} ms, Excel p50 {statistics.median(xlsx_ms):.0f} ms"
            f" [render-only pass {figures_only:.1f}s]"
        )
    count = Org.objects.exclude(org_type=OrgType.PARTY_GROUP).count()
    print(
        f"  the whole {args.tier} ({count:,} committees and branches) at the branch rate: "
        f"about {count / rates['branches']:.0f} worker-minutes"
    )


if __name__ == "__main__":
    main()
