"""`python manage.py seed_scale --tier city|province [--force] [--seed N]`

Generate a city (≈20,000 orgs, ≈400,000 members) or a province (≈270,000 orgs, ≈5.5 million
members) into the configured database with COPY and INSERT … SELECT (apps/dashboards/scale.py),
then refresh the dashboard rollups. Refuses to run on a database that already has orgs or
members (the demo county, real data) unless --force, which TRUNCATEs the org tree and every
table that references it. Use a database of its own: createdb dj_scale_city, then
DATABASE_URL=postgres://…/dj_scale_city python manage.py migrate && … seed_scale --tier city.
"""

from __future__ import annotations

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from apps.dashboards import scale
from apps.dashboards.services import (
    dues_stats_refresh,
    member_stats_refresh,
    subtree_stats_refresh,
)


class Command(BaseCommand):
    help = "Generate a city- or province-sized data set for benchmarks (COPY / INSERT … SELECT)."

    def add_arguments(self, parser):
        parser.add_argument("--tier", choices=sorted(scale.TIERS), required=True)
        parser.add_argument(
            "--force",
            action="store_true",
            help="wipe existing orgs/members first (TRUNCATE … CASCADE)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--no-meetings", action="store_true", help="skip meetings and attendance"
        )
        parser.add_argument(
            "--meetings-sample",
            type=float,
            default=1.0,
            help="share of branches (0–1] that get two years of meetings (province: e.g. 0.1)",
        )

    def handle(self, *args, tier, force, seed, no_meetings, meetings_sample, **options):
        if not 0 < meetings_sample <= 1:
            raise CommandError("--meetings-sample 应在 0 与 1 之间（如 0.1 表示一成支部）。")
        spec = scale.TIERS[tier]
        if scale.has_data() and not force:
            raise CommandError(
                "数据库中已有党组织或党员数据（如演示数据）。seed_scale 会清空它们：请使用单独的数据库，"
                "或确认后加 --force。"
            )
        started = time.monotonic()
        log = self.stdout.write
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SELECT setseed(%s)", [((seed % 1000) / 1000.0)])
            if force:
                scale.wipe()
            scale.build_orgs(spec, random.Random(seed), log=log)
            scale.build_parent_links_and_terms(log=log)
            scale.build_members(spec, log=log)
            if not no_meetings:
                scale.build_meetings(spec, log=log, sample=meetings_sample)
            signins = scale.build_users(log=log)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        result = member_stats_refresh()
        log(f"  member rollup: {result.rows:,} rows in {result.seconds:.1f}s")
        log(f"  dues rollup: {dues_stats_refresh():,} rows")
        if not no_meetings:
            scale.build_meeting_rollups(log=log)
        started_subtree = time.monotonic()
        rows = subtree_stats_refresh(quarters=None if no_meetings else scale.generated_quarters())
        log(f"  subtree rollup: {rows:,} rows in {time.monotonic() - started_subtree:.1f}s")
        log(self.style.SUCCESS(f"{tier} ready in {time.monotonic() - started:.0f}s"))
        for username, password, org in signins:
            log(f"  sign-in {username} / {password}  ({org})")
