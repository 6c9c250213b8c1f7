"""Writes of the reports app: build one org's report version, run a batch job, start batches."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, RoleGrant
from apps.accounts.scope import can, require
from apps.core.audit import audit_log
from apps.core.models import AuditAction
from apps.core.periods import Period, PeriodKind, local_today
from apps.dashboards.excel import sections_workbook
from apps.dashboards.sections import Section, context_for, sections_for
from apps.organizations.models import BRANCH_TYPES, COMMITTEE_TYPES, Org
from apps.reports.models import BatchTrigger, JobState, QuarterlyReport, ReportBatch, ReportJob
from apps.reports.pdf import report_pdf

logger = logging.getLogger("apps.reports")
REPORT_ORG_TYPES = tuple(str(t) for t in (*COMMITTEE_TYPES, *BRANCH_TYPES))


def report_title(org: Org) -> str:
    return "党支部季度工作报告" if org.org_type in BRANCH_TYPES else "基层党建工作季度督查通报"


def summary_text(org: Org, sections: list[Section], as_of: dt.date | None) -> str:
    figures = {row[0]: row[1] for s in sections if s.code == "summary" for row in s.rows}
    kids = next((s for s in sections if s.code == "children"), None)
    total = figures.get("党员总数", 0)
    female = figures.get("女党员", 0)
    when = f"截至{as_of.year}年{as_of.month}月{as_of.day}日" if as_of else "截至本报告生成时"
    text = (
        f"{when}，{org.name}共有党员{total}名，其中正式党员{figures.get('正式党员', 0)}名、"
        f"预备党员{figures.get('预备党员', 0)}名，女党员{female}名"
        f"（占{(100 * female / total if total else 0):.1f}%）。发展党员工作中，现有发展对象"
        f"{figures.get('发展对象', 0)}名、入党积极分子{figures.get('入党积极分子', 0)}名、入党申请人"
        f"{figures.get('入党申请人', 0)}名。"
    )
    if kids is not None:
        text += f"下设党组织{len(kids.rows)}个，各下级党组织情况见后附表。"
    meetings = next((s for s in sections if s.code == "meetings"), None)
    if meetings is not None and meetings.rows:
        _label, branches, compliant, share, _g, yellow, red, count, attendance = meetings.rows[0]
        text += (
            f"本季度“三会一课”：{branches}个党支部中{compliant}个各项要求全部达标"
            f"（{share if share is not None else 0}%），{red}个有逾期未开展事项、{yellow}个临期；"
            f"共开展会议{count}次，出勤率"
            + (f"{attendance}%。" if attendance is not None else "—。")
        )
    return text


def _files(
    org: Org, period: Period, version: int, sections: list[Section], as_of, built_at
) -> tuple[bytes, bytes]:
    title = org.name
    subtitle = f"{period.label} {report_title(org)}"
    meta = (
        f"党员数据截至 {as_of:%Y-%m-%d}" if as_of else "党员数据：尚未汇总"
    ) + f" · 第{version}版 · 生成于 {timezone.localtime(built_at):%Y-%m-%d %H:%M}"
    pdf = report_pdf(
        title=title,
        subtitle=subtitle,
        meta=meta,
        summary=summary_text(org, sections, as_of),
        sections=sections,
    )
    xlsx = sections_workbook(sections, heading=f"{title} {subtitle}")
    return pdf, xlsx


def report_build(
    *, org: Org, period: Period, actor=None, batch: ReportBatch | None = None
) -> QuarterlyReport:
    """Build a new version of `org`'s report for `period` and make it current atomically.
    The figures are the dashboard's sections for the same org and quarter."""
    if period.kind != PeriodKind.QUARTER:
        raise ValidationError({"quarter": ["请选择季度。"]})
    ctx = context_for(org=org, period=period, today=local_today())
    sections = sections_for(ctx)
    built_at = timezone.now()
    with transaction.atomic():
        # One builder per (org, quarter) at a time: versions are numbered without gaps or clashes.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [org.pk, period.year * 10 + period.index]
            )
        last = (
            QuarterlyReport.objects.filter(org=org, year=period.year, quarter=period.index)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        version = (last or 0) + 1
        pdf, xlsx = _files(org, period, version, sections, ctx.as_of, built_at)
        report = QuarterlyReport(
            org=org,
            year=period.year,
            quarter=period.index,
            version=version,
            is_current=False,
            title=f"{org.name} {period.label}{report_title(org)}",
            members_as_of=ctx.as_of,
            figures=[s.as_dict() for s in sections],
            built_by=actor if getattr(actor, "is_authenticated", False) else None,
            batch=batch,
        )
        token = secrets.token_hex(4)
        report.pdf.save(f"v{version}-{token}.pdf", ContentFile(pdf), save=False)
        report.xlsx.save(f"v{version}-{token}.xlsx", ContentFile(xlsx), save=False)
        QuarterlyReport.objects.filter(
            org=org, year=period.year, quarter=period.index, is_current=True
        ).update(is_current=False)
        report.is_current = True
        report.save()
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            obj=report,
            org=org,
            verb="report_build",
            changes={"version": [last, version]},
        )
        transaction.on_commit(lambda: report_notify(report=report))
    return report


