"""Reads of the reports app, scoped through apps.accounts.scope."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from apps.accounts.scope import can, get_org_or_404, scoped
from apps.reports.models import JobState, QuarterlyReport, ReportBatch, ReportJob


def reports_visible_to(user) -> QuerySet[QuarterlyReport]:
    return scoped(QuarterlyReport.objects.select_related("org"), user, path_field="org__path")


def report_for(user, pk) -> QuarterlyReport:
    """404 outside the subtree (like a missing id); 403 for a 党员-only grant."""
    try:
        report = QuarterlyReport.objects.select_related("org").get(pk=int(pk))
    except (QuarterlyReport.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None
    get_org_or_404(user, report.org_id)
    if not can(user, "view", report.org):
        raise PermissionDenied("没有权限查看该报告。")
    return report


def report_versions(report: QuarterlyReport) -> QuerySet[QuarterlyReport]:
    return QuarterlyReport.objects.filter(
        org=report.org, year=report.year, quarter=report.quarter
    ).order_by("-version")


def current_reports(*, orgs, year: int, quarter: int) -> dict[int, QuarterlyReport]:
    rows = QuarterlyReport.objects.filter(org__in=orgs, year=year, quarter=quarter, is_current=True)
    return {r.org_id: r for r in rows}


def batch_for(user, pk) -> ReportBatch:
    try:
        batch = ReportBatch.objects.select_related("root").get(pk=int(pk))
    except (ReportBatch.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None
    get_org_or_404(user, batch.root_id)
    if not can(user, "view", batch.root):
        raise PermissionDenied("没有权限查看该批次。")
    return batch


def batch_progress(batch: ReportBatch) -> dict:
    counts = ReportJob.objects.filter(batch=batch).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(state=JobState.DONE)),
        failed=Count("pk", filter=Q(state=JobState.FAILED)),
        running=Count("pk", filter=Q(state=JobState.RUNNING)),
    )
    counts["pending"] = counts["total"] - counts["done"] - counts["failed"] - counts["running"]
    counts["finished"] = counts["pending"] == 0 and counts["running"] == 0
    counts["percent"] = (
        round(100 * (counts["done"] + counts["failed"]) / counts["total"])
        if counts["total"]
        else 100
    )
    return counts


def batch_failures(batch: ReportBatch, limit: int = 20):
    return ReportJob.objects.filter(batch=batch, state=JobState.FAILED).select_related("org")[
        :limit
    ]


def batches_for(user, org, limit: int = 10) -> QuerySet[ReportBatch]:
    return scoped(ReportBatch.objects.select_related("root"), user, path_field="root__path").filter(
        root__path__startswith=org.path
    )[:limit]
