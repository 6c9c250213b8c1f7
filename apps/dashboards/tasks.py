from __future__ import annotations

from celery import shared_task

from apps.dashboards.services import dues_stats_refresh, member_stats_refresh


@shared_task(name="dashboards.refresh_member_stats")
def refresh_member_stats_task() -> int:
    """Periodic (config/celery.py): recompute today's member snapshot and the recent dues months."""
    return member_stats_refresh().rows + dues_stats_refresh()