def report_recipients(org: Org) -> list[int]:
    """Who hears that a report is ready: the org's own secretaries, committee members and staff."""
    roles = [Role.SECRETARY, Role.COMMITTEE, Role.ORG_STAFF]
    return sorted(
        set(RoleGrant.objects.filter(org=org, role__in=roles).values_list("user_id", flat=True))
    )


def report_notify(*, report: QuarterlyReport) -> None:
    """Tell the recipients through the notifications app (inbox; idempotent per version)."""
    recipients = report_recipients(report.org)
    if not recipients:
        return
    from apps.notifications.services import Due, reminders_upsert, subject_of

    subject_type, subject_id = subject_of(report)
    reminders_upsert(
        dues=[
            Due(
                rule="reports.ready",
                subject_type=subject_type,
                subject_id=subject_id,
                occurrence=f"v{report.version}",
                recipient_ids=tuple(recipients),
                due_at=timezone.now(),
                title=f"{report.title}已生成（第{report.version}版）",
                url=reverse("reports:detail", args=[report.pk]),
                org_id=report.org_id,
            )
        ]
    )


# --- batches ------------------------------------------------------------------------------


def report_job_run(*, job_id: int) -> str:
    """The task body: claim a pending job (a conditional UPDATE that must touch one row), build,
    record the outcome. Running it twice, or for a job already done, does nothing."""
    claimed = ReportJob.objects.filter(pk=job_id, state=JobState.PENDING).update(
        state=JobState.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if claimed != 1:
        return "skipped"
    job = ReportJob.objects.select_related("batch", "org", "batch__created_by").get(pk=job_id)
    period = Period.quarter(job.batch.year, job.batch.quarter)
    try:
        report = report_build(
            org=job.org, period=period, actor=job.batch.created_by, batch=job.batch
        )
    except Exception as exc:
        logger.exception("report job %s failed", job_id)
        ReportJob.objects.filter(pk=job_id).update(
            state=JobState.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return "failed"
    ReportJob.objects.filter(pk=job_id).update(
        state=JobState.DONE, report=report, finished_at=timezone.now(), error=""
    )
    return "done"


QUEUE_CHUNK = 2000


def batch_queue(batch_id: int, *, job_ids: list[int] | None = None) -> int:
    """Publish one task per pending job of the batch (or the given jobs), in chunks, stamping
    `queued_at` so the sweeper can tell a job whose message was lost from one still waiting in
    a long queue. A job published twice is harmless: its task claims the row first."""
    from apps.reports.tasks import report_job_task

    pending = ReportJob.objects.filter(batch_id=batch_id, state=JobState.PENDING)
    if job_ids is not None:
        pending = pending.filter(pk__in=job_ids)
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), QUEUE_CHUNK):
        chunk = ids[start : start + QUEUE_CHUNK]
        ReportJob.objects.filter(pk__in=chunk).update(queued_at=timezone.now())
        for job_id in chunk:
            report_job_task.delay(job_id)
    return len(ids)


def report_jobs_sweep(*, now: dt.datetime | None = None) -> int:
    """Beat: keep unfinished batches moving without anyone pressing 重试. Jobs stuck `running`
    past the task time limit (a killed worker) go back to pending; pending jobs whose task was
    published longer ago than REPORTS_REQUEUE_AFTER seconds, or never (a sweep or start that was
    interrupted half-way), are published again. Idempotent: the task claims its row."""
    from django.conf import settings

    now = now or timezone.now()
    stale_running = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    ReportJob.objects.filter(state=JobState.RUNNING, started_at__lt=stale_running).update(
        state=JobState.PENDING, queued_at=None
    )
    requeue_before = now - dt.timedelta(seconds=settings.REPORTS_REQUEUE_AFTER)
    due = (
        ReportJob.objects.filter(state=JobState.PENDING)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=requeue_before))
        .values_list("batch_id", "pk")
    )
    by_batch: dict[int, list[int]] = {}
    for batch_id, job_id in due.iterator(chunk_size=QUEUE_CHUNK):
        by_batch.setdefault(batch_id, []).append(job_id)
    return sum(batch_queue(batch_id, job_ids=ids) for batch_id, ids in by_batch.items())


