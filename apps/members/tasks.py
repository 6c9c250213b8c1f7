"""Member sweepers: each finds due rows and creates prompt rows idempotently (unique open
PendingItem per member and kind), so running twice does no harm."""

from __future__ import annotations

from celery import shared_task

from apps.members import services


@shared_task
def members_daily_sweep() -> dict:
    return {
        "lifecycle_prompts": services.lifecycle_prompts_sweep(),
        "dues_arrears": services.dues_arrears_sweep(),
        "transfers_expired": services.transfer_expire_sweep(),
    }
