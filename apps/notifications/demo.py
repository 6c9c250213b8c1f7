"""Demo data for notifications (seed_demo step `notifications.seed`).

- A few inbox items for the demo sign-ins (a welcome note, some older read ones), so the bell
  shows a count on first sign-in.
- Every reminder rule is swept once, so the reminders the demo data calls for (terms expiring,
  probation ending, dues in arrears, ...) exist as `pending` rows, due now. Nothing is sent here:
  in `make run` the beat's dispatcher (every minute) queues them and the worker delivers them,
  and the sweeper (every 5 minutes) keeps adding reminders as meetings and deadlines fall due,
  so a secretary's inbox fills while the demo runs.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.notifications.models import InboxItem
from apps.notifications.rules import RULES
from apps.notifications.services import reminders_sweep

DEMO_USERNAMES = ("admin", "zuzhibu", "shuji", "zhiwei", "dangyuan")


def seed(ctx) -> None:
    users = list(User.objects.filter(username__in=DEMO_USERNAMES))
    now = timezone.now()
    items = []
    for user in users:
        items.append(
            InboxItem(
                user=user,
                title="欢迎使用基层党建工作管理平台",
                body="各类提醒会出现在这里；可在“通知设置”中选择是否同时接收邮件、短信。",
                url=reverse("notifications:preferences"),
                created_at=now - dt.timedelta(hours=1),
            )
        )
        items.append(
            InboxItem(
                user=user,
                title="平台已完成上线前数据导入",
                body="组织、党员与历史会议数据已导入，请核对本组织信息。",
                created_at=now - dt.timedelta(days=ctx.rng.randint(3, 10)),
                read_at=now - dt.timedelta(days=2),
            )
        )
    InboxItem.objects.bulk_create(items)
    created = 0
    for key, rule in RULES.items():
        if rule.collect is not None:
            created += reminders_sweep(rule_key=key, now=now)
    ctx.log(f"  notifications.seed: {len(items)} inbox items, {created} reminders due for delivery")
