"""The Celery application and every periodic job (the one beat schedule).

Periodic jobs are sweepers: each finds due rows and fans out one task per row, so that one
failure never blocks the rest (STYLE.md #9). Run exactly one beat process.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dangjian")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job of the platform, in Asia/Shanghai time.
app.conf.beat_schedule = {}


def beat(name: str, task: str, schedule, **options) -> None:
    """Declare one periodic job. Apps add theirs below, in this file only."""
    app.conf.beat_schedule[name] = {"task": task, "schedule": schedule, "options": options}


# --- organizations ---
# --- members ---
beat("members-daily-sweep", "apps.members.tasks.members_daily_sweep", crontab(hour=2, minute=10))
# --- meetings ---
beat("meetings-org-stats-refresh", "meetings.org_stats_refresh_due", crontab(minute="*/5"))
# --- notifications ---
# The reminder outbox (apps/notifications): queue due deliveries, recover stuck ones, evaluate
# the reminder rules. All three are idempotent; see docs/architecture.md "Reminder outbox".
beat("notifications.dispatch", "apps.notifications.tasks.dispatch", 60.0)
beat("notifications.requeue_stuck", "apps.notifications.tasks.requeue_stuck", 60.0)
beat("notifications.sweep", "apps.notifications.tasks.sweep", 300.0)
# 三会一课 compliance reminders (7 days before a period ends, overdue, escalated): hourly, from
# the meetings rollups.
beat("notifications.compliance", "apps.notifications.tasks.sweep_compliance", crontab(minute=7))
# --- assessments ---
# Nightly: recompute the automatic scores of open cycles (stores only what changed) and the
# 软弱涣散 candidate screening per tree root (replaces the stored list); after the members sweep.
beat("assessments-nightly", "assessments.nightly_sweep", crontab(hour=2, minute=40))
# --- reports ---
# Dashboard member rollup: every 15 minutes (one INSERT … SELECT, see docs/architecture.md).
beat("dashboards-refresh-member-stats", "dashboards.refresh_member_stats", crontab(minute="*/15"))
# Quarterly reports: daily sweep; builds the closed quarter's reports on rule day reports.build_day.
beat("reports-quarterly-sweep", "reports.quarterly_sweep", crontab(hour=2, minute=30))
# Report jobs whose task was lost (killed worker, broker restart, interrupted fan-out) are
# published again; the task claims its row, so a second message does nothing.
beat("reports-jobs-sweep", "reports.jobs_sweep", 600.0)
_ = crontab  # used by the declarations above as apps add them
