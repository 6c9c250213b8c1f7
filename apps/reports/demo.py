"""Demo step `reports.seed`: last quarter's reports for the demo county.

The member rollup gets a closing snapshot for last quarter and a current one; the county's and
its towns' reports are built now (a 组织部 user opens them right after `make run`); the other
committees' and branches' reports are left to a scheduled batch whose remaining jobs the Celery
worker builds once the seed commits.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.periods import Period, PeriodKind
from apps.dashboards.services import (
    dues_stats_refresh,
    member_stats_refresh,
    subtree_stats_refresh,
)
from apps.reports import services
from apps.reports.models import BatchTrigger, JobState, ReportBatch, ReportJob


def seed(ctx) -> None:
    county = ctx.data.get("county")
    if county is None:
        return
    last = Period.containing(PeriodKind.QUARTER, ctx.today).previous()
    member_stats_refresh(as_of=last.end)
    member_stats_refresh(as_of=ctx.today)
    dues_stats_refresh(today=ctx.today)
    subtree_stats_refresh(today=ctx.today)
    batch = ReportBatch.objects.create(
        root=county, year=last.year, quarter=last.index, trigger=BatchTrigger.SCHEDULED
    )
    batch.total = services.batch_fill(batch=batch)
    # Built now: the county, the orgs where demo users hold a role, and a few towns.
    from apps.accounts.models import RoleGrant
    from apps.organizations.models import Org

    granted = Org.objects.filter(
        pk__in=RoleGrant.objects.filter(org__path__startswith=county.path).values("org_id"),
        org_type__in=services.REPORT_ORG_TYPES,
    )
    now_orgs = list(dict.fromkeys([county, *granted, *ctx.data.get("towns", [])[:4]]))
    for org in now_orgs:
        report = services.report_build(org=org, period=last, batch=batch)
        ReportJob.objects.filter(batch=batch, org=org).update(
            state=JobState.DONE,
            report=report,
            attempts=1,
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
    transaction.on_commit(lambda: services.batch_queue(batch.pk))
    ctx.log(
        f"    reports: {len(now_orgs)} built for {last.label}, {batch.total - len(now_orgs)} queued"
    )
