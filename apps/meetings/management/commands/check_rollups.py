"""Recompute every meeting rollup from raw rows and compare; changes nothing.
Exit status 1 (listing the differences) when any rollup disagrees."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.meetings import rollups


class Command(BaseCommand):
    help = "Check meeting counters, the branch rollup and the tree rollup against raw rows."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=50, help="differences to print")

    def handle(self, *args, limit: int, **options):
        problems = (
            rollups.counters_mismatches()
            + rollups.stats_differences()
            + rollups.org_stats_differences()
        )
        if problems:
            for line in problems[:limit]:
                self.stderr.write(line)
            if len(problems) > limit:
                self.stderr.write(f"... and {len(problems) - limit} more")
            raise CommandError(f"{len(problems)} rollup difference(s) found.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Meeting rollups agree with the raw rows."))
