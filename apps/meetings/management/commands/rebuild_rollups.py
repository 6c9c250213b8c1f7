"""Rebuild the branch rollup from raw meetings and refresh the tree rollup for every period."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.core.periods import Period
from apps.meetings import rollups
from apps.meetings.models import BranchPeriodStat


class Command(BaseCommand):
    help = "Rebuild meeting rollups from raw rows (repairs drift that check_rollups reports)."

    def handle(self, *args, **options):
        rows = rollups.stats_recompute_all()
        keys = sorted(
            set(
                BranchPeriodStat.objects.exclude(period_key__regex=r"^\d{4}-\d{2}$").values_list(
                    "period_key", flat=True
                )
            )
        )
        for key in keys:
            rollups.org_stats_refresh(Period.parse(key))
        self.stdout.write(
            self.style.SUCCESS(
                f"{rows} branch rollup rows; tree rollup refreshed for {len(keys)} periods."
            )
        )
