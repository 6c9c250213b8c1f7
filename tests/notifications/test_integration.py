"""The delivery path end to end with a REAL Redis broker and a REAL Celery worker subprocess
(prefork pool) working on the test database. Skipped when Redis is unreachable.

The worker consumes a queue of its own (NOTIFICATIONS_QUEUE), so a development worker on the
same Redis database can never take these messages."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from apps.notifications import conf
from apps.notifications.models import (
    AttemptOutcome,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    InboxItem,
)
from apps.notifications.services import Due, reminders_upsert
from tests.factories import make_user

# The worker must see committed rows, so this test writes in autocommit mode to the test
# database instead of inside a rolled-back transaction. It deliberately avoids pytest-django's
# transactional_db: its flush (TRUNCATE ... CASCADE) would also empty the rows other apps'
# data migrations created, for the rest of the session and for later --reuse-db sessions.
# `committed_db` deletes exactly what the test wrote.
pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(
            f"integration: Redis at {settings.REDIS_URL} is unreachable ({exc}); "
            "start it or set REDIS_URL"
        )


def _test_database_url() -> str:
    """DATABASE_URL pointing at pytest-django's test database (test_<name>)."""
    db = connection.settings_dict
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://localhost/"))
    netloc = parts.netloc
    if not netloc:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        netloc = f"{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return urlunsplit((parts.scheme or "postgres", netloc, "/" + db["NAME"], parts.query, ""))


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)  # polling a separate process: the only wait in the suite
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    from django.core.cache import cache

    from apps.accounts.models import User
    from apps.core.models import AuditEntry, RuleSetting
    from apps.notifications.models import Reminder

    with django_db_blocker.unblock():
        yield
        InboxItem.objects.filter(user__username__startswith="itest").delete()
        Reminder.objects.filter(rule="itest").delete()
        User.objects.filter(username__startswith="itest").delete()
        RuleSetting.objects.filter(key__startswith="notifications.sms_quiet").delete()
        AuditEntry.objects.filter(verb="rule_set", object_id__startswith="notifications.").delete()
        cache.delete("rules:v1")  # only our own key: the broker may share this Redis db
        connection.close()


@pytest.fixture
def worker(committed_db, monkeypatch, tmp_path):
    _redis_or_skip()
    queue = f"notify-itest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(conf, "QUEUE", queue)
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_DEBUG": "1",
        "NOTIFICATIONS_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "SMS_BACKEND": "apps.notifications.sms.LoggingSMSBackend",
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--pool=prefork",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_path = tmp_path / "worker.log"
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    if process.returncode not in (0, -15):
        print((tmp_path / "worker.log").read_text()[-3000:])


def test_worker_delivers_inbox_email_and_sms_exactly_once(worker):
    from django.utils import timezone

    from apps.core.rules import rule_set
    from apps.notifications import tasks

    people = []
    for i in range(5):
        user = make_user(None, None, username=f"itest{i}", email=f"s{i}@example.org")
        user.set_phone(f"1380000000{i}")
        user.save()
        people.append(user)
    rule_set(key="notifications.sms_quiet_start_hour", value=0)  # no quiet hours whatever the hour
    rule_set(key="notifications.sms_quiet_end_hour", value=0)
    reminders_upsert(
        dues=[
            Due(
                rule="itest",
                subject_type="itest.item",
                subject_id=1,
                occurrence=f"o{n}",
                recipient_ids=tuple(u.pk for u in people),
                due_at=timezone.now(),
                title=f"集成测试提醒{n}",
                channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS),
            )
            for n in range(6)
        ]
    )
    deliveries = Delivery.objects.filter(reminder__rule="itest")
    expected = deliveries.count()
    assert expected == 90
    # The dispatcher runs in the worker too; it is sent twice, as a double beat would.
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    _wait_for(
        lambda: deliveries.filter(state=DeliveryState.SENT).count() == expected, what="all sent"
    )
    # Messages redelivered after the fact (a broker replay) change nothing.
    for delivery_id in deliveries.values_list("pk", flat=True)[:20]:
        tasks.deliver.apply_async((delivery_id,), queue=conf.QUEUE)
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    _wait_for(lambda: _queue_empty(conf.QUEUE), what="queue drained")
    inbox = InboxItem.objects.filter(user__in=people)
    assert inbox.count() == 30
    assert inbox.values("delivery").distinct().count() == 30
    sent_attempts = DeliveryAttempt.objects.filter(
        delivery__in=deliveries, outcome=AttemptOutcome.SENT
    )
    assert sent_attempts.count() == expected
    assert sent_attempts.values("delivery").distinct().count() == expected
    assert not deliveries.exclude(state=DeliveryState.SENT).exists()
    # Email and SMS left the worker once per delivery (console mail backend, logging SMS backend).
    log = worker.log_path.read_text()
    assert log.count("X-Idempotency-Key: dj-delivery-") == 30
    assert log.count("SMS to 138****000") == 30
    assert "1380000000" not in log.replace("138****000", "")  # numbers only ever masked


def _queue_empty(queue: str) -> bool:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.llen(queue) == 0 and not client.hlen("unacked")
