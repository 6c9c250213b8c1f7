from __future__ import annotations

from celery import shared_task

from apps.dashboards.services import member_stats_refresh


@shared_task(name="dashboards.refresh_member_stats")
def refresh_member_stats_task() -> int:
    """Periodic (config/celery.py): recompute today's member rollup snapshot."""
    return member_stats_refresh().rows
