"""Writes of the reminder outbox: create reminders (idempotent), withdraw them, dispatch due
deliveries, send one delivery, re-queue stuck ones; inbox read marks and preferences.

The delivery protocol (docs/architecture.md "Reminder outbox"):
1. `reminders_upsert` writes Reminder rows keyed by (rule, subject, recipient, occurrence) with
   INSERT ... ON CONFLICT DO NOTHING, and one Delivery per channel for the rows it inserted.
2. `deliveries_dispatch` (beat, every minute) claims due `pending` rows with
   SELECT ... FOR UPDATE SKIP LOCKED, marks them `queued` and queues one task per row on commit.
3. `delivery_send` (the task) claims `queued → sending` with a conditional UPDATE that must touch
   exactly one row, sends, then `sending → sent`. The inbox channel does all of it in ONE
   transaction with the InboxItem insert, so it is exactly-once; email/SMS are at-least-once
   with a window of one provider call (see `_send_external`).
4. `deliveries_requeue_stuck` (beat) re-queues rows left `queued` or `sending` by a lost
   message, a restarted broker or a killed worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.core.periods import SHANGHAI, local_midnight
from apps.core.rules import rule_value
from apps.notifications import conf
from apps.notifications.models import (
    OPEN_DELIVERY_STATES,
    AttemptOutcome,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    InboxItem,
    Preference,
    Reminder,
    ReminderState,
)
from apps.notifications.sms import sms_backend

logger = logging.getLogger("apps.notifications")

INFLIGHT_STATES = (DeliveryState.QUEUED, DeliveryState.SENDING)
CHANNEL_DEFAULTS = {Channel.INBOX: True, Channel.EMAIL: True, Channel.SMS: True}


@dataclass(frozen=True)
class Due:
    """One reminder a rule wants to exist: the same Due written twice is one row."""

    rule: str
    subject_type: str
    subject_id: int
    occurrence: str
    recipient_ids: tuple[int, ...]
    due_at: dt.datetime
    title: str
    body: str = ""
    url: str = ""
    org_id: int | None = None
    level: str = "info"
    channels: tuple[str, ...] = field(default=(Channel.INBOX,))


def subject_of(obj) -> tuple[str, int]:
    """(subject_type, subject_id) of a model instance, e.g. ("meetings.meeting", 12)."""
    return obj._meta.label_lower, obj.pk


# --- quiet hours ------------------------------------------------------------------------------


def sms_release_time(at: dt.datetime) -> dt.datetime:
    """`at` itself when SMS may be sent then; otherwise the end of the quiet hours (held until
    morning, not dropped). Quiet hours are rule parameters, 22:00-07:00 by default."""
    start = int(rule_value("notifications.sms_quiet_start_hour"))
    end = int(rule_value("notifications.sms_quiet_end_hour"))
    if start == end:
        return at
    local = at.astimezone(SHANGHAI)
    hour = local.hour
    quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return at
    day = local.date()
    if start > end and hour >= start:
        day += dt.timedelta(days=1)
    return local_midnight(day) + dt.timedelta(hours=end)


# --- writing reminders ------------------------------------------------------------------------


def _enabled_channels(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """Channels each user can and wants to receive on (preference, and an address on file)."""
    ids = set(user_ids)
    prefs = {(p.user_id, p.channel): p.enabled for p in Preference.objects.filter(user_id__in=ids)}
    result: dict[int, set[str]] = {}
    for user_id, email, phone_hash in User.objects.filter(pk__in=ids, is_active=True).values_list(
        "pk", "email", "phone_hash"
    ):
        channels = {Channel.INBOX.value}
        if email and prefs.get((user_id, Channel.EMAIL), CHANNEL_DEFAULTS[Channel.EMAIL]):
            channels.add(Channel.EMAIL.value)
        if phone_hash and prefs.get((user_id, Channel.SMS), CHANNEL_DEFAULTS[Channel.SMS]):
            channels.add(Channel.SMS.value)
        result[user_id] = channels
    return result


_INSERT_REMINDERS = """
INSERT INTO notifications_reminder
    (rule, subject_type, subject_id, recipient_id, occurrence, org_id, title, body, url, level,
     due_at, state, withdrawn_reason, created_at)
