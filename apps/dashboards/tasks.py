from __future__ import annotations

from celery import shared_task

from apps.dashboards.services import (
    dues_stats_refresh,
    member_stats_refresh,
    subtree_stats_refresh,
)


@shared_task(name="dashboards.refresh_member_stats")
def refresh_member_stats_task() -> int:
    """Periodic (config/celery.py): recompute today's member snapshot, the recent dues months
    and the subtree figures (study hours, assessments, 软弱涣散, terms due)."""
    return member_stats_refresh().rows + dues_stats_refresh() + subtree_stats_refresh()
