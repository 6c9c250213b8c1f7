"""Meeting background jobs. The beat entry is declared in config/celery.py."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.meetings import rollups

logger = logging.getLogger(__name__)


@shared_task(name="meetings.org_stats_refresh_due")
def org_stats_refresh_due() -> list[str]:
    """Refresh the tree rollup for the current quarter/year and every period marked dirty."""
    return rollups.org_stats_refresh_due()


@shared_task(name="meetings.org_stats_refresh")
def org_stats_refresh(period_key: str) -> int:
    """Refresh one period on demand (e.g. after an exemption or a requirement change)."""
    from apps.core.periods import Period

    try:
        window = Period.parse(period_key)
    except ValueError:
        logger.warning("meetings rollup: %r is not a period; nothing refreshed", period_key)
        return 0
    return rollups.org_stats_refresh(window)