SELECT r.rule, r.subject_type, r.subject_id, r.recipient_id, r.occurrence, r.org_id, r.title,
       r.body, r.url, r.level, r.due_at, 'active', '', now()
FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[], %s::bigint[],
            %s::varchar[], %s::text[], %s::varchar[], %s::varchar[], %s::timestamptz[])
     AS r(rule, subject_type, subject_id, recipient_id, occurrence, org_id, title, body, url,
          level, due_at)
ON CONFLICT ON CONSTRAINT reminder_key_unique DO NOTHING
RETURNING id, rule, subject_type, subject_id, recipient_id, occurrence
"""


@transaction.atomic
def reminders_upsert(*, dues: Iterable[Due]) -> list[int]:
    """Create the reminders that do not exist yet and their deliveries; return the new ids.

    Idempotent: a Due whose key exists is skipped by the database (ON CONFLICT DO NOTHING),
    so sweepers may run as often as they like and concurrently. Call it inside the transaction
    that makes the reminder due, or from a sweeper."""
    rows: list[tuple] = []
    wanted: dict[tuple, tuple[Due, dt.datetime]] = {}
    for due in dues:
        for recipient_id in dict.fromkeys(due.recipient_ids):
            key = (
                due.rule,
                due.subject_type,
                int(due.subject_id),
                int(recipient_id),
                due.occurrence,
            )
            if key in wanted:
                continue
            wanted[key] = (due, due.due_at)
            rows.append(
                (*key, due.org_id, due.title[:200], due.body, due.url[:300], due.level, due.due_at)
            )
    if not rows:
        return []
    created: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            cursor.execute(_INSERT_REMINDERS, [list(col) for col in zip(*chunk, strict=True)])
            created.extend(cursor.fetchall())
    if not created:
        return []
    channels_of = _enabled_channels({row[4] for row in created})
    deliveries = []
    for reminder_id, *key in created:
        due, due_at = wanted[tuple(key)]
        for channel in due.channels:
            if channel not in channels_of.get(key[3], ()):
                continue
            at = sms_release_time(due_at) if channel == Channel.SMS else due_at
            deliveries.append(Delivery(reminder_id=reminder_id, channel=channel, due_at=at))
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return [row[0] for row in created]


@transaction.atomic
def reminders_withdraw(
    *,
    subject=None,
    subject_type: str = "",
    subject_id: int | None = None,
    rules: Iterable[str] | None = None,
    keep_occurrences: Iterable[str] = (),
    reason: str = "",
) -> int:
    """Withdraw the reminders of a subject that has changed (meeting moved or cancelled, dues
    paid...): deliveries not yet being sent become `withdrawn` and are never sent. Returns the
    number of deliveries withdrawn. Call it in the transaction that changes the subject."""
    if subject is not None:
        subject_type, subject_id = subject_of(subject)
    reminders = Reminder.objects.filter(
        subject_type=subject_type, subject_id=subject_id, state=ReminderState.ACTIVE
    ).exclude(occurrence__in=list(keep_occurrences))
    if rules is not None:
        reminders = reminders.filter(rule__in=list(rules))
    return reminders_withdraw_ids(list(reminders.values_list("pk", flat=True)), reason=reason)


@transaction.atomic
def reminders_withdraw_ids(ids: list[int], *, reason: str) -> int:
    """Withdraw these reminders (see `reminders_withdraw`)."""
    if not ids:
        return 0
    now = timezone.now()
    withdrawn = Delivery.objects.filter(reminder_id__in=ids, state__in=OPEN_DELIVERY_STATES).update(
        state=DeliveryState.WITHDRAWN, last_error=(reason or "事项已变更")[:300]
    )
    # Reminders already delivered on some channel stay active (they are history).
    Reminder.objects.filter(pk__in=ids).exclude(deliveries__state=DeliveryState.SENT).update(
        state=ReminderState.WITHDRAWN,
        withdrawn_at=now,
        withdrawn_reason=(reason or "事项已变更")[:200],
    )
    return withdrawn


@transaction.atomic
def reminders_sync(
    *, subject_type: str, subject_id: int, rules: Iterable[str], dues: Iterable[Due], reason: str
) -> tuple[int, int]:
    """Make the subject's reminders under `rules` what `dues` says they should be now, in the
    caller's transaction (a meeting planned, moved, cancelled, recorded ...):

    - active reminders that are no longer wanted are withdrawn (their unsent deliveries never go
      out; what was already sent stays as history);
    - wanted reminders that exist but were withdrawn come back (a meeting moved away and back
      again), with their withdrawn deliveries pending again at the new due time;
    - the missing ones are inserted (`reminders_upsert`).

    Returns (created, withdrawn deliveries). Idempotent: a second call with the same dues does
    nothing."""
    dues = list(dues)
    wanted: dict[tuple[str, int, str], Due] = {}
    for due in dues:
        for recipient_id in due.recipient_ids:
            wanted.setdefault((due.rule, int(recipient_id), due.occurrence), due)
    stale, revive = [], []
    for pk, rule, recipient_id, occurrence, state in Reminder.objects.filter(
        subject_type=subject_type, subject_id=subject_id, rule__in=list(rules)
    ).values_list("pk", "rule", "recipient_id", "occurrence", "state"):
        key = (rule, recipient_id, occurrence)
        if key not in wanted:
            if state == ReminderState.ACTIVE:
                stale.append(pk)
        elif state == ReminderState.WITHDRAWN:
            revive.append((pk, wanted[key]))
    withdrawn = reminders_withdraw_ids(stale, reason=reason)
    for pk, due in revive:
        Reminder.objects.filter(pk=pk).update(
            state=ReminderState.ACTIVE,
            withdrawn_at=None,
            withdrawn_reason="",
            due_at=due.due_at,
            title=due.title[:200],
            body=due.body,
            url=due.url[:300],
        )
        for delivery in Delivery.objects.filter(reminder_id=pk, state=DeliveryState.WITHDRAWN):
            at = sms_release_time(due.due_at) if delivery.channel == Channel.SMS else due.due_at
            Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.WITHDRAWN).update(
                state=DeliveryState.PENDING, due_at=at, queued_at=None, last_error=""
            )
    created = reminders_upsert(dues=dues)
    return len(created) + len(revive), withdrawn


# --- dispatching and sending ----------------------------------------------------------------


def _queue(ids: list[int]) -> None:
    from apps.notifications.tasks import deliver

    for delivery_id in ids:
        deliver.apply_async_on_commit((delivery_id,), queue=conf.QUEUE)


def deliveries_dispatch(*, now: dt.datetime | None = None, batch: int | None = None) -> int:
    """Claim due pending deliveries (FOR UPDATE SKIP LOCKED, so several dispatchers never take
    the same row), mark them queued, and queue one send task per row when the claim commits.
    At most NOTIFICATIONS_MAX_IN_FLIGHT rows are queued or sending at any time (back-pressure)."""
    now = now or timezone.now()
    batch = batch or conf.DISPATCH_BATCH
    room = conf.MAX_IN_FLIGHT - Delivery.objects.filter(state__in=INFLIGHT_STATES).count()
    total = 0
    while room > 0:
        with transaction.atomic():
            ids = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(state=DeliveryState.PENDING, due_at__lte=now)
                .order_by("due_at", "pk")
                .values_list("pk", flat=True)[: min(batch, room)]
            )
            if not ids:
                return total
            Delivery.objects.filter(pk__in=ids, state=DeliveryState.PENDING).update(
                state=DeliveryState.QUEUED, queued_at=now
            )
            _queue(ids)
        total += len(ids)
        room -= len(ids)
        if len(ids) < batch:
            return total
    return total


def deliveries_requeue_stuck(
    *, now: dt.datetime | None = None, older_than: int | None = None
) -> int:
    """Re-queue deliveries stuck in `queued` for NOTIFICATIONS_STUCK_QUEUED_AFTER seconds
    (message lost: broker restarted, publisher died after commit) or in `sending` for
    NOTIFICATIONS_STUCK_AFTER seconds (worker killed mid-send)."""
    now = now or timezone.now()
    sending_cutoff = now - dt.timedelta(
        seconds=older_than if older_than is not None else conf.STUCK_AFTER
    )
    queued_cutoff = now - dt.timedelta(
        seconds=older_than if older_than is not None else conf.STUCK_QUEUED_AFTER
    )
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(
                    Q(state=DeliveryState.QUEUED, queued_at__lt=queued_cutoff)
                    | Q(state=DeliveryState.SENDING, sending_since__lt=sending_cutoff)
                )
                .order_by("pk")
                .values_list("pk", flat=True)[: conf.DISPATCH_BATCH]
            )
            if not ids:
                return total
            Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.QUEUED, queued_at=now)
            _queue(ids)
        total += len(ids)
        if len(ids) < conf.DISPATCH_BATCH:
            return total


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(delivery_id: int, now: dt.datetime) -> int | None:
    """queued → sending. Returns the attempt number for the one caller whose conditional UPDATE
    touched the row; None for everybody else (the row was not queued any more)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_delivery"
            " SET state = %s, sending_since = %s, attempts = attempts + 1"
            " WHERE id = %s AND state = %s RETURNING attempts",
            [DeliveryState.SENDING, now, delivery_id, DeliveryState.QUEUED],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery. Safe to run any number of times for the same id: only a caller that
    moves the row from `queued` to `sending` sends. Returns what happened (for logs/tests)."""
    from apps.notifications.rules import reminder_still_valid

    delivery = Delivery.objects.select_related("reminder").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != DeliveryState.QUEUED:
        return "skipped"
    if not reminder_still_valid(delivery.reminder):
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.QUEUED).update(
            state=DeliveryState.WITHDRAWN, last_error="事项已变化，提醒不再适用"
        )
        return "withdrawn"
    if delivery.channel == Channel.INBOX:
        return _send_inbox(delivery)
    return _send_external(delivery)


def _send_inbox(delivery: Delivery) -> str:
    """Claim, write the inbox item, record the attempt and mark sent in ONE transaction: a crash
    anywhere rolls all of it back (the row stays queued and is sent again), so each inbox
    delivery appears exactly once."""
    now = timezone.now()
    reminder = delivery.reminder
    with transaction.atomic():
        number = _claim(delivery.pk, now)
        if number is None:
            return "skipped"
        InboxItem.objects.create(
            user_id=reminder.recipient_id,
            delivery_id=delivery.pk,
            title=reminder.title,
            body=reminder.body,
            url=reminder.url,
            level=reminder.level,
            created_at=now,
        )
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            started_at=now,
            finished_at=now,
            outcome=AttemptOutcome.SENT,
            worker=_worker_name(),
        )
        marked = Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
            state=DeliveryState.SENT, sent_at=now
        )
        if marked != 1:  # cannot happen while we hold the row lock; refuse to commit if it does
            raise RuntimeError(f"delivery {delivery.pk} changed under its sender")
    return "sent"


def _external_target(delivery: Delivery) -> str:
    """The address to send to, read (and for SMS decrypted) only now, at send time."""
    user = User.objects.filter(pk=delivery.reminder.recipient_id, is_active=True)
    if delivery.channel == Channel.EMAIL:
        return user.values_list("email", flat=True).first() or ""
    return user.values_list("phone", flat=True).first() or ""


def _channel_allowed(delivery: Delivery) -> bool:
    allowed = _enabled_channels([delivery.reminder.recipient_id]).get(
        delivery.reminder.recipient_id, set()
    )
    return delivery.channel in allowed


def _send_external(delivery: Delivery) -> str:
    """Email / SMS: at-least-once. The claim (queued → sending) and an attempt record commit
    before the provider call; the sent mark commits right after it. Only a crash inside that
    window (one provider round trip) can lead to a second send after the stuck sweeper re-queues
    the row; the provider gets the delivery id as idempotency key / Message-ID to drop it."""
    now = timezone.now()
    reminder = delivery.reminder
    if not _channel_allowed(delivery):
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.QUEUED).update(
            state=DeliveryState.WITHDRAWN, last_error="接收人已关闭该渠道或未登记联系方式"
        )
        return "withdrawn"
    if delivery.channel == Channel.SMS:
        release = sms_release_time(now)
        if release > now:  # quiet hours: hold until morning, not dropped
            Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.QUEUED).update(
                state=DeliveryState.PENDING, due_at=release, queued_at=None
            )
            return "held"
    number = _claim(delivery.pk, now)
    if number is None:
        return "skipped"
    attempt = DeliveryAttempt.objects.create(
        delivery_id=delivery.pk, number=number, started_at=now, worker=_worker_name()
    )
    key = f"dj-delivery-{delivery.pk}"
    try:
        target = _external_target(delivery)
        if not target:
            raise ValidationError("未登记联系方式")
        text = _text_of(reminder)
        if delivery.channel == Channel.EMAIL:
            EmailMessage(
                subject=f"[基层党建] {reminder.title}",
                body=text,
                to=[target],
                headers={"Message-ID": f"<{key}@dangjian>", "X-Idempotency-Key": key},
            ).send()
        else:
            sms_backend().send(target, text, idempotency_key=key)
    except Exception as exc:
        _attempt_failed(delivery, attempt, number, exc)
        return "failed"
    with transaction.atomic():
        finished = timezone.now()
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
            state=DeliveryState.SENT, sent_at=finished, last_error=""
        )
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=AttemptOutcome.SENT, finished_at=finished
        )
    return "sent"


def _text_of(reminder: Reminder) -> str:
    text = reminder.title if not reminder.body else f"{reminder.title}：{reminder.body}"
    if reminder.url:
        text += f" {settings.SITE_URL.rstrip('/')}{reminder.url}"
    return text


def _attempt_failed(
    delivery: Delivery, attempt: DeliveryAttempt, number: int, exc: Exception
) -> None:
    message = (str(exc) or exc.__class__.__name__)[:300]
    logger.warning(
        "delivery %s (%s) attempt %s failed: %s", delivery.pk, delivery.channel, number, message
    )
    now = timezone.now()
    max_attempts = int(rule_value("notifications.max_attempts"))
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=AttemptOutcome.FAILED, finished_at=now, error=message
        )
        if number >= max_attempts:
            Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
                state=DeliveryState.FAILED, last_error=message
            )
        else:
            retry_at = now + dt.timedelta(minutes=5 * number)
            if delivery.channel == Channel.SMS:
                retry_at = sms_release_time(retry_at)
            Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
                state=DeliveryState.PENDING,
                due_at=retry_at,
                queued_at=None,
                sending_since=None,
                last_error=message,
            )


# --- inbox and preferences ------------------------------------------------------------------


def inbox_mark_read(*, user, item_id: int) -> InboxItem:
    """Mark one of the user's own inbox items read (another user's item is a 404)."""
    from django.http import Http404

    item = InboxItem.objects.filter(pk=item_id, user=user).first()
    if item is None:
        raise Http404("未找到。")
    if item.read_at is None:
        InboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=timezone.now())
        item.refresh_from_db(fields=["read_at"])
    return item


def inbox_mark_all_read(*, user) -> int:
    return InboxItem.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user, values: dict[str, bool]) -> dict[str, bool]:
    """Set the user's channel preferences. The inbox cannot be switched off: it is the record."""
    unknown = set(values) - set(Channel.values)
    if unknown:
        raise ValidationError({"channel": [f"未知的通知渠道：{', '.join(sorted(unknown))}"]})
    if values.get(Channel.INBOX) is False:
        raise ValidationError({Channel.INBOX.value: ["站内信是提醒的留存记录，不能关闭。"]})
    if values.get(Channel.SMS) and not user.phone_hash:
        raise ValidationError({Channel.SMS.value: ["尚未登记手机号，无法接收短信。"]})
    if values.get(Channel.EMAIL) and not user.email:
        raise ValidationError({Channel.EMAIL.value: ["尚未登记电子邮箱，无法接收邮件。"]})
    for channel, enabled in values.items():
        if channel == Channel.INBOX:
            continue
        Preference.objects.update_or_create(
            user=user, channel=channel, defaults={"enabled": bool(enabled)}
        )
    from apps.notifications.selectors import preferences_of

    return preferences_of(user=user)


# --- sweeping the rules ---------------------------------------------------------------------


def reminders_sweep(*, rule_key: str, now: dt.datetime | None = None) -> int:
    """Evaluate one rule at `now` and write the reminders it wants (idempotent). Returns the
    number of reminders created."""
    from apps.notifications.rules import RULES

    rule = RULES[rule_key]
    if rule.collect is None:
        return 0
    return len(reminders_upsert(dues=list(rule.collect(now or timezone.now()))))