def batch_fill(*, batch: ReportBatch) -> int:
    """Create the batch's job rows in one INSERT … SELECT (idempotent: ON CONFLICT DO NOTHING)."""
    if batch.single:
        ReportJob.objects.get_or_create(batch=batch, org=batch.root)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {ReportJob._meta.db_table} (batch_id, org_id, state, attempts, error)
                SELECT %s, o.id, %s, 0, '' FROM {Org._meta.db_table} o
                WHERE o.path LIKE %s AND o.abolished_on IS NULL AND o.org_type = ANY(%s)
                ON CONFLICT (batch_id, org_id) DO NOTHING""",
                [batch.pk, JobState.PENDING, batch.root.path + "%", list(REPORT_ORG_TYPES)],
            )
    total = ReportJob.objects.filter(batch=batch).count()
    ReportBatch.objects.filter(pk=batch.pk).update(total=total)
    return total


@transaction.atomic
def report_batch_start(*, actor, org: Org, period: Period, single: bool) -> ReportBatch:
    """On demand: build `org`'s report (single) or every committee's and branch's in its subtree.
    Authorization: single needs superior or branch_write on org; a subtree needs superior."""
    require(actor, "view", org)
    if single:
        if not (can(actor, "superior", org) or can(actor, "branch_write", org)):
            raise PermissionDenied("没有权限生成该党组织的报告。")
        if org.org_type not in REPORT_ORG_TYPES:
            raise ValidationError({"org": ["党小组不单独生成季度报告。"]})
    elif not can(actor, "superior", org):
        raise PermissionDenied("只有上级党委（组织部门）可以批量生成下级报告。")
    if period.kind != PeriodKind.QUARTER or period > Period.current(PeriodKind.QUARTER):
        raise ValidationError({"quarter": ["请选择已经开始的季度。"]})
    batch = ReportBatch.objects.create(
        root=org,
        year=period.year,
        quarter=period.index,
        trigger=BatchTrigger.MANUAL,
        single=single,
        created_by=actor,
    )
    batch.total = batch_fill(batch=batch)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=batch,
        org=org,
        verb="report_batch_start",
        changes={"quarter": [None, period.key], "single": [None, single]},
    )
    transaction.on_commit(lambda: batch_queue(batch.pk))
    return batch


@transaction.atomic
def report_batch_retry(*, actor, batch: ReportBatch) -> int:
    """Put failed jobs (and jobs stuck running past the task time limit) back in the queue."""
    from django.conf import settings

    require(actor, "view", batch.root)
    if not (
        can(actor, "superior", batch.root)
        or (batch.single and can(actor, "branch_write", batch.root))
    ):
        raise PermissionDenied("没有权限重试该批次。")
    stale = timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    failed = ReportJob.objects.filter(batch=batch, state=JobState.FAILED)
    stuck = ReportJob.objects.filter(batch=batch, state=JobState.RUNNING, started_at__lt=stale)
    count = failed.update(state=JobState.PENDING) + stuck.update(state=JobState.PENDING)
    transaction.on_commit(lambda: batch_queue(batch.pk))
    return count


def quarterly_sweep(*, today: dt.date | None = None) -> list[int]:
    """Beat (daily): once the rule day of the new quarter has come, start the scheduled batch
    of the quarter just closed for every root org (once: a unique constraint keys it)."""
    from apps.core.rules import rule_value

    today = today or local_today()
    current = Period.containing(PeriodKind.QUARTER, today)
    if (today - current.start).days + 1 < rule_value("reports.build_day"):
        return []
    closed = current.previous()
    started = []
    for root in Org.objects.filter(depth=1, abolished_on__isnull=True):
        with transaction.atomic():
            batch, created = ReportBatch.objects.get_or_create(
                root=root,
                year=closed.year,
                quarter=closed.index,
                trigger=BatchTrigger.SCHEDULED,
                defaults={"single": False},
            )
            if created:
                batch.total = batch_fill(batch=batch)
                transaction.on_commit(lambda pk=batch.pk: batch_queue(pk))
                started.append(batch.pk)
    return started
