"""The delivery protocol: idempotent writes, claims, exactly-once inbox, quiet hours, retries,
stuck rows, withdrawal, preferences."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from apps.core.periods import SHANGHAI
from apps.notifications import services
from apps.notifications.models import (
    AttemptOutcome,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    InboxItem,
    Reminder,
    ReminderState,
)
from apps.notifications.services import (
    Due,
    deliveries_dispatch,
    deliveries_requeue_stuck,
    reminders_upsert,
)
from tests.notifications.conftest import drain

pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def due(
    user,
    *,
    rule="test.rule",
    subject_id=1,
    occurrence="2026-Q1",
    when=None,
    channels=(Channel.INBOX,),
):
    return Due(
        rule=rule,
        subject_type="organizations.org",
        subject_id=subject_id,
        occurrence=occurrence,
        recipient_ids=(user.pk,),
        due_at=when or at(2026, 3, 1, 9),
        title="测试提醒",
        body="内容",
        url="/x/",
        channels=channels,
    )


@pytest.fixture
def reachable(users):
    """The secretary with an email address and a phone number."""
    user = users.secretary
    user.email = "sec@example.org"
    user.set_phone("13812345678")
    user.save()
    return user


def test_upsert_is_idempotent_on_the_reminder_key(users):
    first = reminders_upsert(dues=[due(users.secretary)])
    again = reminders_upsert(dues=[due(users.secretary), due(users.secretary)])
    assert len(first) == 1 and again == []
    assert Reminder.objects.count() == 1 and Delivery.objects.count() == 1
    # A different occurrence (next quarter) is a new reminder.
    assert len(reminders_upsert(dues=[due(users.secretary, occurrence="2026-Q2")])) == 1


def test_upsert_creates_one_delivery_per_reachable_channel(users, reachable):
    reminders_upsert(dues=[due(reachable, channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS))])
    reminders_upsert(
        dues=[due(users.committee, channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS))]
    )
    by_user = {
        user: sorted(
            Delivery.objects.filter(reminder__recipient=user).values_list("channel", flat=True)
        )
        for user in (reachable, users.committee)
    }
    assert by_user[reachable] == ["email", "inbox", "sms"]
    assert by_user[users.committee] == ["inbox"]  # no address on file: inbox only


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_dispatch_claims_only_due_rows_once(users, queued):
    reminders_upsert(
        dues=[
            due(users.secretary),
            due(users.secretary, occurrence="later", when=at(2026, 3, 1, 10)),
        ]
    )
    assert deliveries_dispatch() == 1
    assert deliveries_dispatch() == 0  # running the dispatcher twice queues nothing twice
    assert len(queued) == 1
    assert Delivery.objects.get(pk=queued[0]).state == DeliveryState.QUEUED


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_inbox_delivery_is_sent_once_even_if_the_task_runs_twice(users, queued):
    reminders_upsert(dues=[due(users.secretary)])
    deliveries_dispatch()
    delivery_id = queued[0]
    queued.append(delivery_id)  # the broker redelivers the same message
    assert drain(queued) == ["sent", "skipped"]
    item = InboxItem.objects.get(user=users.secretary)
    assert (item.title, item.url, item.read_at) == ("测试提醒", "/x/", None)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 1
    assert list(DeliveryAttempt.objects.values_list("outcome", flat=True)) == [AttemptOutcome.SENT]


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_a_crash_inside_the_inbox_transaction_leaves_the_row_queued(users, queued, monkeypatch):
    reminders_upsert(dues=[due(users.secretary)])
    deliveries_dispatch()
    delivery_id = queued[0]
    real_create = DeliveryAttempt.objects.create

    def crash(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(DeliveryAttempt.objects, "create", crash)
    with pytest.raises(SystemExit):
        services.delivery_send(delivery_id=delivery_id)
    assert Delivery.objects.get(pk=delivery_id).state == DeliveryState.QUEUED
    assert not InboxItem.objects.exists()
    monkeypatch.setattr(DeliveryAttempt.objects, "create", real_create)
    assert services.delivery_send(delivery_id=delivery_id) == "sent"
    assert InboxItem.objects.count() == 1


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_email_is_sent_with_the_delivery_id_as_idempotency_key(reachable, queued):
    reminders_upsert(dues=[due(reachable, channels=(Channel.EMAIL,))])
    deliveries_dispatch()
    delivery_id = queued[0]
    assert drain(queued) == ["sent"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sec@example.org"] and "测试提醒" in message.subject
    assert message.extra_headers["Message-ID"] == f"<dj-delivery-{delivery_id}@dangjian>"
    assert Delivery.objects.get(pk=delivery_id).state == DeliveryState.SENT


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_sms_decrypts_the_phone_at_send_time_and_logs_it_masked(
    reachable, queued, settings, caplog
):
    settings.SMS_BACKEND = "apps.notifications.sms.LoggingSMSBackend"
    reminders_upsert(dues=[due(reachable, channels=(Channel.SMS,))])
    deliveries_dispatch()
    with caplog.at_level(logging.INFO, logger="apps.notifications.sms"):
        assert drain(queued) == ["sent"]
    assert "138****5678" in caplog.text
    assert "13812345678" not in caplog.text


@time_machine.travel(at(2026, 3, 1, 9, 30), tick=False)
def test_sms_reaches_the_backend_with_the_clear_number(reachable, queued, sms_outbox):
    reminders_upsert(dues=[due(reachable, channels=(Channel.SMS,))])
    deliveries_dispatch()
    drain(queued)
    assert [m["phone"] for m in sms_outbox] == ["13812345678"]
    assert sms_outbox[0]["key"].startswith("dj-delivery-")


@pytest.mark.parametrize(
    ("created", "expected_due"),
    [
        (at(2026, 3, 1, 21, 59), at(2026, 3, 1, 21, 59)),  # before quiet hours: as is
        (at(2026, 3, 1, 22, 0), at(2026, 3, 2, 7, 0)),  # 22:00 starts the quiet hours
        (at(2026, 3, 31, 23, 30), at(2026, 4, 1, 7, 0)),  # across a month (and quarter) end
        (at(2026, 3, 2, 6, 59), at(2026, 3, 2, 7, 0)),
        (at(2026, 3, 2, 7, 0), at(2026, 3, 2, 7, 0)),  # 07:00 is allowed
    ],
)
def test_sms_due_in_quiet_hours_is_held_until_morning(reachable, created, expected_due):
    reminders_upsert(dues=[due(reachable, when=created, channels=(Channel.INBOX, Channel.SMS))])
    deliveries = dict(Delivery.objects.values_list("channel", "due_at"))
    assert deliveries["inbox"] == created  # the inbox is not held
    assert deliveries["sms"] == expected_due


def test_sms_queued_before_but_sent_in_quiet_hours_is_held_not_dropped(
    reachable, queued, sms_outbox
):
    with time_machine.travel(at(2026, 3, 1, 21, 59), tick=False):
        reminders_upsert(dues=[due(reachable, when=at(2026, 3, 1, 21, 0), channels=(Channel.SMS,))])
        deliveries_dispatch()
    with time_machine.travel(at(2026, 3, 1, 22, 1), tick=False):  # the worker was late
        assert drain(queued) == ["held"]
        delivery = Delivery.objects.get()
        assert (delivery.state, delivery.due_at) == (DeliveryState.PENDING, at(2026, 3, 2, 7))
        assert deliveries_dispatch() == 0
    with time_machine.travel(at(2026, 3, 2, 7, 0), tick=False):
        assert deliveries_dispatch() == 1
        assert drain(queued) == ["sent"]
    assert len(sms_outbox) == 1


def test_quiet_hours_are_a_rule_parameter(reachable):
    from apps.core.rules import rule_set

    rule_set(key="notifications.sms_quiet_start_hour", value=20)
    reminders_upsert(dues=[due(reachable, when=at(2026, 3, 1, 20, 30), channels=(Channel.SMS,))])
    assert Delivery.objects.get().due_at == at(2026, 3, 2, 7)


def test_failed_sends_are_retried_then_marked_failed(reachable, queued, settings, monkeypatch):
    from apps.notifications.sms import LocmemSMSBackend

    def refuse(self, phone, text, *, idempotency_key=""):
        raise RuntimeError("gateway down")

    settings.SMS_BACKEND = "apps.notifications.sms.LocmemSMSBackend"
    monkeypatch.setattr(LocmemSMSBackend, "send", refuse)
    now = at(2026, 3, 1, 9)
    reminders_upsert(dues=[due(reachable, when=now, channels=(Channel.SMS,))])
    for attempt in range(1, 6):
        now += dt.timedelta(hours=1)
        with time_machine.travel(now, tick=False):
            assert deliveries_dispatch() == 1
            assert drain(queued) == ["failed"]
        delivery = Delivery.objects.get()
        assert delivery.attempts == attempt
    assert delivery.state == DeliveryState.FAILED and delivery.last_error == "gateway down"
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.FAILED).count() == 5


def test_stuck_rows_are_requeued_after_the_timeout_only(reachable, queued, settings):
    from apps.notifications import conf

    start = at(2026, 3, 1, 9, 0)
    with time_machine.travel(start, tick=False):
        reminders_upsert(dues=[due(reachable, when=start, channels=(Channel.INBOX, Channel.EMAIL))])
        deliveries_dispatch()
        queued.clear()  # the broker lost both messages (restart)
        # ...and a worker claimed the email, then was killed before marking it sent.
        email = Delivery.objects.get(channel=Channel.EMAIL)
        assert services._claim(email.pk, start)
    with time_machine.travel(start + dt.timedelta(seconds=conf.STUCK_AFTER - 1), tick=False):
        assert deliveries_requeue_stuck() == 0
    with time_machine.travel(start + dt.timedelta(seconds=conf.STUCK_AFTER + 1), tick=False):
        assert deliveries_requeue_stuck() == 1  # the email, claimed by the dead worker
        assert deliveries_requeue_stuck() == 0
        assert drain(queued) == ["sent"]
    with time_machine.travel(start + dt.timedelta(seconds=conf.STUCK_QUEUED_AFTER - 1), tick=False):
        assert deliveries_requeue_stuck() == 0
    with time_machine.travel(start + dt.timedelta(seconds=conf.STUCK_QUEUED_AFTER + 1), tick=False):
        assert deliveries_requeue_stuck() == 1  # the inbox row whose message the broker lost
        assert drain(queued) == ["sent"]
    assert InboxItem.objects.count() == 1
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
    # The email's lost attempt stays on record as "result unknown": that is the documented
    # at-least-once window of external channels.
    outcomes = list(DeliveryAttempt.objects.filter(delivery=email).values_list("number", "outcome"))
    assert outcomes == [(2, AttemptOutcome.SENT)]


def test_withdraw_stops_pending_deliveries_but_keeps_sent_history(users, queued):
    with time_machine.travel(at(2026, 3, 1, 9, 30), tick=False):
        reminders_upsert(
            dues=[
                due(users.secretary, occurrence="day-before", when=at(2026, 3, 1, 9)),
                due(users.secretary, occurrence="2h-before", when=at(2026, 3, 2, 7)),
            ]
        )
        deliveries_dispatch()
        drain(queued)
        withdrawn = services.reminders_withdraw(
            subject_type="organizations.org", subject_id=1, reason="会议已取消"
        )
    assert withdrawn == 1
    states = dict(Reminder.objects.values_list("occurrence", "state"))
    assert states == {"day-before": ReminderState.ACTIVE, "2h-before": ReminderState.WITHDRAWN}
    with time_machine.travel(at(2026, 3, 2, 8), tick=False):
        assert deliveries_dispatch() == 0
    assert InboxItem.objects.count() == 1


def test_a_channel_switched_off_after_creation_is_not_used(reachable, queued):
    with time_machine.travel(at(2026, 3, 1, 9, 30), tick=False):
        reminders_upsert(dues=[due(reachable, channels=(Channel.EMAIL,))])
        services.preferences_set(user=reachable, values={"email": False})
        deliveries_dispatch()
        assert drain(queued) == ["withdrawn"]
    assert not mail.outbox


def test_preferences(users, reachable):
    from apps.notifications.selectors import preferences_of

    assert preferences_of(user=reachable) == {"inbox": True, "email": True, "sms": True}
    services.preferences_set(user=reachable, values={"sms": False})
    assert preferences_of(user=reachable)["sms"] is False
    reminders_upsert(dues=[due(reachable, channels=(Channel.INBOX, Channel.SMS))])
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["inbox"]
    with pytest.raises(ValidationError):
        services.preferences_set(user=reachable, values={"inbox": False})
    with pytest.raises(ValidationError):
        services.preferences_set(user=users.committee, values={"sms": True})  # no phone on file
    with pytest.raises(ValidationError):
        services.preferences_set(user=reachable, values={"fax": True})


def test_mark_read(users):
    other = InboxItem.objects.create(
        user=users.committee, title="别人的", created_at=at(2026, 3, 1, 9)
    )
    mine = [
        InboxItem.objects.create(user=users.secretary, title=f"{i}", created_at=at(2026, 3, 1, 9))
        for i in range(3)
    ]
    from apps.notifications.selectors import unread_count

    assert unread_count(user=users.secretary) == 3
    services.inbox_mark_read(user=users.secretary, item_id=mine[0].pk)
    assert unread_count(user=users.secretary) == 2
    from django.http import Http404

    with pytest.raises(Http404):
        services.inbox_mark_read(user=users.secretary, item_id=other.pk)
    assert services.inbox_mark_all_read(user=users.secretary) == 2
    assert unread_count(user=users.secretary) == 0 and unread_count(user=users.committee) == 1
