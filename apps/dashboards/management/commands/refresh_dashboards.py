"""`python manage.py refresh_dashboards [--as-of YYYY-MM-DD] [--check [--sample N]]`

Refresh the dashboard rollups (what the beat job `dashboards-refresh` does), or with --check
compare the rollup with counts recomputed from raw member rows and exit 1 on any difference.
"""

from __future__ import annotations

import datetime as dt
import random

from django.core.management.base import BaseCommand, CommandError

from apps.dashboards.services import (
    dues_stats_refresh,
    member_stats_check,
    member_stats_refresh,
    subtree_stats_refresh,
)
from apps.organizations.models import Org


class Command(BaseCommand):
    help = "Refresh the dashboard rollups, or check them against raw rows (--check)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="snapshot date (default today)",
        )
        parser.add_argument(
            "--check", action="store_true", help="compare the rollup with raw counts; do not write"
        )
        parser.add_argument(
            "--sample", type=int, default=200, help="orgs checked besides the roots (--check)"
        )

    def handle(self, *args, as_of, check, sample, **options):
        if not check:
            result = member_stats_refresh(as_of=as_of)
            self.stdout.write(
                f"member_stats as of {result.as_of}: {result.rows} rows in {result.seconds:.2f}s"
            )
            self.stdout.write(f"dues_stats: {dues_stats_refresh(today=as_of)} rows")
            self.stdout.write(f"subtree_stats: {subtree_stats_refresh(today=as_of)} rows")
            return
        roots = list(Org.objects.filter(depth=1))
        ids = list(Org.objects.values_list("pk", flat=True))
        picked = set(random.Random(0).sample(ids, min(sample, len(ids))))
        orgs = roots + list(Org.objects.filter(pk__in=picked - {r.pk for r in roots}))
        mismatches = member_stats_check(orgs=orgs, as_of=as_of)
        for m in mismatches[:50]:
            self.stdout.write(
                f"org {m.org_id} {m.dimension}:{m.bucket} rollup={m.rollup} raw={m.raw}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} differences between the rollup and the raw rows")
        self.stdout.write(self.style.SUCCESS(f"member_stats true for {len(orgs)} orgs"))
