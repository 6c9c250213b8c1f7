"""Operational settings of the reminder outbox (environment, not rule parameters: they are
about the machinery, not about party rules). See docs/operations.md."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config import env

# Hard time limit of one send task (seconds). Far below the broker visibility timeout.
SEND_TIME_LIMIT = env.integer("NOTIFICATIONS_SEND_TIME_LIMIT", 60)
SEND_SOFT_TIME_LIMIT = max(1, SEND_TIME_LIMIT - 10)
# A delivery still `sending` this long after a worker claimed it is re-queued by the sweeper
# (the worker died mid-send). Must exceed the send time limit, so a live send is never re-queued.
STUCK_AFTER = env.integer("NOTIFICATIONS_STUCK_AFTER", 300)
# A delivery still `queued` this long is re-published (its message was lost: broker restarted
# without persistence, publisher died after commit). Longer than the time a healthy backlog of
# MAX_IN_FLIGHT rows takes to drain, or healthy rows get published twice (harmless but wasteful).
STUCK_QUEUED_AFTER = env.integer("NOTIFICATIONS_STUCK_QUEUED_AFTER", 900)
# The Celery queue the send tasks go to (workers consume the default queue "celery").
QUEUE = env.string("NOTIFICATIONS_QUEUE", "celery")
# Back-pressure: the dispatcher keeps at most this many deliveries queued or sending, so the
# broker never holds a backlog older than STUCK_QUEUED_AFTER (re-published needlessly).
MAX_IN_FLIGHT = env.integer("NOTIFICATIONS_MAX_IN_FLIGHT", 5_000)
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
