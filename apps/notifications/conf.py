"""Operational settings of the reminder outbox (environment, not rule parameters: they are
about the machinery, not about party rules). See docs/operations.md."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config import env

# Hard time limit of one send task (seconds). Far below the broker visibility timeout.
SEND_TIME_LIMIT = env.integer("NOTIFICATIONS_SEND_TIME_LIMIT", 60)
SEND_SOFT_TIME_LIMIT = max(1, SEND_TIME_LIMIT - 10)
# A delivery still `queued` or `sending` this long after it was queued / claimed is re-queued
# by the sweeper. Must exceed the send time limit, so a live send is never re-queued.
STUCK_AFTER = env.integer("NOTIFICATIONS_STUCK_AFTER", 300)
# Rows the dispatcher claims per transaction.
DISPATCH_BATCH = env.integer("NOTIFICATIONS_DISPATCH_BATCH", 500)

if STUCK_AFTER <= SEND_TIME_LIMIT:
    raise ImproperlyConfigured(
        "NOTIFICATIONS_STUCK_AFTER must exceed NOTIFICATIONS_SEND_TIME_LIMIT."
    )
if SEND_TIME_LIMIT >= settings.CELERY_BROKER_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "NOTIFICATIONS_SEND_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT."
    )
