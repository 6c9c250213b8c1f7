"""Demo data for notifications (seed_demo step `notifications.seed`).

- A few inbox items for the demo sign-ins (a welcome note, some older read ones), so the bell
  shows a count on first sign-in.
- The secretary's branch (sign-in `shuji`) plans a handful of meetings through the meetings
  service, timed so that their reminders fall due during the first half hour of `make run`
  (the 2-hour reminder of meetings starting in 2 h 3 min, 2 h 10 min ...; the day-before
  reminder of meetings starting in 24 h 6 min ...), plus one held two days ago and still
  unrecorded: the inbox fills while the demo runs.
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
from apps.core.periods import local_date, local_midnight
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
    planned = _plan_upcoming_meetings(ctx, now)
    created = 0
    for key, rule in RULES.items():
        if rule.collect is not None:
            created += reminders_sweep(rule_key=key, now=now)
    ctx.log(
        f"  notifications.seed: {len(items)} inbox items, {planned} meetings planned to fall due "
        f"during the demo, {created} reminders due for delivery"
    )


# (minutes after the seed at which a reminder falls due, lead hours, kinds, title)
UPCOMING = [
    (3, 2, ["committee_meeting"], "支委会：研究本月党员发展和党费收缴工作"),
    (6, 24, ["theme_day"], "主题党日：学习贯彻党的二十届四中全会精神"),
    (10, 2, ["group_meeting"], "党小组学习：《中国共产党支部工作条例》"),
    (18, 24, ["general_meeting", "party_lecture"], "支部党员大会暨专题党课"),
    (25, 2, ["theme_day"], "主题党日：志愿服务进社区"),
    (40, 24, ["talk"], "支委与党员谈心谈话"),
]


def _plan_upcoming_meetings(ctx, now: dt.datetime) -> int:
    """Meetings of the demo secretary's branch whose reminders fall due minutes after the seed."""
    from apps.accounts.models import Role, RoleGrant
    from apps.meetings.models import Meeting
    from apps.meetings.services import meeting_plan
    from apps.notifications.rules import reminders_meeting_sync
    from apps.organizations.models import Org, OrgType

    grant = (
        RoleGrant.objects.filter(user__username="shuji", role=Role.SECRETARY)
        .select_related("user", "org")
        .first()
    )
    if grant is None:
        return 0
    branch, actor = grant.org, grant.user
    group = Org.objects.filter(
        parent=branch, org_type=OrgType.PARTY_GROUP, abolished_on__isnull=True
    ).first()
    count = 0
    for minutes, lead, kinds, title in UPCOMING:
        if "group_meeting" in kinds and group is None:
            kinds = ["theme_day"]
        starts = now + dt.timedelta(hours=lead, minutes=minutes)
        starts = starts.replace(second=0, microsecond=0)
        meeting_plan(
            actor=actor,
            branch=branch,
            kinds=kinds,
            title=title,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1, minutes=30),
            place="党群服务中心会议室",
            party_group=group if "group_meeting" in kinds else None,
        )
        count += 1
    # Held two days ago as planned, never recorded: the host (here the secretary) is reminded.
    held = local_midnight(local_date(now) - dt.timedelta(days=2)) + dt.timedelta(hours=15)
    meeting = meeting_plan(
        actor=actor,
        branch=branch,
        kinds=["theme_day"],
        title="主题党日：重温入党誓词",
        starts_at=held,
        ends_at=held + dt.timedelta(hours=1),
        place="村党员活动室",
        unplanned_reason="",
    )
    Meeting.objects.filter(pk=meeting.pk).update(planned_at=held - dt.timedelta(days=10))
    reminders_meeting_sync(meeting_id=meeting.pk, event="planned")
    return count + 1
