"""Celery tasks: thin wrappers that take ids and call a service (STYLE.md #8).

The periodic ones are declared in config/celery.py ("# --- notifications ---"). `deliver` runs
with acks_late + reject_on_worker_lost (settings) and a short time limit of its own, far below
the broker's visibility timeout; it is never scheduled with an ETA or countdown: due times live
in the database and the dispatcher queues a row only when it is due.
"""

from __future__ import annotations

from celery import shared_task

from apps.notifications import conf, services


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=conf.SEND_SOFT_TIME_LIMIT,
    time_limit=conf.SEND_TIME_LIMIT,
)
def deliver(delivery_id: int) -> str:
    """Send one delivery (idempotent: a second run finds the row no longer queued)."""
    return services.delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def dispatch() -> int:
    """Every minute: queue the deliveries that are due."""
    return services.deliveries_dispatch()


@shared_task(ignore_result=True)
def requeue_stuck() -> int:
    """Every minute: re-queue deliveries stuck in queued/sending (lost message, killed worker)."""
    return services.deliveries_requeue_stuck()


@shared_task(ignore_result=True)
def sweep() -> int:
    """Every few minutes: fan out one task per rule, so one failing rule never blocks the rest."""
    from apps.notifications.rules import rules_on

    keys = rules_on("sweep")
    for key in keys:
        sweep_rule.delay(key)
    return len(keys)


@shared_task(ignore_result=True)
def sweep_compliance() -> int:
    """Hourly: the compliance rules (they read every branch's meeting rollup), one task each."""
    from apps.notifications.rules import rules_on

    keys = rules_on("compliance")
    for key in keys:
        sweep_rule.delay(key)
    return len(keys)


@shared_task(ignore_result=True)
def sweep_rule(rule_key: str) -> int:
    return services.reminders_sweep(rule_key=rule_key)
