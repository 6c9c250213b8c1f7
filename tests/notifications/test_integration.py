"""The delivery path end to end with a REAL Redis broker and a REAL Celery worker subprocess
(prefork pool) working on the test database. Skipped when Redis is unreachable.

The worker consumes a queue of its own (NOTIFICATIONS_QUEUE), so a development worker on the
same Redis database can never take these messages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
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


def _redis_or_skip(config) -> None:
    """Skip (saying why, on the terminal as well as in the -rs summary) when Redis is down."""
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        reason = (
            f"integration: Redis at {settings.REDIS_URL} is unreachable ({exc}); "
            "start it or set REDIS_URL"
        )
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"SKIPPED {reason}", yellow=True)
        pytest.skip(reason)


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


class Workers:
    """Starts Celery worker subprocesses (prefork) on a queue of this test's own; `start()` may
    be called after the test has put messages on the queue. All are stopped at teardown."""

    def __init__(self, tmp_path: Path, queue: str):
        self.tmp_path, self.queue, self.processes = tmp_path, queue, []

    def start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_DEBUG": "1",
            "NOTIFICATIONS_QUEUE": self.queue,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "SMS_BACKEND": "apps.notifications.sms.LoggingSMSBackend",
        }
        n = len(self.processes)
        log_path = self.tmp_path / f"worker{n}.log"
        log = open(log_path, "w")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{n}@%h",
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
        process.log_path, process.log_file = log_path, log
        self.processes.append(process)
        return process

    def log(self) -> str:
        return "".join(p.log_path.read_text() for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log_file.close()
            if process.returncode not in (0, -15):
                print(process.log_path.read_text()[-3000:])


@pytest.fixture
def redis_up(request):
    _redis_or_skip(request.config)


@pytest.fixture
def workers(redis_up, committed_db, monkeypatch, tmp_path):  # Redis checked before any write
    queue = f"notify-itest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(conf, "QUEUE", queue)
    pool = Workers(tmp_path, queue)
    yield pool
    pool.stop()
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete(queue)  # anything a failed test left


@pytest.fixture
def worker(workers):
    return workers.start()


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


# --- withdrawn reminders and the stuck sweeper, on the real worker ------------------------------

EMAIL_SENT = re.compile(r"X-Idempotency-Key: dj-delivery-(\d+)")
SMS_SENT = re.compile(r"SMS to \S+ \[dj-delivery-(\d+)\]")


def _people(n: int) -> list:
    from apps.core.rules import rule_set

    people = []
    for i in range(n):
        user = make_user(None, None, username=f"itest{i}", email=f"s{i}@example.org")
        user.set_phone(f"1380000000{i}")
        user.save()
        people.append(user)
    rule_set(key="notifications.sms_quiet_start_hour", value=0)  # no quiet hours whatever the hour
    rule_set(key="notifications.sms_quiet_end_hour", value=0)
    return people


def _reminders(people, occurrences: list[str]) -> None:
    from django.utils import timezone

    reminders_upsert(
        dues=[
            Due(
                rule="itest",
                subject_type="itest.item",
                subject_id=1,
                occurrence=occurrence,
                recipient_ids=tuple(u.pk for u in people),
                due_at=timezone.now(),
                title=f"集成测试提醒{occurrence}",
                channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS),
            )
            for occurrence in occurrences
        ]
    )


def _external_sends(log: str) -> Counter:
    """{delivery id: times it left the worker} for email (console backend) and SMS (logging)."""
    return Counter(int(pk) for pattern in (EMAIL_SENT, SMS_SENT) for pk in pattern.findall(log))


def test_worker_never_sends_a_reminder_withdrawn_while_its_message_waits(workers):
    from apps.notifications import tasks
    from apps.notifications.models import Reminder
    from apps.notifications.services import deliveries_dispatch, reminders_withdraw_ids

    people = _people(3)
    _reminders(people, ["w0", "w1", "w2", "w3"])
    deliveries = Delivery.objects.filter(reminder__rule="itest")
    assert deliveries.count() == 36
    # Dispatched before any worker runs: every row is queued and its message waits in Redis.
    assert deliveries_dispatch() == 36
    assert _queue_length(conf.QUEUE) == 36
    # Then the subject changes: half the reminders are withdrawn while their messages wait.
    gone_ids = list(
        Reminder.objects.filter(rule="itest", occurrence__in=["w0", "w1"]).values_list(
            "pk", flat=True
        )
    )
    assert reminders_withdraw_ids(gone_ids, reason="集成测试撤回") == 18
    gone = deliveries.filter(reminder_id__in=gone_ids)
    kept = deliveries.exclude(reminder_id__in=gone_ids)
    # A replay of the withdrawn rows' messages (a broker redelivery) must not send them either.
    for delivery_id in gone.values_list("pk", flat=True):
        tasks.deliver.apply_async((delivery_id,), queue=conf.QUEUE)
    workers.start()
    _wait_for(lambda: kept.filter(state=DeliveryState.SENT).count() == 18, what="kept ones sent")
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    tasks.requeue_stuck.apply_async(queue=conf.QUEUE)
    _wait_for(lambda: _queue_empty(conf.QUEUE), what="queue drained")
    assert set(gone.values_list("state", flat=True)) == {DeliveryState.WITHDRAWN}
    assert not DeliveryAttempt.objects.filter(delivery__in=gone).exists()
    assert not InboxItem.objects.filter(delivery__in=gone).exists()
    assert InboxItem.objects.filter(delivery__in=kept).count() == 6
    sends = _external_sends(workers.log())
    assert not set(sends) & set(gone.values_list("pk", flat=True))
    external = set(kept.exclude(channel=Channel.INBOX).values_list("pk", flat=True))
    assert sends == Counter(dict.fromkeys(external, 1))


def test_worker_sends_a_delivery_requeued_by_the_stuck_sweeper_exactly_once(workers):
    import datetime as dt

    from django.utils import timezone

    from apps.notifications import tasks

    people = _people(3)
    _reminders(people, ["s0", "s1"])
    deliveries = Delivery.objects.filter(reminder__rule="itest")
    pks = sorted(deliveries.values_list("pk", flat=True))
    assert len(pks) == 18
    long_ago = timezone.now() - dt.timedelta(hours=1)  # past both stuck thresholds
    # Half were claimed by a worker that was killed mid-send: `sending`, an attempt started and
    # never finished. The other half were queued but their messages died with a Redis restart.
    killed, lost = pks[::2], pks[1::2]
    Delivery.objects.filter(pk__in=killed).update(
        state=DeliveryState.SENDING, queued_at=long_ago, sending_since=long_ago, attempts=1
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery_id=pk, number=1, started_at=long_ago, worker="killed:1")
        for pk in killed
    )
    Delivery.objects.filter(pk__in=lost).update(state=DeliveryState.QUEUED, queued_at=long_ago)
    workers.start()
    # Two sweeps (a doubled beat), and the killed worker's own messages redelivered by Redis.
    tasks.requeue_stuck.apply_async(queue=conf.QUEUE)
    tasks.requeue_stuck.apply_async(queue=conf.QUEUE)
    for delivery_id in killed:
        tasks.deliver.apply_async((delivery_id,), queue=conf.QUEUE)
    _wait_for(lambda: deliveries.filter(state=DeliveryState.SENT).count() == 18, what="all re-sent")
    tasks.requeue_stuck.apply_async(queue=conf.QUEUE)
    tasks.dispatch.apply_async(queue=conf.QUEUE)
    _wait_for(lambda: _queue_empty(conf.QUEUE), what="queue drained")
    sent = DeliveryAttempt.objects.filter(delivery__in=deliveries, outcome=AttemptOutcome.SENT)
    assert sent.count() == 18
    assert sent.values("delivery").distinct().count() == 18
    assert set(sent.filter(delivery_id__in=killed).values_list("number", flat=True)) == {2}
    assert set(sent.filter(delivery_id__in=lost).values_list("number", flat=True)) == {1}
    inbox = InboxItem.objects.filter(delivery__in=deliveries)
    assert inbox.count() == 6 and inbox.values("delivery").distinct().count() == 6
    external = set(deliveries.exclude(channel=Channel.INBOX).values_list("pk", flat=True))
    assert _external_sends(workers.log()) == Counter(dict.fromkeys(external, 1))


def _queue_length(queue: str) -> int:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL).llen(queue)
