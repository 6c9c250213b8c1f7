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
def worker(transactional_db, monkeypatch, tmp_path):
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


def test_worker_delivers_inbox_email_and_sms_exactly_once(tree, worker):
    from django.utils import timezone

    from apps.accounts.models import Role
    from apps.notifications import tasks

    people = []
    for i in range(5):
        user = make_user(
            Role.SECRETARY, tree.branch_a, username=f"itest{i}", email=f"s{i}@example.org"
        )
        user.set_phone(f"1380000000{i}")
        user.save()
        people.append(user)
    from apps.core.rules import rule_set

    rule_set(key="notifications.sms_quiet_start_hour", value=0)  # no quiet hours whatever the hour
    rule_set(key="notifications.sms_quiet_end_hour", value=0)
    now = timezone.now()
    reminders_upsert(
        dues=[
            Due(
                rule="itest",
                subject_type="organizations.org",
                subject_id=tree.branch_a.pk,
                occurrence=f"o{n}",
                recipient_ids=tuple(u.pk for u in people),
                due_at=now,
                title=f"集成测试提醒{n}",
                channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS),
            )
            for n in range(6)
        ]
    )
    expected = Delivery.objects.count()
    assert expected == 90
    # The dispatcher runs in the worker too; it is sent twice, as a double beat would.
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    _wait_for(
        lambda: Delivery.objects.filter(state=DeliveryState.SENT).count() == expected,
        what="all sent",
    )
    # Messages redelivered after the fact (a broker replay) change nothing.
    for delivery_id in Delivery.objects.values_list("pk", flat=True)[:20]:
        tasks.deliver.apply_async((delivery_id,), queue=conf.QUEUE)
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    _wait_for(lambda: _queue_empty(conf.QUEUE), what="queue drained")
    assert InboxItem.objects.count() == 30
    assert InboxItem.objects.values("delivery").distinct().count() == 30
    sent_attempts = DeliveryAttempt.objects.filter(outcome=AttemptOutcome.SENT)
    assert sent_attempts.count() == expected
    assert sent_attempts.values("delivery").distinct().count() == expected
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()
    # Email and SMS left the worker once per delivery (console mail backend, logging SMS backend).
    log = worker.log_path.read_text()
    assert log.count("X-Idempotency-Key: dj-delivery-") == 30
    assert log.count("SMS to 138****000") == 30
    assert "1380000000" not in log.replace("138****000", "")  # numbers only ever masked


def _queue_empty(queue: str) -> bool:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.llen(queue) == 0 and not client.hlen("unacked")
