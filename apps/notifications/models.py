"""The reminder outbox (提醒) and the in-app inbox (站内信).

A `Reminder` is one thing to tell one person: its unique key is (rule, subject, recipient,
occurrence), so writing it twice is a no-op (INSERT ... ON CONFLICT DO NOTHING). Each reminder
has one `Delivery` per channel (inbox, email, SMS) with its own small state machine:

    pending --dispatcher--> queued --task claims--> sending --> sent
       |                      |                        |---> pending (held: quiet hours / retry)
       +--> withdrawn <-------+                        +---> failed (attempts exhausted)

`DeliveryAttempt` records every try (who, when, outcome): it is the evidence the chaos proof
counts and the idempotency key (the delivery id) handed to external providers. An `InboxItem`
is written in the same transaction that marks its delivery sent, and is unique per delivery,
so the inbox is exactly-once. See docs/architecture.md "Reminder outbox".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    INBOX = "inbox", "站内信"
    EMAIL = "email", "邮件"
    SMS = "sms", "短信"


class ReminderState(models.TextChoices):
    ACTIVE = "active", "有效"
    WITHDRAWN = "withdrawn", "已撤回"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "待发送"
    QUEUED = "queued", "排队中"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    WITHDRAWN = "withdrawn", "已撤回"
    FAILED = "failed", "发送失败"


OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.QUEUED)


class Reminder(models.Model):
    rule = models.CharField("提醒规则", max_length=64)
    subject_type = models.CharField("事项类型", max_length=48)
    subject_id = models.BigIntegerField("事项编号")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    occurrence = models.CharField(
        "期次", max_length=64, help_text="期间或发生时点，如 2026-Q3、2026-09-30"
    )
    org = models.ForeignKey(
        "organizations.Org",
        verbose_name="党组织",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    level = models.CharField("级别", max_length=16, default="info")  # info / warning / danger
    due_at = models.DateTimeField("提醒时间")
    state = models.CharField(
        "状态", max_length=16, choices=ReminderState.choices, default=ReminderState.ACTIVE
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_reason = models.CharField("撤回原因", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "提醒"
        verbose_name_plural = "提醒"
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id", "recipient", "occurrence"],
                name="reminder_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="reminder_subject_idx")]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id}"


class Delivery(models.Model):
    reminder = models.ForeignKey(
        Reminder, verbose_name="提醒", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField("渠道", max_length=8, choices=Channel.choices)
    state = models.CharField(
        "状态", max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField("最早发送时间")
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    queued_at = models.DateTimeField("入队时间", null=True, blank=True)
    sending_since = models.DateTimeField("开始发送时间", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=300, blank=True)

    class Meta:
        verbose_name = "投递"
        verbose_name_plural = "投递"
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "channel"], name="delivery_per_channel_unique"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="delivery_sent_has_time"
            ),
        ]
        indexes = [
            # The dispatcher's scan: due pending rows only (a small partial index).
            models.Index(
                fields=["due_at"], condition=Q(state="pending"), name="delivery_pending_due_idx"
            ),
            # The stuck-row sweeper's scan.
            models.Index(
                fields=["state", "queued_at"],
                condition=Q(state__in=["queued", "sending"]),
                name="delivery_inflight_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} {self.state}"


class AttemptOutcome(models.TextChoices):
    STARTED = "started", "发送中（结果未知）"
    SENT = "sent", "已发送"
    HELD = "held", "暂缓（免打扰时段）"
    FAILED = "failed", "失败"


class DeliveryAttempt(models.Model):
    """One try at sending one delivery. `started` rows with no outcome after a crash are the
    at-least-once window of external channels; see docs/architecture.md."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField("第几次")
    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    outcome = models.CharField(
        "结果", max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.STARTED
    )
    worker = models.CharField("执行进程", max_length=120, blank=True)
    error = models.CharField("错误", max_length=300, blank=True)

    class Meta:
        verbose_name = "投递尝试"
        verbose_name_plural = "投递尝试"
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.outcome}"


class InboxItem(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        on_delete=models.CASCADE,
        related_name="inbox_items",
    )
    delivery = models.OneToOneField(
        Delivery,
        verbose_name="投递",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbox_item",
    )
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    level = models.CharField("级别", max_length=16, default="info")
    created_at = models.DateTimeField("时间")
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内信"
        verbose_name_plural = "站内信"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="inbox_user_recent_idx"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="inbox_user_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Preference(models.Model):
    """Whether a user receives reminders on a channel. No row = the channel's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    channel = models.CharField("渠道", max_length=8, choices=Channel.choices)
    enabled = models.BooleanField("接收", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "通知偏好"
        verbose_name_plural = "通知偏好"
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.channel} {'on' if self.enabled else 'off'}"
